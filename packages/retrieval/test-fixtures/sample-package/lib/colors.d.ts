/** Colours the formatter knows. */
export declare enum Color {
  /** Pure red. */
  Red = 0,
  Green = 1,
}
/** Formats a colour as a CSS string. */
export declare function formatColor(color: Color): string;
