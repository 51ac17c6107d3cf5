import { createRuntime } from './runtime.js';
import { LlamaModel } from './llama-model.js';
import { crossEntropyLoss } from './cross-entropy.js';
import { computeGradients } from './compute-gradients.js';
const runtime = await createRuntime({ backend: 'wasm' });
const { tf } = runtime;
const config = { vocabularySize: 512, hiddenSize: 128, layers: 4, attentionHeads: 4, keyValueHeads: 2, feedForwardSize: 448, maximumContext: 1024, ropeTheta: 10000, normEpsilon: 1e-5, tiedEmbeddings: true };
const model = LlamaModel.create(runtime, config);
function cpu(label: string, n: number, f: () => void) {
  f();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  const c = process.cpuUsage(c0); const wall = performance.now() - t0;
  console.log(label, 'cpu ms', ((c.user + c.system) / 1000 / n).toFixed(2), 'wall ms', (wall / n).toFixed(2));
}
const ids = Array.from({ length: 8 }, () => Array.from({ length: 128 }, (_, i) => (i * 7) % 512));
cpu('forward 8x128', 3, () => { const l = model.logits(ids); l.dataSync(); l.dispose(); });
const inputs = tf.tensor2d(ids.flat(), [8, 128], 'int32'); const targets = tf.tensor1d(ids.flat(), 'int32');
const vars = model.trainableVariables();
cpu('grad step 8x128', 3, () => { const { gradients } = computeGradients(tf, vars, () => crossEntropyLoss(tf, model.logitsFlat(inputs), targets)); for (const g of gradients.values()) g.dispose(); });
const cache = model.createCache(1);
model.logits([ids[0]!.slice(0, 128)], cache).dispose();
cpu('decode step ctx~128', 30, () => { const l = model.logits([[5]], cache); l.dataSync(); l.dispose(); });
