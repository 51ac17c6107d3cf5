import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.backend-not-active';
const markerSymbol = Symbol.for(marker);

/**
 * A runtime was used while TensorFlow.js's global engine was switched to another backend
 * (by another runtime). Call `runtime.activate()` first. Code: `BACKEND_NOT_ACTIVE`.
 */
export class BackendNotActiveError extends CodestackError {
  private readonly [markerSymbol] = true;

  /** The runtime's backend. */
  readonly backend: string;
  /** The backend TensorFlow.js's engine is on. */
  readonly activeBackend: string;

  constructor({ backend, activeBackend }: { backend: string; activeBackend: string }) {
    super({
      code: 'BACKEND_NOT_ACTIVE',
      message: `This runtime uses the '${backend}' backend but TensorFlow.js is on '${activeBackend}'; call runtime.activate() before using it`,
    });
    this.name = 'BackendNotActiveError';
    this.backend = backend;
    this.activeBackend = activeBackend;
  }

  /** Whether `error` is a {@link BackendNotActiveError}, from any copy of this package. */
  static override isInstance(error: unknown): error is BackendNotActiveError {
    return CodestackError.hasMarker(error, marker);
  }
}
