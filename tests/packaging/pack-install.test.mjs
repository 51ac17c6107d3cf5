import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

test('the packed tarballs install into a fresh app: a strict TypeScript ESM program and a CommonJS require run', () => {
  const script = fileURLToPath(new URL('./pack-install.mjs', import.meta.url));
  const result = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toContain('tsc (strict, skipLibCheck: false, module nodenext): no errors');
  expect(result.stdout).toContain('typed ESM program: ok');
  expect(result.stdout).toContain('CommonJS require: ok (8 packages)');
  expect(result.stdout).toContain('the installed codestack bin: ok');
  expect(result.stdout).toContain('a light app (core, tokenizer, orchestrator): validation runs');
});
