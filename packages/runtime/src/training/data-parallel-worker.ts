/**
 * Worker-thread entry of data-parallel training: holds a model replica on its own tensor backend,
 * receives the current weights and a slice of the batch, and returns the gradients. Loaded by
 * {@link GradientWorker} from the built `dist/` file (Node cannot run `.ts` in a worker).
 */
import { parentPort } from 'node:worker_threads';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import type { ModelConfig } from '../model/model-config.js';
import { computeGradients } from './compute-gradients.js';
import { crossEntropyLoss } from '../ops/cross-entropy.js';

/** Messages the main thread sends to the worker. */
export type WorkerRequest =
  | { type: 'init'; backend: BackendName; config: ModelConfig }
  | { type: 'gradients'; weights: [string, Float32Array][]; inputs: Int32Array; targets: Int32Array; batchSize: number; sequenceLength: number }
  | { type: 'close' };

/** Messages the worker answers with. */
export type WorkerResponse =
  | { type: 'ready'; backend: string }
  | { type: 'gradients'; loss: number; gradients: [string, Float32Array][] }
  | { type: 'error'; message: string };

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  let model: LlamaModel | undefined;
  port.on('message', async (request: WorkerRequest) => {
    try {
      if (request.type === 'init') {
        const runtime = await createRuntime({ backend: request.backend });
        model = LlamaModel.create(runtime, request.config);
        port.postMessage({ type: 'ready', backend: runtime.backend } satisfies WorkerResponse);
      } else if (request.type === 'gradients') {
        if (model === undefined) throw new Error('the worker was not initialised');
        const tf = model.runtime.tf;
        for (const [name, values] of request.weights) {
          const variable = model.getWeight(name);
          const value = tf.tensor(values, variable.shape, 'float32');
          variable.assign(value);
          value.dispose();
        }
        const current = model;
        const inputs = tf.tensor2d(request.inputs, [request.batchSize, request.sequenceLength], 'int32');
        const targets = tf.tensor1d(request.targets, 'int32');
        const { loss, gradients } = computeGradients(tf, model.trainableVariables(), () => crossEntropyLoss(tf, current.logitsFlat(inputs), targets));
        inputs.dispose();
        targets.dispose();
        const payload: [string, Float32Array][] = [];
        for (const [name, gradient] of gradients) {
          payload.push([name, new Float32Array(gradient.dataSync() as Float32Array)]);
          gradient.dispose();
        }
        port.postMessage({ type: 'gradients', loss, gradients: payload } satisfies WorkerResponse, payload.map(([, values]) => values.buffer as ArrayBuffer));
      } else {
        model?.dispose();
        port.close();
      }
    } catch (error) {
      port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies WorkerResponse);
    }
  });
}

await main();
