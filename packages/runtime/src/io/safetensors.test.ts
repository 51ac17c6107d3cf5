import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileFormatError } from '@codestack/core';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type SafetensorsTensor } from './safetensors.js';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from './float16.js';

function headerOf(bytes: Uint8Array): Record<string, unknown> {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, unknown>;
}

function withHeader(header: unknown, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

describe('float16', () => {
  it('converts exactly representable values both ways and rounds to nearest even', () => {
    for (const value of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8]) {
      expect(float16BitsToFloat32(float32ToFloat16Bits(value))).toBe(value);
    }
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(float16BitsToFloat32(float32ToFloat16Bits(1 + 2 ** -11))).toBe(1);
    expect(float16BitsToFloat32(float32ToFloat16Bits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(Math.abs(float16BitsToFloat32(float32ToFloat16Bits(0.1)) - 0.1)).toBeLessThan(1e-4);
  });
});

describe('safetensors', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'safetensors-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const tensors = new Map<string, SafetensorsTensor>([
    ['a.weight', { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6.5]) }],
    ['b', { shape: [3], data: new Float32Array([-1, 0.25, 1e-3]) }],
  ]);

  it('writes the spec layout: u64 LE header length, aligned JSON header, contiguous data, metadata', () => {
    const bytes = encodeSafetensors(tensors, { metadata: { format: 'pt' } });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const header = headerOf(bytes);
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header['a.weight']).toEqual({ dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [3], data_offsets: [24, 36] });
    expect(bytes.length).toBe(8 + headerLength + 36);
    expect(new DataView(bytes.buffer).getFloat32(8 + headerLength + 20, true)).toBe(6.5);
  });

  it('round-trips F32 exactly and F16 within half precision, through an atomically written file', async () => {
    const path = join(directory, 'model.safetensors');
    await writeSafetensors(path, tensors, { metadata: { note: 'x' } });
    const read = await readSafetensors(path);
    expect(read.metadata).toEqual({ note: 'x' });
    expect([...read.tensors.get('a.weight')!.data]).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(read.tensors.get('b')!.data[2]).toBe(Math.fround(1e-3));
    await writeSafetensors(path, tensors, { dtype: 'F16' });
    const half = await readSafetensors(path);
    expect(headerOf(await readFile(path))['b']).toMatchObject({ dtype: 'F16', data_offsets: [12, 18] });
    expect(half.tensors.get('b')!.dtype).toBe('F16');
    expect(Math.abs(half.tensors.get('b')!.data[2]! - 1e-3)).toBeLessThan(1e-6);
    expect([...half.tensors.get('a.weight')!.data]).toEqual([1, 2, 3, 4, 5, 6.5]);
  });

  it('reads BF16 by widening the upper 16 bits', () => {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint16(0, 0x3f80, true); // 1.0
    new DataView(data.buffer).setUint16(2, 0xc040, true); // -3.0
    const read = decodeSafetensors(withHeader({ x: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, data));
    expect([...read.tensors.get('x')!.data]).toEqual([1, -3]);
  });

  const refuse = (bytes: Uint8Array, pattern: RegExp): void => {
    let caught: unknown;
    try {
      decodeSafetensors(bytes, 'file.safetensors');
    } catch (error) {
      caught = error;
    }
    expect(FileFormatError.isInstance(caught)).toBe(true);
    expect((caught as FileFormatError).code).toBe('CORRUPT_FILE');
    expect((caught as Error).message).toMatch(pattern);
  };

  it('refuses a truncated file', () => {
    const bytes = encodeSafetensors(tensors);
    refuse(bytes.subarray(0, 5), /8-byte header length/);
    refuse(bytes.subarray(0, 40), /exceeds|header/);
    refuse(bytes.subarray(0, bytes.length - 4), /outside/);
  });

  it('refuses bad header JSON', () => {
    const bytes = encodeSafetensors(tensors);
    bytes[9] = 0x7b; // '{{'
    refuse(bytes, /not valid UTF-8 JSON/);
    refuse(withHeader([1, 2], new Uint8Array()), /not a JSON object/);
  });

  it('refuses offsets out of range, overlaps, gaps, unknown dtypes and shape/size disagreements', () => {
    const data = new Uint8Array(8);
    refuse(withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 16] } }, data), /outside/);
    refuse(withHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, y: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data), /contiguous/);
    refuse(withHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data), /contiguous/);
    refuse(withHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, data), /trailing/);
    refuse(withHeader({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, data), /unsupported dtype/);
    refuse(withHeader({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data), /needs 12/);
    refuse(withHeader({ x: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data), /invalid shape/);
  });

  it('reports a missing file as MISSING_FILE', async () => {
    await expect(readSafetensors(join(directory, 'absent.safetensors'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });

  it('refuses to write inconsistent tensors', () => {
    expect(() => encodeSafetensors(new Map([['x', { shape: [4], data: new Float32Array(3) }]]))).toThrow(/3 values/);
  });

  it('writes BF16 rounded to nearest even and reads it back, aligned or not', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(bfloat16BitsToFloat32(float32ToBfloat16Bits(1 + 2 ** -8))).toBe(1); // halfway: to even
    expect(bfloat16BitsToFloat32(float32ToBfloat16Bits(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6); // halfway: to even, upwards
    expect(bfloat16BitsToFloat32(float32ToBfloat16Bits(-3.0e38))).toBeCloseTo(-3.0e38, -36);
    expect(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(Number.NaN)))).toBe(true);
    const values = new Float32Array([0.1, -2.5, 1e-3, 65504, -0]);
    const bytes = encodeSafetensors(new Map([['odd', { shape: [1], data: new Float32Array([1]), dtype: 'F16' }], ['x', { shape: [5], data: values }]]), { dtype: 'BF16' });
    expect((headerOf(bytes).x as { dtype: string }).dtype).toBe('BF16');
    for (const input of [bytes, (() => { const shifted = new Uint8Array(bytes.length + 1); shifted.set(bytes, 1); return shifted.subarray(1); })()]) {
      const read = decodeSafetensors(input).tensors.get('x');
      expect(Array.from(read?.data ?? [])).toEqual(Array.from(values, (value) => bfloat16BitsToFloat32(float32ToBfloat16Bits(value))));
    }
  });
});
