/**
 * The source of the in-process guard that the sandbox preloads (`--require`) into every child
 * before the untrusted code runs. It is the second layer of defence, after Node's permission
 * model (which covers the file system, child processes, workers and native addons but not the
 * network in Node 20):
 *
 * - network: `net`, `tls`, `http`, `https`, `http2`, `dgram` and `dns` entry points throw, and so
 *   do `net.Socket.prototype.connect`, the global `fetch` and `WebSocket`;
 * - processes and threads: every `child_process` function, `worker_threads.Worker` and
 *   `cluster.fork` throw (the permission model denies them too);
 * - escape hatches: `process.binding`, `process._linkedBinding`, `process.dlopen`, `process.kill`,
 *   `process.abort`, `process.exit` and `process.reallyExit` throw, so code cannot reach raw
 *   bindings, signal other processes, or end the run early and look successful;
 * - completion: when the event loop drains normally (`beforeExit`), it writes a per-run secret
 *   nonce to fd 3. The parent counts a run as passed only with exit code 0 *and* that nonce. The
 *   nonce is removed from the environment before the untrusted code starts.
 *
 * It is plain CommonJS kept as a string so that it works the same from `src` and `dist`.
 */
export const sandboxGuardSource = String.raw`'use strict';
(() => {
  const fs = require('node:fs');
  const Module = require('node:module');
  const nonce = process.env.CODESTACK_SANDBOX_NONCE || '';
  delete process.env.CODESTACK_SANDBOX_NONCE;
  const writeSync = fs.writeSync;
  const deny = (what) =>
    function sandboxDenied() {
      const error = new Error('Sandbox: ' + what + ' is not allowed');
      error.code = 'ERR_SANDBOX_DENIED';
      throw error;
    };
  const lock = (target, name, what) => {
    if (typeof target[name] === 'function' && target[name].name === 'sandboxDenied') return;
    try {
      Object.defineProperty(target, name, { value: deny(what), writable: false, configurable: false, enumerable: true });
    } catch {
      try { target[name] = deny(what); } catch {}
    }
  };
  const lockAll = (moduleName, names) => {
    const exported = require(moduleName);
    const list = names || Object.keys(exported).filter((name) => typeof exported[name] === 'function' && !/^[A-Z]/.test(name));
    for (const name of list) lock(exported, name, moduleName + '.' + name);
    return exported;
  };
  const net = lockAll('node:net', ['connect', 'createConnection', 'createServer']);
  lock(net.Socket.prototype, 'connect', 'net.Socket.connect');
  lock(net.Server.prototype, 'listen', 'net.Server.listen');
  lockAll('node:tls', ['connect', 'createServer']);
  lockAll('node:http', ['request', 'get', 'createServer']);
  lockAll('node:https', ['request', 'get', 'createServer']);
  lockAll('node:http2', ['connect', 'createServer', 'createSecureServer']);
  lockAll('node:dgram', ['createSocket']);
  const dns = lockAll('node:dns');
  lockAll('node:dns/promises');
  if (dns.promises) for (const name of Object.keys(dns.promises)) if (typeof dns.promises[name] === 'function') lock(dns.promises, name, 'dns.promises.' + name);
  lockAll('node:child_process');
  lockAll('node:worker_threads', ['Worker']);
  lockAll('node:cluster', ['fork', 'setupPrimary', 'setupMaster']);
  lockAll('node:inspector', ['open', 'Session']);
  for (const name of ['fetch', 'WebSocket', 'EventSource']) if (name in globalThis) lock(globalThis, name, name);
  for (const name of ['binding', '_linkedBinding', 'dlopen', 'kill', 'abort', 'exit', 'reallyExit']) lock(process, name, 'process.' + name);
  Module.syncBuiltinESMExports();
  let reported = false;
  process.on('beforeExit', () => {
    if (reported || process.exitCode) return;
    reported = true;
    try { writeSync(3, nonce + '\n'); } catch {}
  });
})();
`;
