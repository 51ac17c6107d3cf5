import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CodestackError } from '@codestack/core';
import type { BackendName } from '../backend/runtime.js';
import type { ModelConfig } from '../model/model-config.js';
import type { WorkerRequest, WorkerResponse } from './data-parallel-worker.js';

/** The built worker file: beside this module in `dist/`, or `dist/training/` when running from `src/training/` (tests). */
export function workerFileUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/training/data-parallel-worker.js', here) : new URL('./data-parallel-worker.js', here);
}

/**
 * One data-parallel worker thread with its own tensor backend and model replica. The main thread
 * sends the current weights and a slice of the batch; the worker returns that slice's gradients.
 */
export class GradientWorker {
  private readonly worker: Worker;
  private pending: { resolve: (response: WorkerResponse) => void; reject: (error: Error) => void } | undefined;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (response: WorkerResponse) => {
      const pending = this.pending;
      this.pending = undefined;
      if (response.type === 'error') pending?.reject(new CodestackError({ code: 'WORKER_FAILED', message: `data-parallel worker: ${response.message}` }));
      else pending?.resolve(response);
    });
    worker.on('exit', (code) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(new CodestackError({ code: 'WORKER_FAILED', message: `data-parallel worker exited with code ${code} before answering` }));
    });
    worker.on('error', (error) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(new CodestackError({ code: 'WORKER_FAILED', message: `data-parallel worker crashed: ${error.message}`, cause: error }));
    });
  }

  /** Starts a worker and builds its model replica. Throws `WORKER_UNAVAILABLE` when the built worker file is missing. */
  static async start(backend: BackendName, config: ModelConfig): Promise<GradientWorker> {
    const url = workerFileUrl();
    if (!existsSync(fileURLToPath(url))) {
      throw new CodestackError({
        code: 'WORKER_UNAVAILABLE',
        message: `the data-parallel worker ${fileURLToPath(url)} is not built; run \`npm run build -w packages/runtime\``,
      });
    }
    const worker = new GradientWorker(new Worker(url));
    await worker.request({ type: 'init', backend, config });
    return worker;
  }

  /** Sends a request and waits for the answer (one at a time). */
  request(message: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerResponse> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }

  /** Stops the thread. */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
