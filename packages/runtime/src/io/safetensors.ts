import { readFile } from 'node:fs/promises';
import { FileFormatError, InvalidArgumentError, writeFileAtomic } from '@codestack/core';
import { float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from './float16.js';

/** The element types this module reads and writes. `F16` and `BF16` are widened to float32 on read. */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

/** One tensor of a safetensors file, as float32 values in memory. */
export interface SafetensorsTensor {
  /** The shape, row-major. */
  shape: number[];
  /** The values, widened to float32. */
  data: Float32Array;
  /** The dtype it had in (or should get in) the file. Defaults to the writer's `dtype`. */
  dtype?: SafetensorsDtype;
}

/** The content of a safetensors file. */
export interface SafetensorsContent {
  /** Tensors by name, in file order. */
  tensors: Map<string, SafetensorsTensor>;
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
}

/** Options of {@link encodeSafetensors} and {@link writeSafetensors}. */
export interface SafetensorsWriteOptions {
  /** The dtype of tensors that do not name their own: `F32` (default), `F16` or `BF16`. */
  dtype?: SafetensorsDtype;
  /** String metadata stored as `__metadata__`. */
  metadata?: Record<string, string>;
}

const bytesPerElement: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** The largest JSON header this module reads (real checkpoints with thousands of tensors need about 1 MB). */
const maximumHeaderBytes = 16 * 1024 * 1024;
const maximumRank = 8;

/** Options of {@link decodeSafetensors}. */
export interface SafetensorsReadOptions {
  /** Accept NaN and infinite values. Default false: a tensor holding one is refused (`CORRUPT_FILE`). */
  allowNonFinite?: boolean;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

/**
 * Encodes tensors as a safetensors byte buffer: an 8-byte little-endian header length, a JSON
 * header (`dtype`, `shape`, `data_offsets` per tensor, `__metadata__`) padded with spaces to a
 * multiple of 8 bytes, then the row-major little-endian data.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, SafetensorsTensor>, options: SafetensorsWriteOptions = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (options.metadata !== undefined) {
    for (const [key, value] of Object.entries(options.metadata)) {
      if (typeof value !== 'string') throw new InvalidArgumentError({ argument: 'metadata', message: `value of ${key} is not a string` });
    }
    header.__metadata__ = options.metadata;
  }
  let offset = 0;
  const layout: { tensor: SafetensorsTensor; dtype: SafetensorsDtype; begin: number }[] = [];
  for (const [name, tensor] of tensors) {
    if (name === '__metadata__') throw new InvalidArgumentError({ argument: 'tensors', message: 'a tensor cannot be named __metadata__' });
    const dtype = tensor.dtype ?? options.dtype ?? 'F32';
    if (elementCount(tensor.shape) !== tensor.data.length) {
      throw new InvalidArgumentError({
        argument: 'tensors',
        message: `${name} has ${tensor.data.length} values but shape [${tensor.shape.join(', ')}]`,
      });
    }
    const size = tensor.data.length * bytesPerElement[dtype];
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + size] };
    layout.push({ tensor, dtype, begin: offset });
    offset += size;
  }
  let headerText = JSON.stringify(header);
  const headerBytesRaw = new TextEncoder().encode(headerText).length;
  headerText += ' '.repeat((8 - ((8 + headerBytesRaw) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(headerText);
  const output = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(output.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  output.set(headerBytes, 8);
  const dataStart = 8 + headerBytes.length;
  for (const { tensor, dtype, begin } of layout) {
    const start = dataStart + begin;
    if (dtype === 'F32') {
      for (let index = 0; index < tensor.data.length; index++) view.setFloat32(start + index * 4, tensor.data[index] as number, true);
    } else if (dtype === 'BF16') {
      for (let index = 0; index < tensor.data.length; index++) view.setUint16(start + index * 2, float32ToBfloat16Bits(tensor.data[index] as number), true);
    } else {
      for (let index = 0; index < tensor.data.length; index++) view.setUint16(start + index * 2, float32ToFloat16Bits(tensor.data[index] as number), true);
    }
  }
  return output;
}

/** Where one tensor lies in a safetensors file, from its checked header. */
export interface SafetensorsEntry {
  /** The tensor's name. */
  name: string;
  /** Its element type. */
  dtype: SafetensorsDtype;
  /** Its shape. */
  shape: number[];
  /** First byte, counted from the start of the data section. */
  begin: number;
  /** One past the last byte, counted from the start of the data section. */
  end: number;
  /** Number of values. */
  count: number;
}

/** The checked header of a safetensors file: where each tensor lies, without its values. */
export interface SafetensorsHeader {
  /** Tensors in header order. */
  entries: SafetensorsEntry[];
  /** The `__metadata__` string map (empty when absent). */
  metadata: Record<string, string>;
  /** The byte offset of the data section in the file (8 + the header length). */
  dataStart: number;
}

/**
 * Reads the header length from a safetensors file's first 8 bytes and checks it against the
 * 16 MiB limit and the file's length; {@link FileFormatError} (`CORRUPT_FILE`) otherwise.
 */
export function safetensorsHeaderLength(first: Uint8Array, fileLength: number, path = '<buffer>'): number {
  if (fileLength < 8 || first.length < 8) throw new FileFormatError({ path, reason: 'corrupt', message: `only ${fileLength} bytes; a safetensors file starts with an 8-byte header length` });
  const headerLength = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(maximumHeaderBytes)) throw new FileFormatError({ path, reason: 'corrupt', message: `header length ${headerLength} is over the ${maximumHeaderBytes}-byte limit` });
  if (headerLength > BigInt(fileLength - 8)) {
    throw new FileFormatError({ path, reason: 'corrupt', message: `header length ${headerLength} exceeds the ${fileLength - 8} bytes after it (truncated file?)` });
  }
  return Number(headerLength);
}

/**
 * Parses and checks a safetensors JSON header (`headerBytes`, without the 8-byte length) of a
 * file of `fileLength` bytes, allocating nothing for the tensors: see {@link decodeSafetensors}
 * for what is refused.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileLength: number, path = '<buffer>'): SafetensorsHeader {
  const corrupt = (message: string, cause?: unknown): FileFormatError => new FileFormatError({ path, reason: 'corrupt', message, cause });
  const dataStart = 8 + headerBytes.length;
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw corrupt('the header is not valid UTF-8 JSON', error);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw corrupt('the header is not a JSON object');
  const dataLength = fileLength - dataStart;
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || Object.values(entry).some((value) => typeof value !== 'string')) {
        throw corrupt('__metadata__ must map strings to strings');
      }
      metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw corrupt(`${name} is not a tensor entry`);
    const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw corrupt(`${name} has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || shape.length > maximumRank || !shape.every((size) => Number.isSafeInteger(size) && size >= 0 && size <= 2 ** 32)) {
      throw corrupt(`${name} has an invalid shape`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((value) => Number.isSafeInteger(value) && value >= 0)) {
      throw corrupt(`${name} has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin || end > dataLength) throw corrupt(`${name} has data_offsets [${begin}, ${end}] outside the ${dataLength} data bytes`);
    let count = 1;
    for (const size of shape as number[]) count = size === 0 || count === 0 ? 0 : count * size > dataLength ? Number.POSITIVE_INFINITY : count * size;
    if (end - begin !== count * bytesPerElement[dtype]) {
      throw corrupt(`${name} spans ${end - begin} bytes but shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${count * bytesPerElement[dtype]}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end, count });
  }
  const ordered = [...entries].sort((left, right) => left.begin - right.begin || left.end - right.end);
  let expected = 0;
  for (const { begin, end, name } of ordered) {
    if (begin !== expected) throw corrupt(`${name} starts at byte ${begin}; tensors must be contiguous without overlap (expected ${expected})`);
    expected = end;
  }
  if (expected !== dataLength) throw corrupt(`${dataLength - expected} trailing data bytes belong to no tensor`);
  return { entries, metadata, dataStart };
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Widens one tensor's bytes (`entry.end - entry.begin` of them, as stored) to float32 values,
 * refusing (`CORRUPT_FILE`, naming the tensor and index) NaN and infinities unless
 * `allowNonFinite`. Aligned bytes on a little-endian host are converted through typed arrays.
 */
export function decodeSafetensorsValues(bytes: Uint8Array, entry: SafetensorsEntry, path = '<buffer>', options: SafetensorsReadOptions = {}): Float32Array {
  const { dtype, count, name } = entry;
  if (bytes.length !== count * bytesPerElement[dtype]) {
    throw new FileFormatError({ path, reason: 'corrupt', message: `${name} has ${bytes.length} bytes, expected ${count * bytesPerElement[dtype]}` });
  }
  let data: Float32Array;
  const aligned = littleEndianHost && bytes.byteOffset % bytesPerElement[dtype] === 0;
  if (dtype === 'F32') {
    if (aligned) data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer);
    else {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      data = new Float32Array(count);
      for (let index = 0; index < count; index++) data[index] = view.getFloat32(index * 4, true);
    }
  } else {
    const halves = aligned ? new Uint16Array(bytes.buffer, bytes.byteOffset, count) : undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const bitsAt = (index: number): number => (halves !== undefined ? (halves[index] as number) : view.getUint16(index * 2, true));
    if (dtype === 'F16') {
      data = new Float32Array(count);
      for (let index = 0; index < count; index++) data[index] = float16BitsToFloat32(bitsAt(index));
    } else {
      const widened = new Uint32Array(count);
      for (let index = 0; index < count; index++) widened[index] = bitsAt(index) << 16;
      data = new Float32Array(widened.buffer);
    }
  }
  if (options.allowNonFinite !== true) {
    for (let index = 0; index < count; index++) {
      if (!Number.isFinite(data[index])) throw new FileFormatError({ path, reason: 'corrupt', message: `${name} holds a non-finite value (${String(data[index])}) at index ${index}` });
    }
  }
  return data;
}

/**
 * Decodes a safetensors buffer. The whole header is checked before any tensor is allocated:
 * refused with {@link FileFormatError} (`CORRUPT_FILE`) are a truncated file, a header length
 * over 16 MiB or beyond the file, a header that is not a UTF-8 JSON object, unknown dtypes,
 * shapes that are not lists of at most 8 non-negative integers or do not match their byte
 * range, offsets out of range, overlapping or leaving gaps, and (unless `allowNonFinite`) any NaN
 * or infinite value. `path` names the file in errors.
 */
export function decodeSafetensors(bytes: Uint8Array, path = '<buffer>', options: SafetensorsReadOptions = {}): SafetensorsContent {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError({ argument: 'bytes', message: 'expected a Uint8Array' });
  const headerLength = safetensorsHeaderLength(bytes, bytes.length, path);
  const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLength), bytes.length, path);
  // Only now, with every entry checked, is memory allocated.
  const tensors = new Map<string, SafetensorsTensor>();
  for (const entry of entries) {
    const data = decodeSafetensorsValues(bytes.subarray(dataStart + entry.begin, dataStart + entry.end), entry, path, options);
    tensors.set(entry.name, { shape: entry.shape, data, dtype: entry.dtype });
  }
  return { tensors, metadata };
}

/** Writes a safetensors file atomically (temporary file, fsync, rename). */
export async function writeSafetensors(path: string, tensors: ReadonlyMap<string, SafetensorsTensor>, options: SafetensorsWriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, options));
}

/**
 * Reads a safetensors file (checked as {@link decodeSafetensors} does); a missing file is
 * refused with {@link FileFormatError} (`MISSING_FILE`).
 */
export async function readSafetensors(path: string, options: SafetensorsReadOptions = {}): Promise<SafetensorsContent> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new FileFormatError({ path, reason: 'missing', message: 'cannot read the safetensors file', cause: error });
  }
  return decodeSafetensors(bytes, path, options);
}
