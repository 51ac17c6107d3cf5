import fs from 'node:fs';
import path from 'node:path';

/** Copies every file of `source` into `target`, keeping the directory layout. */
export function backupDirectory(source: string, target: string): number {
  let copied = 0;
  fs.mkdirSync(target, { recursive: true });
  for (const entry of fs.readdirSync(source, { withFileTypes: true })) {
    const from = path.join(source, entry.name);
    const to = path.join(target, entry.name);
    if (entry.isDirectory()) {
      copied += backupDirectory(from, to);
    } else {
      fs.copyFileSync(from, to);
      copied += 1;
    }
  }
  return copied;
}

/** Restores one file from the backup, creating its directory first. */
export function restoreFile(backup: string, target: string, name: string): void {
  const from = path.join(backup, name);
  const to = path.join(target, name);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}
