const marker = 'codestack.error';
const markerSymbol = Symbol.for(marker);

/** Options shared by every codestack error. */
export interface CodestackErrorOptions {
  /** A stable, machine-readable error code such as `UNKNOWN_ENCODING`. */
  code: string;
  /** A human-readable message that says what was wrong and what to do. */
  message: string;
  /** The underlying error, when this error wraps another one. */
  cause?: unknown;
}

/**
 * The one error base class of codestack. Every package throws subclasses of it.
 *
 * Recognise it with {@link CodestackError.isInstance} rather than `instanceof`: the check uses a
 * `Symbol.for` marker, so it still works when two copies of `@codestack/core` are installed.
 */
export class CodestackError extends Error {
  private readonly [markerSymbol] = true;

  /** A stable, machine-readable error code. */
  readonly code: string;

  constructor({ code, message, cause }: CodestackErrorOptions) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CodestackError';
    this.code = code;
  }

  /** Whether `error` is a codestack error, from any copy of this package. */
  static isInstance(error: unknown): error is CodestackError {
    return CodestackError.hasMarker(error, marker);
  }

  /**
   * Whether `error` carries the `Symbol.for(markerName)` marker. Subclasses use this with their own
   * marker name to implement their own cross-copy `isInstance`.
   */
  protected static hasMarker(error: unknown, markerName: string): boolean {
    return (
      typeof error === 'object' &&
      error !== null &&
      Symbol.for(markerName) in error &&
      (error as Record<symbol, unknown>)[Symbol.for(markerName)] === true
    );
  }
}
