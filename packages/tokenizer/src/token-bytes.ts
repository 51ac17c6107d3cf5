// ignoreBOM keeps a leading U+FEFF that is part of the text.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Decodes tokens by joining their UTF-8 bytes and decoding them in one non-streaming call, so no
 * state carries over between calls. Bytes that do not form a whole character become U+FFFD.
 */
export function decodeTokenBytes(tokens: readonly number[], tokenBytes: (token: number) => Uint8Array): string {
  const parts: Uint8Array[] = new Array(tokens.length);
  let length = 0;
  for (let index = 0; index < tokens.length; index++) {
    const bytes = tokenBytes(tokens[index] as number);
    parts[index] = bytes;
    length += bytes.length;
  }
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const bytes of parts) {
    joined.set(bytes, offset);
    offset += bytes.length;
  }
  return utf8Decoder.decode(joined);
}
