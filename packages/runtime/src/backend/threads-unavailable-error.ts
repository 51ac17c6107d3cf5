import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.threads-unavailable';
const markerSymbol = Symbol.for(marker);

/**
 * More than one thread was requested (`createRuntime({ threads })`) but the threaded
 * WebAssembly build cannot run here: no SharedArrayBuffer or shared WebAssembly memory, no
 * SIMD, a backend without WebAssembly threads, or the build's files could not be loaded.
 * Code: `THREADS_UNAVAILABLE`. `threads: 'auto'` never throws this; it falls back to one thread.
 */
export class ThreadsUnavailableError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The number of threads that was requested. */
  readonly threads: number;

  constructor({ threads, reason, cause }: { threads: number; reason: string; cause?: unknown }) {
    super({
      code: 'THREADS_UNAVAILABLE',
      message: `${threads} threads were requested but the threaded WebAssembly build is unavailable: ${reason}. Use threads: 1 (or 'auto', which falls back to one thread).`,
      cause,
    });
    this.name = 'ThreadsUnavailableError';
    this.threads = threads;
  }

  /** Whether `error` is a {@link ThreadsUnavailableError}, from any copy of this package. */
  static override isInstance(error: unknown): error is ThreadsUnavailableError {
    return CodestackError.hasMarker(error, marker);
  }
}
