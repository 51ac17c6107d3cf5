// Builds the addon with node-gyp when it is missing (an install that skipped scripts, or a fresh
// checkout built before install ran). The library itself never needs it: without the addon,
// loadNativeKernels() says why and codestack's runtime keeps its WebAssembly kernels.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync(new URL('../build/Release/codestack_native_kernels.node', import.meta.url))) {
  const result = spawnSync('node-gyp', ['rebuild'], { cwd: new URL('..', import.meta.url), stdio: 'inherit', shell: process.platform === 'win32' });
  process.exitCode = result.status ?? 1;
}
