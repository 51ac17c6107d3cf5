import { CodestackError } from '@codestack/core';

const marker = 'codestack.error.sandbox';
const markerSymbol = Symbol.for(marker);

/** The sandbox itself could not be prepared or started (not a failure of the code it ran). Code: `SANDBOX_FAILED`. */
export class SandboxError extends CodestackError {
  private readonly [markerSymbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ code: 'SANDBOX_FAILED', message, cause });
    this.name = 'SandboxError';
  }

  /** Whether `error` is a {@link SandboxError}, from any copy of this package. */
  static override isInstance(error: unknown): error is SandboxError {
    return CodestackError.hasMarker(error, marker);
  }
}

const isolationMarker = 'codestack.error.sandbox-isolation-unavailable';
const isolationMarkerSymbol = Symbol.for(isolationMarker);

/**
 * A caller asked for an isolation level (`isolation: 'namespace'`) that this machine does not
 * offer; `reason` says why the probe found it unavailable. Code: `SANDBOX_ISOLATION_UNAVAILABLE`.
 */
export class SandboxIsolationUnavailableError extends CodestackError {
  private readonly [isolationMarkerSymbol] = true;

  /** Why the requested level is unavailable (for example "bwrap and unshare are not installed"). */
  readonly reason: string;

  constructor({ level, reason }: { level: string; reason: string }) {
    super({ code: 'SANDBOX_ISOLATION_UNAVAILABLE', message: `the '${level}' sandbox isolation is unavailable: ${reason}` });
    this.name = 'SandboxIsolationUnavailableError';
    this.reason = reason;
  }

  /** Whether `error` is a {@link SandboxIsolationUnavailableError}, from any copy of this package. */
  static override isInstance(error: unknown): error is SandboxIsolationUnavailableError {
    return CodestackError.hasMarker(error, isolationMarker);
  }
}
