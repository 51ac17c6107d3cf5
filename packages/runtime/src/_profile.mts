import { createRuntime } from './runtime.js';
import { LlamaModel } from './llama-model.js';
const runtime = await createRuntime({ backend: 'wasm' });
const { tf } = runtime;
const config = { vocabularySize: 512, hiddenSize: 128, layers: 4, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 448, maximumContext: 1024, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true };
const model = LlamaModel.create(runtime, config);
async function prof(label: string, f: () => Promise<void> | void) {
  await f();
  const t0 = performance.now();
  const info = await tf.profile(async () => { await f(); });
  const total = performance.now() - t0;
  const by = new Map<string, { n: number; ms: number }>();
  for (const k of info.kernels) { const e = by.get(k.name) ?? { n: 0, ms: 0 }; e.n++; e.ms += k.kernelTimeMs as number; by.set(k.name, e); }
  const sum = [...by.values()].reduce((a, b) => a + b.ms, 0);
  console.log(label, 'wall', total.toFixed(1), 'kernel sum', sum.toFixed(1), 'kernels', info.kernels.length);
  console.log([...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 14).map(([k, v]) => `${k}:${v.n}:${v.ms.toFixed(1)}`).join('  '));
}
const ids = Array.from({ length: 8 }, () => Array.from({ length: 128 }, (_, i) => i % 512));
await prof('forward 8x128', () => { const l = model.logits(ids); l.dataSync(); l.dispose(); });
const cache = model.createCache(1);
model.logits([ids[0]!.slice(0, 256)], cache).dispose();
await prof('decode step ctx256', () => { const l = model.logits([[5]], cache); l.dataSync(); l.dispose(); });
let t0 = performance.now();
for (let i = 0; i < 20; i++) { const l = model.logits([[5]], cache); l.dataSync(); l.dispose(); }
console.log('decode ms/step', ((performance.now() - t0) / 20).toFixed(2));
