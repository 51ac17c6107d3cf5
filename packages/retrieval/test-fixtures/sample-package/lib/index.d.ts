import { Color } from './colors.js';
export { Color };
export { formatColor as renderColor } from './colors.js';

/**
 * Parses a duration such as `1h30m` into milliseconds.
 *
 * Longer explanation paragraph that is not part of the summary.
 * @param text - The duration text.
 * @returns The duration in milliseconds.
 * @example
 * parseDuration('1h'); // 3600000
 * @since 1.0.0
 */
export declare function parseDuration(text: string): number;
/** @param text - The duration text. @param fallback - Used when parsing fails. */
export declare function parseDuration(text: string, fallback: number): number;

/**
 * Old name of {@link parseDuration}.
 * @deprecated Use parseDuration instead.
 */
export declare function toMilliseconds(text: string): number;

/** A token bucket rate limiter. */
export declare class RateLimiter {
  /** Creates a limiter that allows `perSecond` operations each second. */
  constructor(perSecond: number);
  /** Takes one token, waiting until one is free. */
  acquire(): Promise<void>;
  /** Tokens left right now. */
  readonly available: number;
  private refill;
  /** Builds a limiter from a config object. */
  static fromConfig(config: LimiterConfig): RateLimiter;
}

/** Settings of a {@link RateLimiter}. */
export interface LimiterConfig {
  /** Operations per second. */
  perSecond: number;
  /** Extra burst capacity. */
  burst?: number;
}

/** Helpers for durations. */
export declare namespace durations {
  /** One second in milliseconds. */
  const second: number;
  /** Adds two durations. */
  function add(left: number, right: number): number;
}

/** A duration unit. */
export type Unit = 'ms' | 's' | 'm' | 'h';
