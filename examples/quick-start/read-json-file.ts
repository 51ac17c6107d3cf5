import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Reads and parses a JSON file relative to a directory. */
export function readJsonFile(directory: string, name: string): unknown {
  const path = join(directory, name);
  const text = readFileSync(path, 'utf8');
  return JSON.parse(text);
}
