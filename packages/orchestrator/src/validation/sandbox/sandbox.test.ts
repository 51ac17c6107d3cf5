import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, utimesSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AbortedError, InvalidArgumentError } from '@codestack/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSandboxIsolation, runInSandbox } from './sandbox.js';
import { validateCode } from '../validate-code.js';

const packageDirectory = fileURLToPath(new URL('../../..', import.meta.url));

describe('runInSandbox', () => {
  it('runs ordinary code and requires a declared dependency (lodash) from the project', async () => {
    const result = await runInSandbox({
      code: "const _ = require('lodash'); if (!_.isEqual({ a: [1] }, { a: [1] })) throw new Error('x'); console.log(_.chunk([1, 2, 3], 2).length);",
      projectDirectory: packageDirectory,
    });
    expect(result.status).toBe('passed');
    expect(result.completed).toBe(true);
    expect(result.stdout.trim()).toBe('2');
  });

  it('reports a thrown test failure as failed', async () => {
    const result = await runInSandbox({ code: "throw 'Error at 1th assert statement';" });
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Error at 1th assert statement');
  });

  it('kills an infinite loop at the wall-time limit', async () => {
    const result = await runInSandbox({ code: 'for (;;) {}', timeoutMilliseconds: 700 });
    expect(result.status).toBe('timed-out');
    expect(result.signal).toBe('SIGKILL');
    expect(result.durationMilliseconds).toBeLessThan(5000);
  });

  it('stops a heap memory bomb at the heap limit', async () => {
    const result = await runInSandbox({
      code: 'const keep = []; for (;;) keep.push(new Array(1e6).fill(Math.random()));',
      memoryLimitMegabytes: 64,
      timeoutMilliseconds: 20000,
    });
    expect(result.status).toBe('memory-exceeded');
  });

  it('kills an off-heap (Buffer) memory bomb by polling the resident set', async () => {
    const result = await runInSandbox({
      code: 'const keep = []; setInterval(() => { for (let i = 0; i < 8; i++) keep.push(Buffer.alloc(16 * 1024 * 1024, 1)); }, 5);',
      memoryLimitMegabytes: 64,
      timeoutMilliseconds: 20000,
    });
    expect(result.status).toBe('memory-exceeded');
    expect(result.signal).toBe('SIGKILL');
  });

  it('does not count an early process.exit(0) as a pass', async () => {
    const result = await runInSandbox({ code: "process.exit(0); throw 'never reached';" });
    expect(result.status).not.toBe('passed');
    expect(result.completed).toBe(false);
    expect(result.stderr).toContain('process.exit is not allowed');
  });

  it('does not let code catch the process.exit denial and still avoid its failing tests', async () => {
    const result = await runInSandbox({ code: "try { process.exit(0) } catch {} throw 'test failed';" });
    expect(result.status).toBe('failed');
  });

  it('denies child processes at both layers', async () => {
    const result = await runInSandbox({ code: "require('child_process').execSync('echo escaped');" });
    expect(result.status).toBe('denied');
    expect(result.stdout).not.toContain('escaped');
    const probe = await runInSandbox({
      code: "try { require('child_process').spawnSync('echo') } catch (e) { console.log(e.code) }",
    });
    expect(probe.stdout.trim()).toBe('ERR_SANDBOX_DENIED');
  });

  it('denies a file write outside its temporary directory but allows one inside', async () => {
    const outside = join(tmpdir(), `codestack-escape-${process.pid}-${Date.now()}.txt`);
    const result = await runInSandbox({
      code: `require('fs').writeFileSync(${JSON.stringify(outside)}, 'escaped');`,
    });
    expect(result.status).toBe('denied');
    expect(result.stderr).toContain('ERR_ACCESS_DENIED');
    expect(existsSync(outside)).toBe(false);
    const inside = await runInSandbox({
      code: "require('fs').writeFileSync(__dirname + '/scratch.txt', 'ok'); console.log(require('fs').readFileSync(__dirname + '/scratch.txt', 'utf8'));",
    });
    expect(inside.status).toBe('passed');
    expect(inside.stdout.trim()).toBe('ok');
  });

  it('denies reading files outside the allowed paths', async () => {
    const result = await runInSandbox({ code: "require('fs').readFileSync('/etc/hostname');" });
    expect(result.status).toBe('denied');
  });

  describe('network', () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        connections += 1;
        socket.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : 0;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('blocks outbound sockets, http, fetch and raw bindings; the listening server never sees a connection', async () => {
      const attempts = [
        `require('net').connect(${port}, '127.0.0.1')`,
        `new (require('net').Socket)().connect(${port}, '127.0.0.1')`,
        `require('http').get('http://127.0.0.1:${port}/')`,
        `fetch('http://127.0.0.1:${port}/')`,
        `process.binding('tcp_wrap')`,
        `require('dgram').createSocket('udp4')`,
        `require('dns').lookup('localhost', () => {})`,
        `new (require('worker_threads').Worker)('1', { eval: true })`,
      ];
      for (const attempt of attempts) {
        const result = await runInSandbox({ code: `${attempt};\nsetTimeout(() => {}, 200);` });
        expect(result.status, attempt).toBe('denied');
        expect(result.stderr, attempt).toMatch(/ERR_SANDBOX_DENIED|ERR_ACCESS_DENIED/);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(connections).toBe(0);
    });
  });

  it('passes no environment variables of the parent to the child', async () => {
    process.env.CODESTACK_TEST_SECRET = 'secret-value';
    try {
      const result = await runInSandbox({ code: 'console.log(JSON.stringify(Object.keys(process.env)))' });
      expect(result.stdout).not.toContain('CODESTACK_TEST_SECRET');
      expect(JSON.parse(result.stdout)).toEqual(['NODE_PATH']);
    } finally {
      delete process.env.CODESTACK_TEST_SECRET;
    }
  });

  it('runs ES modules when asked', async () => {
    const result = await runInSandbox({ code: "import { strictEqual } from 'node:assert'; strictEqual(1 + 1, 2); console.log('esm');", moduleType: 'module' });
    expect(result.status).toBe('passed');
    expect(result.stdout.trim()).toBe('esm');
  });

  it('denies the same entry points to ES module imports', async () => {
    const result = await runInSandbox({
      code: "import { execSync } from 'node:child_process';\nimport { connect } from 'node:net';\ntry { connect(1, '127.0.0.1') } catch (error) { console.log(error.code) }\nexecSync('echo escaped');",
      moduleType: 'module',
    });
    expect(result.stdout.trim()).toBe('ERR_SANDBOX_DENIED');
    expect(result.status).toBe('denied');
  });

  it('is cancelled by its AbortSignal', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await expect(runInSandbox({ code: 'for (;;) {}', signal: controller.signal, timeoutMilliseconds: 10000 })).rejects.toSatisfy(
      (error) => AbortedError.isInstance(error),
    );
  });

  it('refuses bad options with a typed error', async () => {
    await expect(runInSandbox({ code: '1', timeoutMilliseconds: -1 })).rejects.toSatisfy((error) =>
      InvalidArgumentError.isInstance(error),
    );
    await expect(runInSandbox({ code: 42 as unknown as string })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('runInSandbox isolation levels', () => {
  const builtSandbox = fileURLToPath(new URL('../../../dist/validation/sandbox/sandbox.js', import.meta.url));

  it('reports the level it ran and refuses an unknown one', async () => {
    const support = await probeSandboxIsolation();
    const guard = await runInSandbox({ code: 'console.log(1)', isolation: 'guard' });
    expect(guard.isolation).toBe('guard');
    const automatic = await runInSandbox({ code: 'console.log(1)' });
    expect(automatic.isolation).toBe(support.namespace ? 'namespace' : 'guard');
    await expect(runInSandbox({ code: '1', isolation: 'container' as 'guard' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('sizes the namespace tmpfs: a write past the disk budget fails inside the run', async (context) => {
    const support = await probeSandboxIsolation();
    if (!support.namespace) return context.skip(`namespaces unavailable: ${support.reason}`);
    const result = await runInSandbox({
      code: "try { require('fs').writeFileSync('big', Buffer.alloc(2 << 20)); } catch (error) { console.log(error.code) }",
      isolation: 'namespace',
      maximumDiskBytes: 1 << 20,
    });
    expect(result.stdout.trim()).toMatch(/ENOSPC|EFBIG/);
  });

  for (const isolation of ['guard', 'namespace'] as const) {
    it(`kills the run when its parent dies (${isolation}), and a later run sweeps the parent's directory`, async (context) => {
      const support = await probeSandboxIsolation();
      if (isolation === 'namespace' && !support.namespace) return context.skip(`namespaces unavailable: ${support.reason}`);
      if (!existsSync(builtSandbox)) return context.skip('dist/ is not built');
      const marker = realpathSync(mkdtempSync(join(tmpdir(), 'codestack-orphan-marker-')));
      const parent = spawn(
        process.execPath,
        ['--input-type=module', '-e', `import { runInSandbox } from ${JSON.stringify(pathToFileURL(builtSandbox).href)}; runInSandbox({ code: 'for (;;) {}', timeoutMilliseconds: 60000, isolation: ${JSON.stringify(isolation)}, readablePaths: [${JSON.stringify(marker)}] }); setInterval(() => {}, 1000);`],
        { stdio: 'ignore' },
      );
      const withMarker = (): number[] =>
        readdirSync('/proc')
          .filter((name) => /^\d+$/.test(name))
          .filter((pid) => {
            try {
              return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
            } catch {
              return false;
            }
          })
          .map(Number);
      try {
        // Wait until the run is inside its endless loop (half a second of CPU), not still starting.
        const busy = (): boolean =>
          withMarker().some((pid) => {
            try {
              return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[11]) >= 50;
            } catch {
              return false;
            }
          });
        const deadline = Date.now() + 30000;
        while (!busy() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        expect(busy()).toBe(true);
        parent.kill('SIGKILL');
        const gone = Date.now() + 5000;
        while (withMarker().length > 0 && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 50));
        expect(withMarker()).toEqual([]);
        // The orphaned directory stays until it is a minute old and its parent is gone.
        const orphans = readdirSync(tmpdir()).filter((name) => name.startsWith(`codestack-sandbox-${parent.pid}-`));
        expect(orphans).toHaveLength(1);
        await new Promise((resolve) => setTimeout(resolve, 2100));
        await runInSandbox({ code: '', isolation: 'guard' });
        expect(readdirSync(tmpdir()).filter((name) => name.startsWith(`codestack-sandbox-${parent.pid}-`))).toEqual(orphans);
        const minuteAgo = new Date(Date.now() - 61_000);
        for (const name of orphans) utimesSync(join(tmpdir(), name), minuteAgo, minuteAgo);
        await new Promise((resolve) => setTimeout(resolve, 2100));
        await runInSandbox({ code: '', isolation: 'guard' });
        expect(readdirSync(tmpdir()).filter((name) => name.startsWith(`codestack-sandbox-${parent.pid}-`))).toEqual([]);
      } finally {
        parent.kill('SIGKILL');
        rmSync(marker, { recursive: true, force: true });
      }
    }, 40000);
  }
});

describe('code and tests run apart', () => {
  const humanEvalTests = "import * as assert from 'assert'\n\nlet actual_1 = has_close_elements([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3);\nassert.deepEqual(actual_1, true, 'case 0');\nassert.deepEqual(has_close_elements([1.0, 2.0, 5.9], 0.05), false, 'case 1');\n";
  const prompt = 'const has_close_elements = function (numbers: Array<number>, threshold: number) : boolean  {\n';

  it('passes a HumanEval-TS shaped task (TypeScript code and tests transpiled apart) and fails a wrong answer', async () => {
    const right = await validateCode({
      code: `${prompt}  return numbers.some((a, i) => numbers.some((b, j) => i !== j && Math.abs(a - b) < threshold));\n};\n`,
      tests: humanEvalTests,
      typeCheck: false,
      projectDirectory: packageDirectory,
    });
    expect(right.run?.status, right.run?.stderr).toBe('passed');
    const wrong = await validateCode({ code: `${prompt}  return true;\n};\n`, tests: humanEvalTests, typeCheck: false, projectDirectory: packageDirectory });
    expect(wrong.run?.status).toBe('failed');
    expect(wrong.run?.stderr).toContain('case 1');
  });

  it('lets the tests see the code\'s top-level declarations, in strict code too', async () => {
    const result = await runInSandbox({ code: "'use strict';\nfunction double(x) { return 2 * x; }\nconst half = (x) => x / 2;\nclass Box { constructor(v) { this.v = v; } }", tests: "if (double(2) !== 4 || half(4) !== 2 || new Box(1).v !== 1) throw new Error('x');" });
    expect(result.status, result.stderr).toBe('passed');
  });

  it('runs ES module code with tests appended and awaits top-level await', async () => {
    const passing = await runInSandbox({ code: 'const triple = async (x) => 3 * x;', tests: "if (await triple(2) !== 6) throw new Error('x');", moduleType: 'module' });
    expect(passing.status, passing.stderr).toBe('passed');
    const failing = await runInSandbox({ code: 'const triple = async (x) => 3 * x;', tests: "await new Promise((resolve) => setTimeout(resolve, 20)); if (await triple(2) !== 7) throw new Error('x');", moduleType: 'module' });
    expect(failing.status).toBe('failed');
  });
});
