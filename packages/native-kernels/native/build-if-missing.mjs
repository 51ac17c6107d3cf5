// Builds the addon with node-gyp when it is missing (an install that skipped scripts, or a
// checkout built before install ran). A failed build does not fail the package's build: the
// library works without the addon (loadNativeKernels() then says why, and codestack's runtime
// keeps its WebAssembly kernels), so this only says so on stderr.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync(new URL('../build/Release/codestack_native_kernels.node', import.meta.url))) {
  const result = spawnSync('node-gyp', ['rebuild'], { cwd: new URL('..', import.meta.url), stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) {
    process.stderr.write('@codestack/native-kernels: node-gyp could not build the addon; the runtime will use its WebAssembly matrix products\n');
  }
}
