import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FileFormatError, InvalidArgumentError, sha256Hex, writeFileAtomic } from '@codestack/core';

/** The element type of a token shard. */
export type TokenShardDtype = 'uint16' | 'uint32';

/** The header of a token shard. */
export interface TokenShardHeader {
  /** Format version (1). */
  version: number;
  /** Element type of the token ids. */
  dtype: TokenShardDtype;
  /** Number of token ids. */
  count: number;
  /** SHA-256 (hex) of the token bytes. */
  sha256: string;
}

/** File name extension of token shards. */
export const tokenShardExtension = '.tokens';

/**
 * Token shard layout (little-endian), 64-byte header then the ids:
 * bytes 0-3 magic `CSTK`; 4-7 u32 version (1); 8-11 u32 bytes per token (2 = uint16,
 * 4 = uint32); 12-15 u32 reserved (0); 16-23 u64 token count; 24-55 SHA-256 of the token bytes;
 * 56-63 reserved (0); then `count` token ids.
 */
export const tokenShardHeaderBytes = 64;
const magic = [0x43, 0x53, 0x54, 0x4b];

/**
 * Writes token ids as a shard, atomically. `dtype` defaults to `uint16` when every id fits in
 * 16 bits, `uint32` otherwise.
 */
export async function writeTokenShard(path: string, tokens: ArrayLike<number>, options: { dtype?: TokenShardDtype } = {}): Promise<TokenShardHeader> {
  let maximum = 0;
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index] as number;
    if (!Number.isInteger(token) || token < 0 || token > 0xffffffff) throw new InvalidArgumentError({ argument: 'tokens', message: `token ${token} at ${index} is not a uint32` });
    if (token > maximum) maximum = token;
  }
  const dtype = options.dtype ?? (maximum <= 0xffff ? 'uint16' : 'uint32');
  if (dtype === 'uint16' && maximum > 0xffff) throw new InvalidArgumentError({ argument: 'dtype', message: `token ${maximum} does not fit in uint16` });
  const width = dtype === 'uint16' ? 2 : 4;
  const bytes = new Uint8Array(tokenShardHeaderBytes + tokens.length * width);
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < tokens.length; index++) {
    if (width === 2) view.setUint16(tokenShardHeaderBytes + index * 2, tokens[index] as number, true);
    else view.setUint32(tokenShardHeaderBytes + index * 4, tokens[index] as number, true);
  }
  const sha256 = sha256Hex(bytes.subarray(tokenShardHeaderBytes));
  bytes.set(magic, 0);
  view.setUint32(4, 1, true);
  view.setUint32(8, width, true);
  view.setBigUint64(16, BigInt(tokens.length), true);
  bytes.set(Buffer.from(sha256, 'hex'), 24);
  await writeFileAtomic(path, bytes);
  return { version: 1, dtype, count: tokens.length, sha256 };
}

/** Parses and checks a shard header; `fileBytes` is the file's total size. */
export function parseTokenShardHeader(header: Uint8Array, fileBytes: number, path: string): TokenShardHeader {
  const corrupt = (message: string): FileFormatError => new FileFormatError({ path, reason: 'corrupt', message });
  if (header.length < tokenShardHeaderBytes) throw corrupt(`only ${header.length} bytes; a token shard has a ${tokenShardHeaderBytes}-byte header`);
  if (!magic.every((byte, index) => header[index] === byte)) throw corrupt('bad magic: not a CSTK token shard');
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const version = view.getUint32(4, true);
  if (version !== 1) throw new FileFormatError({ path, reason: 'mismatch', message: `unsupported token shard version ${version}` });
  const width = view.getUint32(8, true);
  if (width !== 2 && width !== 4) throw corrupt(`bad token width ${width}`);
  const count = Number(view.getBigUint64(16, true));
  if (fileBytes !== tokenShardHeaderBytes + count * width) {
    throw corrupt(`header says ${count} tokens (${tokenShardHeaderBytes + count * width} bytes) but the file has ${fileBytes} bytes`);
  }
  return { version, dtype: width === 2 ? 'uint16' : 'uint32', count, sha256: Buffer.from(header.subarray(24, 56)).toString('hex') };
}

/** Reads a whole shard, verifying its header and checksum. */
export async function readTokenShard(path: string): Promise<{ header: TokenShardHeader; tokens: Uint16Array | Uint32Array }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the token shard', cause: error });
  }
  const header = parseTokenShardHeader(bytes.subarray(0, tokenShardHeaderBytes), bytes.length, path);
  const body = bytes.subarray(tokenShardHeaderBytes);
  if (sha256Hex(body) !== header.sha256) throw new FileFormatError({ path, reason: 'corrupt', message: 'token bytes do not match the SHA-256 in the header' });
  const copy = new Uint8Array(body);
  const tokens = header.dtype === 'uint16' ? new Uint16Array(copy.buffer, 0, header.count) : new Uint32Array(copy.buffer, 0, header.count);
  return { header, tokens };
}

/** Reads only the header of a shard (cheap: 64 bytes). */
export async function readTokenShardHeader(path: string): Promise<TokenShardHeader> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot open the token shard', cause: error });
  }
  try {
    const { size } = await handle.stat();
    const header = new Uint8Array(tokenShardHeaderBytes);
    const { bytesRead } = await handle.read(header, 0, tokenShardHeaderBytes, 0);
    return parseTokenShardHeader(header.subarray(0, bytesRead), size, path);
  } finally {
    await handle.close();
  }
}

/** The shard files (`*.tokens`) of a directory, sorted by name. */
export async function listTokenShards(directory: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    throw new FileFormatError({ path: directory, reason: 'missing', message: 'cannot read the shard directory', cause: error });
  }
  const shards = names.filter((name) => name.endsWith(tokenShardExtension)).sort().map((name) => join(directory, name));
  if (shards.length === 0) throw new FileFormatError({ path: directory, reason: 'missing', message: `no *${tokenShardExtension} shard files` });
  return shards;
}
