/** The sentinel strings of a fill-in-the-middle model. Defaults are StarCoder's. */
export interface FillInTheMiddleSentinels {
  /** Default `<fim_prefix>`. */
  prefix: string;
  /** Default `<fim_suffix>`. */
  suffix: string;
  /** Default `<fim_middle>`. */
  middle: string;
}

/** StarCoder's sentinels, the default of {@link buildFillInTheMiddlePrompt}. */
export const defaultFillInTheMiddleSentinels: Readonly<FillInTheMiddleSentinels> = Object.freeze({ prefix: '<fim_prefix>', suffix: '<fim_suffix>', middle: '<fim_middle>' });

/**
 * A fill-in-the-middle prompt in prefix-suffix-middle order, as text: the model writes what goes
 * between. (The runtime's `buildFillInTheMiddlePrompt` is the same layout on token ids, for models
 * whose sentinels are single special tokens.)
 */
export function buildFillInTheMiddlePrompt(prefix: string, suffix: string, sentinels: FillInTheMiddleSentinels = defaultFillInTheMiddleSentinels): string {
  return `${sentinels.prefix}${prefix}${sentinels.suffix}${suffix}${sentinels.middle}`;
}
