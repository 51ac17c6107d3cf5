import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CodestackError,
  FileFormatError,
  createProgressReporter,
  sha256Hex,
  writeFileAtomic,
} from '@codestack/core';

// Atomic write: a reader sees the old file or the new one, never a torn write.
const directory = await mkdtemp(join(tmpdir(), 'core-example-'));
const body = JSON.stringify({ version: 1 });
await writeFileAtomic(join(directory, 'manifest.json'), body);
console.log('wrote', await readFile(join(directory, 'manifest.json'), 'utf8'), 'checksum', sha256Hex(body));
await rm(directory, { recursive: true });

// Progress: a bar on a TTY, JSON lines otherwise (or when json: true). It writes to stderr by default.
const progress = createProgressReporter({ label: 'index', total: 3, stream: process.stdout, json: true });
for (let completed = 1; completed <= 3; completed += 1) progress.update({ completed });
progress.finish();

// Errors: one base class with a stable code, recognised across package copies.
try {
  throw new FileFormatError({ path: 'model.safetensors', reason: 'corrupt', message: 'header is truncated' });
} catch (error) {
  if (CodestackError.isInstance(error)) console.log(error.code, error.message);
}
