import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CodestackError } from '@codestack/core';
import { SandboxIsolationUnavailableError } from './sandbox-error.js';
import { guardCommand, namespaceCommand, probeSandboxIsolation } from './sandbox-isolation.js';

const support = await probeSandboxIsolation();
// What a launched node sees: its PID, network interfaces, whether / is writable, the tmpfs size.
const probeScript = `
const fs = require('fs');
let rootWritable = true;
try { fs.writeFileSync('/codestack-probe', 'x'); fs.unlinkSync('/codestack-probe'); } catch { rootWritable = false; }
let bigWrite = 'ok';
try { fs.writeFileSync(process.cwd() + '/big', Buffer.alloc(3 << 20)); } catch (error) { bigWrite = error.code; }
const hostVisible = ['/etc/hostname', '/etc/passwd', '/root', '/home'].filter((path) => fs.existsSync(path));
console.log(JSON.stringify({ pid: process.pid, interfaces: Object.keys(require('os').networkInterfaces()), rootWritable, bigWrite, cwd: process.cwd(), hostVisible }));
`;

function launch(command: string[]): { pid: number; interfaces: string[]; rootWritable: boolean; bigWrite: string; cwd: string; hostVisible: string[] } {
  const result = spawnSync(command[0]!, command.slice(1), { env: {}, encoding: 'utf8', timeout: 20000 });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

describe('sandbox isolation launchers', () => {
  it('probes once per process and explains an unavailable namespace level', async () => {
    expect(await probeSandboxIsolation()).toBe(support);
    if (!support.namespace) expect(support.reason).toBeTruthy();
    else expect(['bubblewrap', 'unshare']).toContain(support.launcher);
  });

  for (const launcher of ['bubblewrap', 'unshare'] as const) {
    it(`${launcher}: own PID and network namespaces, a read-only new root holding only what is bound, a sized tmpfs`, (context) => {
      if (process.platform !== 'linux' || !(launcher === 'bubblewrap' ? support.tools.bwrap : support.tools.unshare && support.tools.sh && support.tools.chroot)) {
        return context.skip(`${launcher} is not installed`);
      }
      if (!support.namespace) return context.skip(`namespaces unavailable: ${support.reason}`);
      const work = realpathSync(mkdtempSync(join(tmpdir(), 'codestack-launcher-')));
      try {
        const seen = launch(namespaceCommand({ launcher, tools: support.tools, workDirectory: work, readableRoots: [], diskBytes: 2 << 20, node: ['-e', probeScript] }));
        expect(seen.pid).toBeLessThan(10);
        expect(seen.interfaces.filter((name) => name !== 'lo')).toEqual([]);
        expect(seen.rootWritable).toBe(false);
        expect(['ENOSPC', 'EFBIG']).toContain(seen.bigWrite);
        expect(seen.cwd).toBe(work);
        // Only what is bound in exists: no /etc/passwd, no home directories.
        expect(seen.hostVisible).toEqual([]);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  }

  it('guard: the same kernel view, but RLIMIT_FSIZE caps a file at the disk budget', (context) => {
    if (!support.tools.prlimit) return context.skip('prlimit is not installed');
    const work = realpathSync(mkdtempSync(join(tmpdir(), 'codestack-launcher-')));
    try {
      const command = guardCommand({ tools: support.tools, workDirectory: work, readableRoots: [], diskBytes: 2 << 20, node: ['-e', `process.chdir(${JSON.stringify(work)});${probeScript}`] });
      const seen = launch(command);
      expect(seen.bigWrite).toBe('EFBIG');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('names an unavailable level with a typed CodestackError', () => {
    const error = new SandboxIsolationUnavailableError({ level: 'namespace', reason: 'bwrap is not installed' });
    expect(error).toBeInstanceOf(CodestackError);
    expect(error.code).toBe('SANDBOX_ISOLATION_UNAVAILABLE');
    expect(error.reason).toBe('bwrap is not installed');
    expect(error.message).toContain("'namespace'");
    expect(SandboxIsolationUnavailableError.isInstance(error)).toBe(true);
    expect(SandboxIsolationUnavailableError.isInstance(new Error('x'))).toBe(false);
  });
});
