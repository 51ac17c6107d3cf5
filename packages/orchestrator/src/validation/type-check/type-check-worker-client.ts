import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AbortedError } from '@codestack/core';
import type { TypeCheckProgramRequest, TypeCheckProgramResult } from './type-check-program.js';
import { TypeCheckTimeoutError } from './type-check-timeout-error.js';
import { TypeCheckWorkerError } from './type-check-worker-error.js';
import type { TypeCheckWorkerRequest, TypeCheckWorkerResponse } from './type-check-worker.js';

/** Options of {@link checkInWorker}. */
export interface CheckInWorkerOptions {
  /** Wall-time limit of the check, from the moment a worker that has loaded the compiler is handed the request. */
  timeoutMilliseconds: number;
  /** Cancels the check: a queued one is dropped, a running one's worker is stopped. */
  signal?: AbortSignal;
}

interface Job {
  id: number;
  request: TypeCheckProgramRequest;
  timeoutMilliseconds: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve: (result: TypeCheckProgramResult) => void;
  reject: (error: unknown) => void;
}

/** The heap limit of the worker: a runaway type runs out of its own heap, not the host process's. */
const workerMemoryLimitMegabytes = 2048;

let worker: Worker | undefined;
/** Whether `worker` has loaded the compiler. */
let workerReady = false;
let running: Job | undefined;
const queue: Job[] = [];
let nextId = 0;

/** Where the worker's built JavaScript is: beside this file in `dist`, or in `dist` when run from `src` (tests). */
function workerFile(): string {
  const here = import.meta.url;
  return fileURLToPath(here.endsWith('.ts') ? new URL('../../../dist/validation/type-check/type-check-worker.js', here) : new URL('./type-check-worker.js', here));
}

/**
 * Runs a type check in the shared warm worker thread. Checks run one at a time in call order. A
 * check that passes its time limit or is aborted stops the worker (the compiler cannot be
 * interrupted otherwise) and rejects with a {@link TypeCheckTimeoutError} or an `AbortedError`;
 * the next check starts a fresh worker. An idle worker does not keep the process alive.
 */
export function checkInWorker(request: TypeCheckProgramRequest, options: CheckInWorkerOptions): Promise<TypeCheckProgramResult> {
  return new Promise<TypeCheckProgramResult>((resolve, reject) => {
    const job: Job = {
      id: nextId++,
      request,
      timeoutMilliseconds: options.timeoutMilliseconds,
      signal: options.signal,
      onAbort: undefined,
      timer: undefined,
      resolve,
      reject,
    };
    if (options.signal !== undefined) {
      const signal = options.signal;
      job.onAbort = () => cancel(job, new AbortedError({ operation: 'type check', cause: signal.reason }));
      signal.addEventListener('abort', job.onAbort, { once: true });
    }
    queue.push(job);
    dispatch();
  });
}

function dispatch(): void {
  if (running !== undefined) return;
  const job = queue.shift();
  if (job === undefined) return;
  let thread: Worker;
  try {
    thread = startWorker();
  } catch (error) {
    settle(job, { error });
    dispatch();
    return;
  }
  running = job;
  thread.ref();
  if (workerReady) startTimer(job);
  try {
    thread.postMessage({ id: job.id, request: job.request } satisfies TypeCheckWorkerRequest);
  } catch (error) {
    running = undefined;
    if (queue.length === 0) thread.unref();
    settle(job, { error: new TypeCheckWorkerError({ message: 'The type-check request could not be sent to the worker.', cause: error }) });
    dispatch();
  }
}

function startTimer(job: Job): void {
  job.timer = setTimeout(() => cancel(job, new TypeCheckTimeoutError({ timeoutMilliseconds: job.timeoutMilliseconds })), job.timeoutMilliseconds);
}

function startWorker(): Worker {
  if (worker !== undefined) return worker;
  const file = workerFile();
  if (!existsSync(file)) {
    throw new TypeCheckWorkerError({
      message: `The type-check worker ${file} is missing: build @codestack/orchestrator first (npm run build -w packages/orchestrator).`,
    });
  }
  const thread = new Worker(file, {
    // The worker needs no loader flags and no environment of the host process.
    execArgv: [],
    env: {},
    resourceLimits: { maxOldGenerationSizeMb: workerMemoryLimitMegabytes },
  });
  thread.on('message', (response: TypeCheckWorkerResponse) => {
    if (response.kind === 'ready') {
      if (worker !== thread) return;
      workerReady = true;
      if (running !== undefined && running.timer === undefined) startTimer(running);
      return;
    }
    const job = running;
    if (worker !== thread || job === undefined || job.id !== response.id) return;
    running = undefined;
    if (queue.length === 0) thread.unref();
    if (response.kind === 'checked') settle(job, { result: response.result });
    else settle(job, { error: new TypeCheckWorkerError({ message: `The type check failed inside the compiler: ${response.message}` }) });
    dispatch();
  });
  const lost = (error: TypeCheckWorkerError): void => {
    if (worker !== thread) return;
    worker = undefined;
    workerReady = false;
    const job = running;
    running = undefined;
    if (job !== undefined) settle(job, { error });
    dispatch();
  };
  thread.on('error', (error) => lost(new TypeCheckWorkerError({ message: `The type-check worker failed: ${error.message}`, cause: error })));
  thread.on('exit', (exitCode) => lost(new TypeCheckWorkerError({ message: `The type-check worker exited with code ${exitCode}.` })));
  worker = thread;
  return thread;
}

/** Ends `job` with `error`: drops it from the queue, or stops the worker that is running it. */
function cancel(job: Job, error: unknown): void {
  if (running === job) {
    running = undefined;
    const thread = worker;
    worker = undefined;
    workerReady = false;
    if (thread !== undefined) {
      thread.unref();
      thread.terminate().catch(() => undefined);
    }
    settle(job, { error });
    dispatch();
    return;
  }
  const index = queue.indexOf(job);
  if (index === -1) return;
  queue.splice(index, 1);
  settle(job, { error });
}

function settle(job: Job, outcome: { result: TypeCheckProgramResult } | { error: unknown }): void {
  if (job.timer !== undefined) clearTimeout(job.timer);
  if (job.onAbort !== undefined) job.signal?.removeEventListener('abort', job.onAbort);
  if ('result' in outcome) job.resolve(outcome.result);
  else job.reject(outcome.error);
}
