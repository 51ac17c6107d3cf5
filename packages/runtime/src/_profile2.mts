import { createRuntime } from './runtime.js';
import { LlamaModel } from './llama-model.js';
import { crossEntropyLoss } from './cross-entropy.js';
import { computeGradients } from './compute-gradients.js';
const runtime = await createRuntime({ backend: 'wasm' });
const { tf } = runtime;
const config = { vocabularySize: 512, hiddenSize: 128, layers: 4, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 448, maximumContext: 1024, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true };
const model = LlamaModel.create(runtime, config);
const ids = Array.from({ length: 8 }, () => Array.from({ length: 128 }, (_, i) => (i * 7) % 512));
const inputs = tf.tensor2d(ids.flat(), [8, 128], 'int32'); const targets = tf.tensor1d(ids.flat(), 'int32');
const vars = model.trainableVariables();
const f = () => { const { gradients } = computeGradients(tf, vars, () => crossEntropyLoss(tf, model.logitsFlat(inputs), targets)); for (const g of gradients.values()) g.dispose(); };
f();
const info = await tf.profile(() => { f(); return tf.scalar(0); });
const by = new Map<string, { n: number; ms: number }>();
for (const k of info.kernels) { const e = by.get(k.name) ?? { n: 0, ms: 0 }; e.n++; e.ms += k.kernelTimeMs as number; by.set(k.name, e); }
console.log('kernels', info.kernels.length);
console.log([...by].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25).map(([k, v]) => `${k}:${v.n}:${v.ms.toFixed(1)}`).join('\n'));
