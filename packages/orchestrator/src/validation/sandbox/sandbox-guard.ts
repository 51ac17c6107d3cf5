/**
 * The source of the in-process guard and test harness that every sandbox child runs as its entry
 * script (`node <flags> -e <source>`); nothing of it is written to disk. It is the fallback layer
 * where the operating system offers no isolation and a second layer inside the namespace
 * sandbox. Before the untrusted code runs it:
 *
 * - reads its instructions (code, tests, the per-run nonce, the readable and writable roots) from
 *   fd 4 and closes it, so neither the nonce nor the tests ever lie in a file or in the code's reach;
 * - locks every network entry point, including prototypes and underscore internals (`net`, `tls`,
 *   `http`, `https`, `http2`, `dgram`, `dns` and their resolvers, the raw pipe handle behind
 *   stdout, `fetch`, `WebSocket`), every process, thread, debugger and binding primitive
 *   (`child_process`, workers, `cluster`, `inspector`, `process._kill`, `process._debugProcess`,
 *   `process.binding`, `process.dlopen`, `process.loadEnvFile`, heap snapshots, `module.register`…);
 * - checks the real path (symlinks resolved) of every `fs` path argument against the real roots it
 *   may read or write, because the permission model folds `..` as text while the kernel follows
 *   symbolic links;
 * - freezes `assert`, routes builtin `require()`s past `require.cache`, locks the module loader,
 *   `process.emit` and the `uncaughtException` / `unhandledRejection` listeners, denies
 *   `setUncaughtExceptionCaptureCallback`, and records the built-in prototypes' methods.
 *
 * Then it runs the code (a CommonJS module, or an ES module file) and, when there are tests, the
 * code as a global script and the tests after it through a direct `eval` in a function made before
 * the code ran (so the tests see the code's declarations, keep their own `var`s local, and the code
 * cannot reach or absorb the tests' text; `eval` itself is locked). If the tests' last
 * value is a promise it is awaited. Only when all of that returned normally, the event loop drained
 * (`beforeExit`), no uncaught exception was seen, no capture callback or foreign handler is
 * installed, `process.exitCode` is unset and no built-in method was replaced, does it write the
 * nonce to fd 3. The parent counts a run as passed only with that nonce and exit code 0.
 *
 * It is plain CommonJS kept as a string so that it works the same from `src` and `dist`.
 */
export const sandboxGuardSource = String.raw`'use strict';
((require) => {
  const fs = require('node:fs');
  const path = require('node:path');
  const Module = require('node:module');
  const vm = require('node:vm');
  const url = require('node:url');
  const EventEmitter = require('node:events');
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const promiseThen = Promise.prototype.then;
  const readSync = fs.readSync;
  const writeSync = fs.writeSync;
  const closeSync = fs.closeSync;
  const realpathNative = fs.realpathSync.native;
  const emit = process.emit;
  const promiseResolve = Promise.resolve;
  const listeners = EventEmitter.prototype.listeners;
  const hasCapture = process.hasUncaughtExceptionCaptureCallback;
  const originalRequire = Module.prototype.require;
  const isBuiltin = Module.isBuiltin;

  // 1. Instructions from fd 4 (the parent closes its end after writing them).
  const chunks = [];
  const buffer = Buffer.allocUnsafe(65536);
  for (;;) {
    const count = readSync(4, buffer, 0, buffer.length, null);
    if (count === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, count)));
  }
  closeSync(4);
  const payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const nonce = payload.nonce;
  const workDirectory = payload.workDirectory;
  const writableRoots = [workDirectory];
  const readableRoots = payload.readableRoots.concat(writableRoots);
  // Launchers may add variables (PWD); the code sees NODE_PATH only.
  for (const key of Object.keys(process.env)) if (key !== 'NODE_PATH') delete process.env[key];

  const denied = (what) => {
    const error = new Error('Sandbox: ' + what + ' is not allowed');
    error.code = 'ERR_SANDBOX_DENIED';
    return error;
  };
  const deny = (what) =>
    function sandboxDenied() {
      throw denied(what);
    };
  const fix = (target, name, value) => {
    try {
      defineProperty(target, name, { value, writable: false, configurable: false, enumerable: true });
    } catch {
      try { target[name] = value; } catch {}
    }
  };
  const lock = (target, name, what) => {
    if (target == null) return;
    const current = target[name];
    if (typeof current === 'function' && current.name === 'sandboxDenied') return;
    fix(target, name, deny(what));
  };
  const lockAll = (target, what, except) => {
    if (target == null) return;
    for (const name of Reflect.ownKeys(target)) {
      if (typeof name !== 'string' || name === 'constructor' || (except && except.includes(name))) continue;
      const descriptor = getOwnPropertyDescriptor(target, name);
      if (descriptor && typeof descriptor.value === 'function') lock(target, name, what + '.' + name);
    }
  };
  const lockPrototypeChain = (prototype, what) => {
    while (prototype && prototype !== Object.prototype && prototype !== Function.prototype && prototype !== EventEmitter.prototype) {
      lockAll(prototype, what);
      prototype = Object.getPrototypeOf(prototype);
    }
  };

  // 2. Network: module entry points, classes, prototypes and underscore internals.
  const net = require('node:net');
  for (const name of ['connect', 'createConnection', 'createServer', '_createServerHandle']) lock(net, name, 'net.' + name);
  for (const name of ['connect', '_connect']) lock(net.Socket.prototype, name, 'net.Socket.' + name);
  for (const name of ['listen', '_listen2']) lock(net.Server.prototype, name, 'net.Server.' + name);
  for (const stream of [process.stdout, process.stderr]) {
    const handle = stream && stream._handle;
    if (handle) for (const name of ['connect', 'bind', 'bind6', 'connect6', 'listen', 'open', 'fchmod', 'setPendingInstances']) lock(Object.getPrototypeOf(handle), name, 'raw handle.' + name);
  }
  const tls = require('node:tls');
  for (const name of ['connect', 'createServer', 'createSecureContext']) lock(tls, name, 'tls.' + name);
  lock(tls.TLSSocket.prototype, 'connect', 'tls.TLSSocket.connect');
  for (const moduleName of ['http', 'https']) {
    const exported = require('node:' + moduleName);
    for (const name of ['request', 'get', 'createServer', 'ClientRequest', 'Server']) lock(exported, name, moduleName + '.' + name);
    lock(exported.Agent.prototype, 'createConnection', moduleName + '.Agent.createConnection');
    if (exported.globalAgent) lock(exported.globalAgent, 'createConnection', moduleName + '.globalAgent.createConnection');
  }
  lockAll(require('node:http2'), 'http2');
  const dgram = require('node:dgram');
  lockPrototypeChain(dgram.Socket.prototype, 'dgram.Socket');
  lockAll(dgram, 'dgram');
  const dns = require('node:dns');
  lockPrototypeChain(dns.Resolver.prototype, 'dns.Resolver');
  lockPrototypeChain(dns.promises.Resolver.prototype, 'dns.promises.Resolver');
  lockAll(dns, 'dns');
  lockAll(dns.promises, 'dns.promises');
  lockAll(require('node:dns/promises'), 'dns.promises');
  for (const name of ['fetch', 'WebSocket', 'EventSource']) if (name in globalThis) fix(globalThis, name, deny(name));

  // 3. Processes, threads, debuggers, bindings, loaders.
  lockAll(require('node:child_process'), 'child_process');
  lockAll(require('node:cluster'), 'cluster');
  const workerThreads = require('node:worker_threads');
  lock(workerThreads, 'Worker', 'worker_threads.Worker');
  // inspector/promises wraps inspector's Session: load it first, then lock both (an in-process
  // Session could read the guard's closures through the debugger protocol).
  let inspectorPromises;
  try { inspectorPromises = require('node:inspector/promises'); } catch {}
  const inspector = require('node:inspector');
  const InspectorSession = inspector.Session;
  lockAll(inspector, 'inspector');
  if (inspectorPromises) lockAll(inspectorPromises, 'inspector/promises');
  lockPrototypeChain(InspectorSession.prototype, 'inspector.Session');
  lockAll(require('node:trace_events'), 'trace_events');
  lockAll(require('node:wasi'), 'wasi');
  const v8 = require('node:v8');
  for (const name of ['getHeapSnapshot', 'writeHeapSnapshot', 'setFlagsFromString', 'setHeapSnapshotNearHeapLimit', 'takeCoverage', 'stopCoverage']) lock(v8, name, 'v8.' + name);
  for (const name of [
    'binding', '_linkedBinding', 'dlopen', 'kill', '_kill', 'abort', 'exit', 'reallyExit', '_debugProcess', '_debugEnd',
    '_startProfilerIdleNotifier', '_stopProfilerIdleNotifier', 'setUncaughtExceptionCaptureCallback', 'loadEnvFile',
    'setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups', 'openStdin', 'execve',
  ]) lock(process, name, 'process.' + name);
  if (process.report) for (const name of ['writeReport', 'getReport']) lock(process.report, name, 'process.report.' + name);
  fix(process, 'emit', emit);
  for (const name of ['register', '_load', '_resolveFilename', '_findPath', '_initPaths', 'runMain', '_preloadModules']) {
    if (typeof Module[name] === 'function') fix(Module, name, name === 'register' ? deny('module.' + name) : Module[name]);
  }
  Object.freeze(Module._extensions);
  for (const name of ['load', '_compile']) fix(Module.prototype, name, Module.prototype[name]);
  // Builtins are always the real ones: require('assert') would otherwise consult require.cache first.
  fix(Module.prototype, 'require', function require(id) {
    if (typeof id === 'string' && !id.startsWith('node:') && isBuiltin(id)) return apply(originalRequire, this, ['node:' + id]);
    return apply(originalRequire, this, [id]);
  });

  // 4. Files: the permission model folds '..' as text; the kernel follows symbolic links.
  const inside = (real, roots) => roots.some((root) => real === root || real.startsWith(root + '/'));
  const toPath = (value) => {
    if (typeof value === 'string') return value;
    if (Buffer.isBuffer(value)) return value.toString('utf8');
    if (value instanceof URL) return url.fileURLToPath(value);
    return undefined;
  };
  // Resolves like the kernel does: symbolic links first, then '..' (never '..' as text first).
  const realOf = (raw, followLast) => {
    raw = raw.replace(/\/+$/, '') || '/';
    if (raw === '/') return '/';
    const cut = raw.lastIndexOf('/');
    const parent = cut <= 0 ? '/' : raw.slice(0, cut);
    const base = raw.slice(cut + 1);
    if (followLast || base === '..' || base === '.') {
      try {
        return realpathNative(raw);
      } catch (error) {
        if (!error || (error.code !== 'ENOENT' && error.code !== 'ENOTDIR')) throw error;
      }
    }
    const realParent = realOf(parent, true);
    if (base === '..') return path.dirname(realParent);
    if (base === '.' || base === '') return realParent;
    return realParent === '/' ? '/' + base : realParent + '/' + base;
  };
  const absolute = (text, base) => (text.startsWith('/') ? text : (base || process.cwd()) + '/' + text);
  const check = (value, access, followLast, base) => {
    const text = toPath(value);
    if (text === undefined) return;
    const real = realOf(absolute(text, base), followLast);
    if (!inside(real, access === 'write' ? writableRoots : readableRoots)) {
      const error = denied('fs ' + access + ' of ' + text + ' (really ' + real + ')');
      error.code = 'ERR_ACCESS_DENIED';
      throw error;
    }
  };
  const writeFlags = (flags) =>
    typeof flags === 'number' ? (flags & 3) !== 0 || (flags & 0o1000) !== 0 || (flags & 0o100) !== 0 : flags !== undefined && flags !== null && !/^(r|rs|sr)$/.test(String(flags));
  const rules = {
    access: [['read', true]], exists: [['read', true]], stat: [['read', true]], lstat: [['read', false]], statfs: [['read', true]],
    opendir: [['read', true]], readdir: [['read', true]], readFile: [['read', true]], readlink: [['read', false]],
    realpath: [['read', true]], createReadStream: [['read', true]], watch: [['read', true]], watchFile: [['read', true]],
    openAsBlob: [['read', true]], appendFile: [['write', true]], chmod: [['write', true]], chown: [['write', true]],
    lchmod: [['write', false]], lchown: [['write', false]], lutimes: [['write', false]], mkdir: [['write', true]],
    mkdtemp: [['write', true]], rm: [['write', false]], rmdir: [['write', false]], truncate: [['write', true]],
    unlink: [['write', false]], utimes: [['write', true]], writeFile: [['write', true]], createWriteStream: [['write', true]],
    copyFile: [['read', true], ['write', true]], cp: [['read', true], ['write', true]], link: [['read', false], ['write', false]],
    rename: [['write', false], ['write', false]],
  };
  const guardCall = (name, original) =>
    function (...args) {
      if (name === 'open') check(args[0], writeFlags(typeof args[1] === 'function' ? undefined : args[1]) ? 'write' : 'read', true);
      else if (name === 'symlink') {
        check(args[1], 'write', false);
        const link = toPath(args[1]);
        if (link !== undefined) check(args[0], 'read', true, realOf(absolute(link), false).replace(/\/[^/]*$/, '') || '/');
      } else {
        const list = rules[name];
        for (let index = 0; index < list.length; index += 1) check(args[index], list[index][0], list[index][1]);
      }
      return apply(original, this, args);
    };
  const names = Object.keys(rules).concat(['open', 'symlink']);
  const promises = fs.promises;
  for (const name of names) {
    for (const [target, key] of [[fs, name], [fs, name + 'Sync'], [promises, name]]) {
      const original = target[key];
      if (typeof original !== 'function') continue;
      const wrapped = guardCall(name, original);
      if (name === 'realpath' && typeof original.native === 'function') wrapped.native = guardCall(name, original.native);
      fix(target, key, wrapped);
    }
  }
  const fsPromises = require('node:fs/promises');
  if (fsPromises !== promises) for (const name of names) if (typeof promises[name] === 'function') fix(fsPromises, name, promises[name]);

  // 5. What decides a pass: assert frozen, handlers locked, built-ins recorded.
  const assert = require('node:assert');
  const assertStrict = require('node:assert/strict');
  Object.freeze(assert);
  Object.freeze(assertStrict);
  let sawUncaught = false;
  const monitor = () => { sawUncaught = true; };
  process.on('uncaughtExceptionMonitor', monitor);
  let reported = false;
  let finished = false;
  const protectedEvents = ['uncaughtException', 'unhandledRejection'];
  for (const name of ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener']) {
    const original = EventEmitter.prototype[name];
    fix(process, name, function (event, listener) {
      if (protectedEvents.includes(event)) throw denied('a process ' + String(event) + ' handler');
      return apply(original, this, [event, listener]);
    });
  }
  for (const name of ['off', 'removeListener', 'removeAllListeners']) {
    const original = EventEmitter.prototype[name];
    fix(process, name, function (event, listener) {
      if (event === undefined || event === 'uncaughtExceptionMonitor' || event === 'beforeExit') throw denied('removing the sandbox listeners');
      return apply(original, this, arguments.length > 1 ? [event, listener] : [event]);
    });
  }
  const events = process._events;
  const ours = { __proto__: null, uncaughtExceptionMonitor: monitor, beforeExit: onBeforeExit };
  fix(process, '_events', new Proxy(events, {
    set(target, key, value) {
      if (protectedEvents.includes(key)) return false;
      if (key in ours && !(Array.isArray(value) ? value : [value]).includes(ours[key])) return false;
      return Reflect.set(target, key, value);
    },
    defineProperty(target, key, descriptor) {
      if (protectedEvents.includes(key) || key in ours) return false;
      return Reflect.defineProperty(target, key, descriptor);
    },
    deleteProperty(target, key) {
      if (key in ours) return false;
      return Reflect.deleteProperty(target, key);
    },
  }));
  const intrinsics = {
    Object, 'Object.prototype': Object.prototype, Array, 'Array.prototype': Array.prototype, 'Function.prototype': Function.prototype,
    'String.prototype': String.prototype, String, 'Number.prototype': Number.prototype, Number, 'Boolean.prototype': Boolean.prototype,
    JSON, Math, Reflect, Promise, 'Promise.prototype': Promise.prototype, 'Map.prototype': Map.prototype, 'Set.prototype': Set.prototype,
    'Error.prototype': Error.prototype, 'RegExp.prototype': RegExp.prototype, 'Date.prototype': Date.prototype, Symbol,
    'BigInt.prototype': BigInt.prototype, 'Buffer.prototype': Buffer.prototype, Buffer,
  };
  const standardGlobals = {};
  for (const name of [
    'Object', 'Function', 'Array', 'Number', 'Boolean', 'String', 'Symbol', 'BigInt', 'Date', 'Promise', 'RegExp', 'Error',
    'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'JSON', 'Math', 'Reflect', 'Proxy', 'Map', 'Set', 'WeakMap',
    'WeakSet', 'ArrayBuffer', 'Uint8Array', 'Int32Array', 'Float64Array', 'DataView', 'Intl', 'eval', 'parseInt', 'parseFloat',
    'isNaN', 'isFinite', 'Buffer', 'globalThis',
  ]) {
    const descriptor = getOwnPropertyDescriptor(globalThis, name);
    if (descriptor && 'value' in descriptor) standardGlobals[name] = descriptor.value;
  }
  intrinsics.globalThis = globalThis;
  const recorded = [];
  for (const [label, target] of Object.entries(intrinsics)) {
    for (const key of Reflect.ownKeys(target)) {
      const descriptor = getOwnPropertyDescriptor(target, key);
      if (target === globalThis && !(key in standardGlobals)) continue;
      if (descriptor && (typeof descriptor.value === 'function' || descriptor.get || descriptor.set || target === globalThis)) recorded.push([label, target, key, descriptor]);
    }
  }
  const replacedBuiltin = () => {
    for (const [label, target, key, before] of recorded) {
      const now = getOwnPropertyDescriptor(target, key);
      if (!now || now.value !== before.value || now.get !== before.get || now.set !== before.set) return label + '.' + String(key);
    }
    if (require('node:assert') !== assert || require('node:assert/strict') !== assertStrict) return 'assert';
    return undefined;
  };
  let complained = false;
  const complain = (text) => {
    if (complained) return;
    complained = true;
    try { writeSync(2, 'sandbox: ' + text + '\n'); } catch {}
  };
  function onBeforeExit() {
    if (reported || !finished) return;
    if (process.exitCode) return;
    if (sawUncaught) return complain('an uncaught exception was swallowed; the run does not pass');
    if (apply(hasCapture, process, [])) return complain('an uncaught-exception capture callback is installed; the run does not pass');
    for (const event of protectedEvents) if (apply(listeners, process, [event]).length > 0) return complain('a ' + event + ' handler is installed; the run does not pass');
    if (!apply(listeners, process, ['uncaughtExceptionMonitor']).includes(monitor)) return complain('the sandbox monitor was removed; the run does not pass');
    const replaced = replacedBuiltin();
    if (replaced) return complain('the built-in ' + replaced + ' was replaced; the run does not pass');
    reported = true;
    try { writeSync(3, nonce + '\n'); closeSync(3); } catch {}
  }
  process.on('beforeExit', onBeforeExit);
  // Direct eval runs the tests; it must stay the real one (a global 'let eval' is then a SyntaxError).
  defineProperty(globalThis, 'eval', { value: globalThis.eval, writable: false, configurable: false, enumerable: false });
  Module.syncBuiltinESMExports();

  // 6. Run the code, then the tests.
  const filename = path.join(workDirectory, payload.moduleType === 'module' ? 'main.mjs' : 'main.cjs');
  const codeModule = new Module(filename, null);
  codeModule.filename = filename;
  codeModule.paths = Module._nodeModulePaths(workDirectory);
  process.mainModule = codeModule;
  const done = () => { finished = true; };
  // 'node -e' defines require, module, exports, __filename and __dirname globally; the code gets
  // its own (CommonJS) or none (ES modules), as under plain node.
  for (const name of ['require', 'module', 'exports', '__filename', '__dirname']) delete globalThis[name];
  if (payload.moduleType === 'module') {
    if (payload.tests === null) {
      fs.writeFileSync(filename, payload.code);
      apply(promiseThen, import(url.pathToFileURL(filename).href), [done, (error) => { throw error; }]);
      return;
    }
    // ES modules cannot share a scope across files, so code and tests are one module. Two secret
    // markers around the tests prove they ran whole: code that opens a literal, comment or block
    // to swallow the tests swallows the first marker too. A helper imported first (evaluated
    // before the code, after every source was read) deletes the files, so the code cannot read
    // the markers' secrets.
    const crypto = require('node:crypto');
    const beginSecret = crypto.randomBytes(24).toString('hex');
    const endSecret = crypto.randomBytes(24).toString('hex');
    let began = false;
    let ended = false;
    const helper = path.join(workDirectory, 'sandbox-' + crypto.randomBytes(8).toString('hex') + '.mjs');
    const hook = (name, value) => defineProperty(globalThis, Symbol.for('codestack.sandbox.' + name), { value, writable: false, configurable: false, enumerable: false });
    hook('loaded', () => {
      for (const file of [filename, helper]) try { fs.unlinkSync(file); } catch {}
    });
    hook('begin', (secret) => { if (secret === beginSecret && !ended) began = true; });
    hook('end', (secret) => { if (secret === endSecret && began) ended = true; });
    fs.writeFileSync(helper, "globalThis[Symbol.for('codestack.sandbox.loaded')]();\n");
    const call = (name, secret) => "\n;globalThis[Symbol.for('codestack.sandbox." + name + "')](" + JSON.stringify(secret) + ');\n';
    fs.writeFileSync(filename, 'import ' + JSON.stringify(url.pathToFileURL(helper).href) + ';' + payload.code + call('begin', beginSecret) + payload.tests + call('end', endSecret));
    apply(promiseThen, import(url.pathToFileURL(filename).href), [() => { if (began && ended) done(); else complain('the tests did not run whole; the run does not pass'); }, (error) => { throw error; }]);
    return;
  }
  if (payload.tests === null) {
    codeModule._compile(payload.code, filename);
    codeModule.loaded = true;
    done();
    return;
  }
  // Code and tests as two global scripts sharing the global scope, as if concatenated.
  const codeRequire = Module.createRequire(filename);
  // The specifiers that name the code under test, in a map without a prototype, made before the
  // code runs (so the code cannot change how they are looked up).
  const codeModuleSpecifiers = Object.create(null);
  for (let index = 0; index < payload.codeModuleSpecifiers.length; index += 1) codeModuleSpecifiers[payload.codeModuleSpecifiers[index]] = true;
  const testsRequire = (id) => {
    if (typeof id === 'string' && codeModuleSpecifiers[id] === true) return codeModule.exports;
    if (id === 'assert' || id === 'node:assert') return assert;
    if (id === 'assert/strict' || id === 'node:assert/strict') return assertStrict;
    if (typeof id === 'string' && isBuiltin(id)) return codeRequire(id.startsWith('node:') ? id : 'node:' + id);
    // A fresh copy of a package, so that code which mutated its own copy (say, lodash's
    // isEqual) cannot change what the tests compare with.
    const resolved = codeRequire.resolve(id);
    if (!path.isAbsolute(resolved)) return codeRequire(id);
    const fresh = new Module(resolved, codeModule);
    fresh.filename = resolved;
    fresh.paths = Module._nodeModulePaths(path.dirname(resolved));
    fresh.load(resolved);
    return fresh.exports;
  };
  testsRequire.resolve = codeRequire.resolve;
  let phase = 'code';
  defineProperty(globalThis, 'require', { get: () => (phase === 'tests' ? testsRequire : codeRequire), set() {}, configurable: false, enumerable: false });
  globalThis.module = codeModule;
  globalThis.exports = codeModule.exports;
  globalThis.__filename = filename;
  globalThis.__dirname = workDirectory;
  // The tests run through a direct eval inside a function made before the code runs: they see the
  // code's top-level declarations, but their own var and function declarations stay local, so the
  // code cannot pre-define them on the global object (say, as accessors that always compare equal).
  const runTests = new vm.Script('(function () { return eval(arguments[0]); })', { filename: path.join(workDirectory, 'tests.cjs') }).runInThisContext();
  new vm.Script(payload.code, { filename }).runInThisContext();
  phase = 'tests';
  const strict = /^\s*(?:\/\/[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*(['"])use strict\1/.test(payload.code) ? '"use strict";' : '';
  const value = runTests(strict + payload.tests);
  if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function') {
    apply(promiseThen, apply(promiseResolve, Promise, [value]), [done, (error) => { throw error; }]);
  } else done();
})(require);
`;
