'use strict';
// Entry point of one WebAssembly pthread of the threaded SIMD build of tfjs-backend-wasm under
// Node's worker_threads. The Emscripten worker script ships only as a string inside
// tfjs-backend-wasm (for a Blob URL in browsers); this runs that string as a CommonJS script so
// that its `require` and `__filename` resolve, which a Blob URL cannot give under Node.
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js');

// The string was written for a template literal: its escaped newlines (inside string literals)
// arrive as real ones, which is why tfjs escapes them again before making its Blob.
const source = wasmWorkerContents.replace(/\n/g, '\\n');
new Function('require', '__filename', source)(require, __filename);
