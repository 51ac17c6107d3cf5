import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  expect(result.stdout).toContain('CommonJS require: ok (9 packages)');
  // npm builds @codestack/native-kernels with node-gyp at install; on x86-64 Linux with AVX2 and FMA it must load.
  const cpuFlags = process.arch === 'x64' && process.platform === 'linux' ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  if (/\bavx2\b/.test(cpuFlags) && /\bfma\b/.test(cpuFlags)) expect(result.stdout).toContain('native kernels: built at install and loaded');
  expect(result.stdout).toContain('the installed codestack bin: ok');
  expect(result.stdout).toContain('a light app (core, tokenizer, orchestrator): validation runs');
});
