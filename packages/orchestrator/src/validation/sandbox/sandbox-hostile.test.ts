import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSandboxIsolation, runInSandbox, type SandboxIsolationLevel, type SandboxResult } from './sandbox.js';
import { SandboxIsolationUnavailableError } from './sandbox-error.js';
import { validateCode } from '../validate-code.js';

// A hostile suite: every snippet runs through the public API in both isolation layers, each with a
// test that fails, and must be contained: the parent survives, no packet reaches the listeners
// below, no secret appears in any output, the failing test never passes, and nothing outlives
// the run (no temporary directory, no process).

const packageDirectory = fileURLToPath(new URL('../../..', import.meta.url));
const lodashDirectory = realpathSync(join(packageDirectory, '..', '..', 'node_modules', 'lodash'));
// The built CLI: packages/cli once it is its own package, else this package's dist/.
const cliPath = [new URL('../../../../cli/dist/cli.js', import.meta.url), new URL('../../../dist/cli.js', import.meta.url)].map((url) => fileURLToPath(url)).find((path) => existsSync(path));
const support = await probeSandboxIsolation();

const environmentSecret = `env-secret-${randomBytes(8).toString('hex')}`;
const fileSecret = `file-secret-${randomBytes(8).toString('hex')}`;
const testsSecret = `tests-secret-${randomBytes(8).toString('hex')}`;
// A fake workspace: <repository>/.env holds a secret; node_modules/@scope/package is a workspace
// symbolic link to ../../packages/package (as npm workspaces make them); lodash is linked in.
const root = realpathSync(mkdtempSync(join(tmpdir(), 'codestack-hostile-')));
const repository = join(root, 'repository');
const outside = join(root, 'outside');
const escapeRoute = `${repository}/node_modules/@scope/package/../../.env`;

let udp: UdpSocket;
let tcp: Server;
let udpPort = 0;
let tcpPort = 0;
let packets = 0;
let connections = 0;
const outputs: string[] = [];

beforeAll(async () => {
  process.env.CODESTACK_HOSTILE_SECRET = environmentSecret;
  mkdirSync(join(repository, 'packages', 'package'), { recursive: true });
  mkdirSync(join(repository, 'node_modules', '@scope'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(repository, '.env'), `SECRET=${fileSecret}\n`);
  writeFileSync(join(repository, 'packages', 'package', 'index.js'), "module.exports = { name: 'workspace package' };\n");
  symlinkSync('../../packages/package', join(repository, 'node_modules', '@scope', 'package'));
  symlinkSync(lodashDirectory, join(repository, 'node_modules', 'lodash'));
  udp = createSocket('udp4');
  udp.on('message', () => {
    packets += 1;
  });
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  udpPort = udp.address().port;
  tcp = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const address = tcp.address();
  tcpPort = typeof address === 'object' && address ? address.port : 0;
});

afterAll(async () => {
  delete process.env.CODESTACK_HOSTILE_SECRET;
  udp.close();
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
  rmSync(root, { recursive: true, force: true });
});

interface Snippet {
  /** What the snippet tries. */
  name: string;
  /** The hostile code; `PORT`, `UDP`, `ESCAPE`, `REPOSITORY`, `OUTSIDE` are replaced. */
  code: string;
  /** The tests that follow it (they always fail unless `passes`). Default: a test that throws. */
  tests?: string;
  moduleType?: 'module';
  /** A positive control that must pass. */
  passes?: boolean;
  /** Extra checks of the result. */
  check?: (result: SandboxResult) => void;
  /**
   * The snippet is built to stop before its last line (a syntax error by design, a kill, a limit or
   * a timeout). Every other snippet must print {@link reachedMarker} after its hostile lines, so a
   * snippet that broke on a typo cannot pass as "contained".
   */
  stopsEarly?: boolean;
}

const reachedMarker = 'snippet reached its end';

const failingTest = `throw new Error('the test fails ${testsSecret}');`;
const attempt = (body: string): string => `try { ${body} } catch (error) { console.log('blocked', error && error.code); }`;

const snippets: Snippet[] = [
  // Positive controls: ordinary code and tests still pass; workspace packages and lodash resolve.
  { name: 'control: code and tests pass', code: 'function add(a, b) { return a + b; }', tests: "const assert = require('assert'); assert.strictEqual(add(1, 2), 3);", passes: true },
  { name: 'control: async tests are awaited and pass', code: 'async function add(a, b) { return a + b; }', tests: "(async () => { if (await add(1, 2) !== 3) throw new Error('x'); })()", passes: true },
  { name: 'control: workspace package and lodash', code: "const pkg = require('@scope/package'); const _ = require('lodash');", tests: "if (pkg.name !== 'workspace package' || !require('lodash').isEqual([1], [1])) throw new Error('x');", passes: true },
  // The cases.
  { name: 'process._kill of the parent', code: attempt('process._kill(process.ppid, 9);') },
  { name: 'process.kill of the parent', code: attempt("process.kill(process.ppid, 'SIGKILL');") },
  { name: 'process._debugProcess of the parent', code: attempt('process._debugProcess(process.ppid);') },
  { name: 'process._debugEnd and profiler notifier', code: attempt('process._debugEnd(); process._startProfilerIdleNotifier();') },
  { name: '1 GB written to the report channel', code: "const block = Buffer.alloc(1 << 20, 97); for (let i = 0; i < 1024; i++) require('fs').writeSync(3, block);", check: (result) => expect(result.status).toBe('denied'), stopsEarly: true },
  { name: 'dgram.Socket with a custom lookup', code: attempt("new (require('dgram').Socket)({ type: 'udp4', lookup: (h, o, cb) => cb(null, '127.0.0.1', 4) }).send('x', UDP, 'localhost');") },
  { name: 'dgram.createSocket send', code: attempt("require('dgram').createSocket('udp4').send('x', UDP, '127.0.0.1');") },
  { name: 'dgram internal handle', code: attempt("const h = require('dgram')._createSocketHandle('127.0.0.1', 0, 'udp4'); console.log(typeof h);") },
  { name: 'dns.Resolver to a local server', code: attempt("const r = new (require('dns').Resolver)(); r.setServers(['127.0.0.1:UDP']); r.resolve4('example.com', () => {});") },
  { name: 'dns.promises.Resolver', code: attempt("const r = new (require('dns').promises.Resolver)(); r.setServers(['127.0.0.1:UDP']); r.resolve4('example.com').catch(() => {});") },
  { name: 'dns.Resolver prototype reached another way', code: attempt("const R = Object.getPrototypeOf(require('dns').promises).Resolver || require('dns/promises').Resolver; new R();") },
  { name: 'dns.lookup', code: attempt("require('dns').lookup('example.com', () => {});") },
  { name: 'net.Server.prototype._listen2', code: attempt("const net = require('net'); net.Server.prototype._listen2.call(new net.Server(), '127.0.0.1', 0, 4, 511);") },
  { name: 'net.createServer().listen', code: attempt("require('net').createServer().listen(0);") },
  { name: 'net.connect to the listener', code: attempt("require('net').connect(PORT, '127.0.0.1');") },
  { name: 'net.Socket connect', code: attempt("new (require('net').Socket)().connect(PORT, '127.0.0.1');") },
  { name: 'http.get and ClientRequest', code: attempt("require('http').get('http://127.0.0.1:PORT/'); new (require('http').ClientRequest)('http://127.0.0.1:PORT/');") },
  { name: 'http.Agent createConnection', code: attempt("require('http').Agent.prototype.createConnection({ port: PORT, host: '127.0.0.1' });") },
  { name: 'tls.connect', code: attempt("require('tls').connect(PORT, '127.0.0.1');") },
  { name: 'fetch', code: attempt("fetch('http://127.0.0.1:PORT/').catch(() => {});") },
  { name: 'the raw pipe handle behind stdout', code: attempt("const Pipe = process.stdout._handle.constructor; const p = new Pipe(0); p.connect({}, '/tmp/x.sock'); p.open(3);") },
  { name: 'process.binding', code: attempt("process.binding('tcp_wrap');") },
  { name: 'vm context escape to process', code: attempt("const p = require('vm').runInNewContext('this.constructor.constructor(\"return process\")()'); p.binding('fs');") },
  // Files.
  { name: 'read the repository .env through a workspace symbolic link', code: attempt("console.log(require('fs').readFileSync('ESCAPE', 'utf8'));") },
  { name: 'read .env through the link with promises and streams', code: attempt("require('fs').promises.readFile('ESCAPE', 'utf8').then(console.log, () => {}); require('fs').createReadStream('ESCAPE').on('data', (d) => console.log(String(d))).on('error', () => {});") },
  { name: 'process.loadEnvFile through the link', code: attempt("process.loadEnvFile('ESCAPE'); console.log(JSON.stringify(process.env));") },
  { name: 'symbolic link in the temp dir to the repository', code: attempt("require('fs').symlinkSync('REPOSITORY', 'link'); console.log(require('fs').readFileSync('link/.env', 'utf8'));") },
  { name: 'symbolic link in the temp dir to /etc', code: attempt("require('fs').symlinkSync('/etc', 'etc'); console.log(require('fs').readFileSync('etc/hostname', 'utf8'));") },
  { name: 'hard link of the .env into the temp dir', code: attempt("require('fs').linkSync('ESCAPE', 'copy'); console.log(require('fs').readFileSync('copy', 'utf8'));") },
  { name: 'copyFile of the .env into the temp dir', code: attempt("require('fs').copyFileSync('ESCAPE', 'copy'); console.log(require('fs').readFileSync('copy', 'utf8'));") },
  { name: 'write through a symbolic link out of the temp dir', code: attempt("require('fs').symlinkSync('OUTSIDE', 'out'); require('fs').writeFileSync('out/escaped', 'x');") },
  { name: 'write outside the temp dir', code: attempt("require('fs').writeFileSync('OUTSIDE/escaped', 'x');") },
  { name: '/proc/self/environ', code: attempt("console.log(require('fs').readFileSync('/proc/self/environ', 'utf8'));") },
  { name: '/proc/<ppid>/mem and environ', code: attempt("console.log(require('fs').readFileSync('/proc/' + process.ppid + '/environ', 'utf8')); require('fs').openSync('/proc/' + process.ppid + '/mem', 'r');") },
  { name: 'the parent environment', code: 'console.log(JSON.stringify(process.env));' },
  { name: 'fds 0 to 10', code: "const fs = require('fs'); for (let fd = 0; fd <= 10; fd++) { try { const b = Buffer.alloc(4096); const n = fs.readSync(fd, b); console.log(fd, b.toString('utf8', 0, n)); } catch {} try { console.log(fs.readFileSync('/proc/self/fd/' + fd, 'utf8')); } catch {} }", stopsEarly: true /* fd 1 is the parent's socket pair: reading it blocks until the time limit */ },
  { name: 'a 1 GiB temp file', code: "const fs = require('fs'); const b = Buffer.alloc(8 << 20); for (let i = 0; i < 128; i++) fs.writeFileSync('big' + i, b);", stopsEarly: true },
  { name: 'a FIFO and a child process', code: attempt("require('child_process').execSync('mkfifo fifo');") },
  { name: 'a fork bomb', code: attempt("for (;;) require('child_process').fork(__filename);") },
  { name: 'a worker through eval', code: attempt("new (require('worker_threads').Worker)('process.exit(0)', { eval: true });") },
  { name: 'the inspector', code: attempt("require('inspector').open(9229); console.log(require('inspector').url());") },
  { name: 'an in-process inspector session (inspector/promises) to read the harness', code: attempt("const { Session } = require('inspector/promises'); const s = new Session(); s.connect(); s.post('Runtime.evaluate', { expression: 'process.pid' }).then(console.log);") },
  { name: 'a heap snapshot to find the nonce', code: attempt("require('v8').getHeapSnapshot();") },
  { name: 'module.register loader hooks', code: attempt("require('module').register('data:text/javascript,');") },
  { name: 'rewrite what runs: delete the temp dir and argv', code: "try { require('fs').rmSync(process.cwd(), { recursive: true }); } catch {} process.argv.length = 0;" },
  // Faking a pass.
  { name: 'an uncaughtException handler', code: attempt("process.on('uncaughtException', () => {});") },
  { name: 'an unhandledRejection handler and a rejecting test', code: attempt("process.on('unhandledRejection', () => {});"), tests: "Promise.reject(new Error('fails'));" },
  { name: 'process._events tampering', code: "process._events.uncaughtException = () => {};" },
  { name: 'setUncaughtExceptionCaptureCallback', code: attempt('process.setUncaughtExceptionCaptureCallback(() => {});') },
  { name: 'a domain that swallows errors', code: attempt("const d = require('domain').create(); d.on('error', () => {}); d.enter();") },
  { name: 'assert.strictEqual replaced', code: "require('assert').strictEqual = () => {};", tests: "const assert = require('assert'); assert.strictEqual(1, 2);" },
  { name: 'assert planted in require.cache', code: "require.cache.assert = { id: 'assert', filename: 'assert', loaded: true, exports: { strictEqual() {} } };", tests: "require('assert').strictEqual(1, 2);" },
  { name: 'Module._load hook', code: "require('module')._load = () => ({ strictEqual() {} });", tests: "require('assert').strictEqual(1, 2);" },
  { name: 'lodash isEqual mutated', code: "require('lodash').isEqual = () => true;", tests: "if (!require('lodash').isEqual(1, 2)) throw new Error('fails');" },
  { name: 'Object.is and JSON.stringify replaced', code: 'Object.is = () => true; JSON.stringify = () => "[1]";', tests: "if (JSON.stringify([2]) !== '[1]' || !Object.is(1, 2)) throw new Error('x'); else throw new Error('fails');" },
  { name: 'Array.prototype.every replaced', code: 'Array.prototype.every = () => true;', tests: "if (![1, 2].every((x) => x > 5)) throw new Error('fails');" },
  { name: 'accessor globals shadowing the tests\' var declarations', code: "for (const name of ['actual', 'expected']) Object.defineProperty(globalThis, name, { get: () => 1, set() {}, configurable: false });", tests: "var actual = 1; var expected = 2; if (actual !== expected) throw new Error('fails');" },
  { name: 'global Object and eval replaced', code: 'globalThis.Object = function () {}; globalThis.eval = () => undefined;', tests: failingTest },
  { name: 'global eval shadowed by a declaration', code: 'var eval = () => undefined; function isOne(x) { return x === 1; }', tests: "if (!isOne(2)) throw new Error('fails');" },
  { name: 'Error.prepareStackTrace tampering', code: 'Error.prepareStackTrace = () => "";' },
  { name: 'process.exitCode = 0 on exit', code: "process.on('exit', () => { process.exitCode = 0; });" },
  { name: 'process.emit overridden', code: 'process.emit = () => true;' },
  { name: 'process.reallyExit and exit', code: attempt('process.reallyExit(0);') + attempt('process.exit(0);') },
  { name: 'process.abort', code: attempt('process.abort();') },
  { name: 'signals to itself', code: attempt("process.kill(process.pid, 'SIGTERM');") + attempt('process._kill(process.pid, 15);') },
  { name: 'an early beforeExit emit', code: "setImmediate(() => process.emit('beforeExit', 0));", tests: "setTimeout(() => { throw new Error('fails later'); }, 50);" },
  { name: 'a test promise that never settles', code: 'function f() { return 1; }', tests: "(async () => { await new Promise(() => {}); throw new Error('never'); })()" },
  { name: 'reading the tests through arguments.callee', code: attempt('console.log(arguments.callee.toString());') + attempt("console.log(require('fs').readdirSync('.').map((f) => require('fs').readFileSync(f, 'utf8')).join());") },
  { name: 'absorbing the tests into a template literal', code: 'const swallowed = String.raw`', tests: "const x = 1; // `\nthrow new Error('fails');", stopsEarly: true },
  { name: 'Atomics.wait forever', code: 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);', check: (result) => expect(result.status).toBe('timed-out'), stopsEarly: true },
  { name: 'WebAssembly and huge stdout', code: "new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); const line = 'y'.repeat(1 << 16); for (let i = 0; i < 2000; i++) process.stdout.write(line);", check: (result) => expect(result.stdout.length).toBeLessThan(70000), stopsEarly: true },
  { name: 'ES module: a block that swallows the tests', moduleType: 'module', code: 'const answer = 42;\nif (false) {', tests: "{ }\n}\nthrow new Error('fails');", stopsEarly: true },
  { name: 'ES module: reading its own file for the markers', moduleType: 'module', code: "import { readFileSync, readdirSync } from 'node:fs';\ntry { console.log(readFileSync(new URL(import.meta.url), 'utf8')); } catch (e) { console.log('blocked', e.code); }\nconsole.log(readdirSync('.').join());", tests: failingTest },
  { name: 'ES module imports of network classes', moduleType: 'module', code: "import { Socket } from 'node:dgram';\nimport { Resolver } from 'node:dns';\nimport { readFileSync } from 'node:fs';\ntry { new Socket({ type: 'udp4' }).send('x', UDP, '127.0.0.1'); } catch (e) { console.log(e.code); }\ntry { new Resolver(); } catch (e) { console.log(e.code); }\ntry { console.log(readFileSync('ESCAPE', 'utf8')); } catch (e) { console.log(e.code); }", tests: failingTest },
];

function fill(text: string): string {
  return text.replaceAll('PORT', String(tcpPort)).replaceAll('UDP', String(udpPort)).replaceAll('ESCAPE', escapeRoute).replaceAll('REPOSITORY', repository).replaceAll('OUTSIDE', outside);
}

async function runSnippet(snippet: Snippet, isolation: SandboxIsolationLevel): Promise<SandboxResult> {
  const result = await runInSandbox({
    code: fill(snippet.code) + (snippet.stopsEarly ? '' : `\n;console.log('${reachedMarker}');`),
    tests: fill(snippet.tests ?? failingTest),
    moduleType: snippet.moduleType,
    projectDirectory: repository,
    isolation,
    timeoutMilliseconds: 3000,
    memoryLimitMegabytes: 128,
    maximumDiskBytes: 16 * 1024 * 1024,
  });
  outputs.push(result.stdout, result.stderr);
  return result;
}

function expectContained(snippet: Snippet, result: SandboxResult, isolation: SandboxIsolationLevel): void {
  const context = `${snippet.name} (${isolation}): ${result.status}\n${result.stdout.slice(0, 400)}\n${result.stderr.slice(0, 600)}`;
  expect(result.isolation, context).toBe(isolation);
  if (snippet.passes) expect(result.status, context).toBe('passed');
  else expect(result.status, context).not.toBe('passed');
  // (The tests' secret is checked against stdout only, below: stderr shows the failing test's line.)
  for (const secret of [environmentSecret, fileSecret]) {
    expect(result.stdout + result.stderr, context).not.toContain(secret);
  }
  // Every guarded attempt was stopped where it was made (it threw), not merely by a later failure.
  if (snippet.code.includes("console.log('blocked'")) expect(result.stdout, context).toMatch(/^blocked /m);
  // The snippet ran to its end: it did not fail on a mistake of its own before trying anything.
  if (!snippet.stopsEarly) expect(result.stdout, context).toContain(reachedMarker);
  // The tests' text never appears in what the code printed (stderr may show the failing line).
  expect(result.stdout, context).not.toContain(testsSecret);
  snippet.check?.(result);
}

describe.concurrent('hostile snippets, guard layer', () => {
  for (const snippet of snippets) {
    it(snippet.name, async () => {
      expectContained(snippet, await runSnippet(snippet, 'guard'), 'guard');
    });
  }
});

describe.runIf(support.namespace).concurrent(`hostile snippets, namespace layer (${support.launcher ?? 'unavailable'})`, () => {
  for (const snippet of snippets) {
    it(snippet.name, async () => {
      expectContained(snippet, await runSnippet(snippet, 'namespace'), 'namespace');
    });
  }
});

describe.skipIf(support.namespace)(`namespace layer skipped: ${support.reason ?? ''}`, () => {
  it('refuses isolation: namespace with a typed error where the probe found none', async () => {
    await expect(runInSandbox({ code: '1', isolation: 'namespace' })).rejects.toSatisfy((error) => SandboxIsolationUnavailableError.isInstance(error));
  });
});

describe.runIf(cliPath !== undefined)(`hostile snippets through the real codestack check CLI${cliPath ? '' : ' (skipped: the CLI is not built)'}`, () => {
  const cases = snippets.filter((snippet) =>
    ['process._kill of the parent', 'an uncaughtException handler', 'read the repository .env through a workspace symbolic link', 'dgram.Socket with a custom lookup', 'process._debugProcess of the parent', '1 GB written to the report channel'].includes(snippet.name),
  );
  it.concurrent.each(cases.map((snippet) => [snippet.name, snippet] as const))('%s', async (_name, snippet) => {
    const directory = mkdtempSync(join(root, 'cli-'));
    writeFileSync(join(directory, 'code.js'), fill(snippet.code));
    writeFileSync(join(directory, 'tests.js'), fill(snippet.tests ?? failingTest));
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [cliPath!, 'check', join(directory, 'code.js'), '--tests', join(directory, 'tests.js')], {
        cwd: repository,
        env: { ...process.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      child.on('close', (exitCode) => resolve({ code: exitCode, output: text }));
    });
    outputs.push(output);
    // Exit 1: a failed check; not 137 (killed) and not 0 (a forged pass).
    expect(code, output).toBe(1);
    expect(output, output).toMatch(/run: (failed|denied)/);
    expect(output).toMatch(/isolation: (namespace|guard)/);
    expect(output).not.toContain(fileSecret);
    expect(output).not.toContain(environmentSecret);
  });
});

describe('containment after every run', () => {
  it('validateCode runs code and tests apart in both layers; a failing test never passes', async () => {
    for (const isolation of support.namespace ? (['guard', 'namespace'] as const) : (['guard'] as const)) {
      const cheat = await validateCode({ typeCheck: false, code: "process.on('uncaughtException', () => {});\nexport const one = (): number => 2;", tests: 'if (one() !== 1) throw new Error("fails");', isolation, projectDirectory: repository });
      expect(cheat.ok).toBe(false);
      expect(cheat.run?.isolation).toBe(isolation);
      const honest = await validateCode({ typeCheck: false, code: 'export const one = (): number => 1;', tests: 'if (one() !== 1) throw new Error("fails");', isolation, projectDirectory: repository });
      expect(honest.run?.status, honest.run?.stderr).toBe('passed');
    }
  });

  it('no packet and no connection reached the listeners; nothing listens on the inspector port', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(packets).toBe(0);
    expect(connections).toBe(0);
    const inspectorOpen = await new Promise<boolean>((resolve) => {
      const socket = connect(9229, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    expect(inspectorOpen).toBe(false);
  });

  it('no secret appeared in any output and nothing was written outside', () => {
    expect(outputs.length).toBeGreaterThan(snippets.length);
    for (const output of outputs) {
      expect(output).not.toContain(environmentSecret);
      expect(output).not.toContain(fileSecret);
    }
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(join(repository, '.env'), 'utf8')).toContain(fileSecret);
  });

  it('no sandbox directory and no sandbox process outlives its run', () => {
    const prefix = `codestack-sandbox-${process.pid}-`;
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith(prefix))).toEqual([]);
    const survivors: string[] = [];
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (commandLine.includes(`${repository}/node_modules`)) survivors.push(`${pid}: ${commandLine.slice(0, 120)}`);
      } catch {
        // Gone while reading.
      }
    }
    expect(survivors).toEqual([]);
    expect(dirname(repository)).toBe(root);
  });
});
