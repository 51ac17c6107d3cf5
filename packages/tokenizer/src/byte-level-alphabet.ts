/**
 * The byte-level alphabet of GPT-2 style BPE vocabularies (`ByteLevel` in Hugging Face
 * `tokenizer.json`): each byte 0–255 is written as one printable character. Printable Latin-1
 * bytes stand for themselves; the others are shifted to U+0100 and up, in byte order.
 */
function buildCharacterToByte(): ReadonlyMap<string, number> {
  const characterToByte = new Map<string, number>();
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    const codePoint = printable ? byte : 256 + shifted++;
    characterToByte.set(String.fromCodePoint(codePoint), byte);
  }
  return characterToByte;
}

/** The byte each character of the byte-level alphabet stands for. */
export const byteLevelCharacterToByte: ReadonlyMap<string, number> = buildCharacterToByte();

const encoder = new TextEncoder();

/**
 * The bytes a byte-level vocabulary entry stands for. A character outside the alphabet (which a
 * well-formed byte-level vocabulary does not have) stands for its own UTF-8 bytes.
 */
export function byteLevelTokenBytes(token: string): Uint8Array {
  const bytes: number[] = [];
  for (const character of token) {
    const byte = byteLevelCharacterToByte.get(character);
    if (byte !== undefined) bytes.push(byte);
    else bytes.push(...encoder.encode(character));
  }
  return Uint8Array.from(bytes);
}
