import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectRefused } from '../__fixtures__/expect-refused.js';
import { readTokenShard, readTokenShardHeader, tokenShardHeaderBytes, writeTokenShard } from './token-shards.js';
import { PackedDataset } from './packed-dataset.js';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'shards-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});


describe('token shards', () => {
  it('round-trips uint16 and uint32 shards with the documented header', async () => {
    const small = join(directory, 'a.tokens');
    const header = await writeTokenShard(small, [1, 2, 65535]);
    expect(header.dtype).toBe('uint16');
    const bytes = await readFile(small);
    expect(bytes.length).toBe(tokenShardHeaderBytes + 6);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('CSTK');
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)).toBe(2);
    expect(Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(16, true))).toBe(3);
    expect([...(await readTokenShard(small)).tokens]).toEqual([1, 2, 65535]);
    const large = join(directory, 'b.tokens');
    await writeTokenShard(large, [70000, 0]);
    const read = await readTokenShard(large);
    expect(read.header.dtype).toBe('uint32');
    expect([...read.tokens]).toEqual([70000, 0]);
    expect((await readTokenShardHeader(large)).count).toBe(2);
    await expect(writeTokenShard(large, [70000], { dtype: 'uint16' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses bad magic, a truncated file, flipped token bytes, an unknown version and a missing file', async () => {
    const path = join(directory, 'a.tokens');
    await writeTokenShard(path, [5, 6, 7, 8]);
    const good = await readFile(path);
    const variant = async (change: (bytes: Uint8Array) => Uint8Array): Promise<void> => {
      await writeFile(path, change(new Uint8Array(good)));
    };
    await variant((bytes) => {
      bytes[0] = 0x58;
      return bytes;
    });
    await expectRefused(readTokenShard(path), 'CORRUPT_FILE', /bad magic/);
    await variant((bytes) => bytes.subarray(0, bytes.length - 2));
    await expectRefused(readTokenShard(path), 'CORRUPT_FILE', /header says 4 tokens/);
    await expectRefused(readTokenShardHeader(path), 'CORRUPT_FILE', /header says 4 tokens/);
    await variant((bytes) => {
      bytes[bytes.length - 1] = 9;
      return bytes;
    });
    await expectRefused(readTokenShard(path), 'CORRUPT_FILE', /SHA-256/);
    await variant((bytes) => {
      bytes[4] = 2;
      return bytes;
    });
    await expectRefused(readTokenShard(path), 'MISMATCHED_FILE', /version 2/);
    await expectRefused(readTokenShard(join(directory, 'none.tokens')), 'MISSING_FILE', /cannot read/);
    await expectRefused(PackedDataset.open(join(directory, 'nowhere')), 'MISSING_FILE', /shard directory/);
  });
});

describe('PackedDataset', () => {
  it('packs rows with a one-token shift across shard boundaries and resumes from a saved position', async () => {
    await writeTokenShard(join(directory, '0.tokens'), [0, 1, 2, 3, 4]);
    await writeTokenShard(join(directory, '1.tokens'), [5, 6, 7, 8, 9, 10]);
    const dataset = await PackedDataset.open(directory, { shuffleShards: false });
    expect(dataset.totalTokens).toBe(11);
    const first = await dataset.next(2, 3);
    expect([...first.inputs]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...first.targets]).toEqual([1, 2, 3, 4, 5, 6]);
    const position = dataset.position();
    const second = await dataset.next(2, 3);
    expect([...second.inputs]).toEqual([6, 7, 8, 9, 10, 0]);
    expect([...second.targets]).toEqual([7, 8, 9, 10, 0, 1]);
    expect(dataset.position().epoch).toBe(1);
    dataset.restore(position);
    expect([...(await dataset.next(2, 3)).inputs]).toEqual([...second.inputs]);
    // The names from before it was a BatchSource still work.
    dataset.setPosition(position);
    expect(dataset.getPosition()).toEqual(position);
    expect([...(await dataset.nextBatch(2, 3)).inputs]).toEqual([...second.inputs]);
  });

  it('draws each row of a batch from its own seeded offset with rowSampling random, and resumes exactly', async () => {
    // Token i sits at stream offset i, so a row's first input is its offset.
    await writeTokenShard(join(directory, '0.tokens'), Array.from({ length: 100 }, (_, index) => index));
    await writeTokenShard(join(directory, '1.tokens'), Array.from({ length: 100 }, (_, index) => 100 + index));
    const open = (seed: number): Promise<PackedDataset> => PackedDataset.open(directory, { seed, rowSampling: 'random' });
    const dataset = await open(5);
    const starts: number[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const { inputs, targets } = await dataset.next(8, 4);
      for (let row = 0; row < 8; row++) {
        const start = inputs[row * 4]!;
        starts.push(start);
        // Rows are contiguous windows of the stream (also across the shard boundary).
        for (let column = 0; column < 4; column++) {
          expect(inputs[row * 4 + column]).toBe(start + column);
          expect(targets[row * 4 + column]).toBe(start + column + 1);
        }
      }
    }
    const firstBatch = starts.slice(0, 8);
    expect(firstBatch.some((start, row) => row > 0 && start !== firstBatch[row - 1]! + 4)).toBe(true);
    expect(new Set(starts).size).toBeGreaterThan(24);
    expect(starts.some((start) => start < 100) && starts.some((start) => start >= 100)).toBe(true);
    expect(Math.max(...starts)).toBeLessThanOrEqual(195);
    // Seeded: the same seed draws the same rows, another seed other rows.
    const again = await open(5);
    expect([...(await again.next(8, 4)).inputs].filter((_, index) => index % 4 === 0)).toEqual(firstBatch);
    expect([...(await (await open(6)).next(8, 4)).inputs].filter((_, index) => index % 4 === 0)).not.toEqual(firstBatch);
    // The position carries the row generator: a fresh dataset restored to it reads the same batches.
    const position = again.position();
    expect(position.rowRandomState).toHaveLength(4);
    const expected = [await again.next(8, 4), await again.next(8, 4)];
    const resumed = await open(5);
    resumed.restore(position);
    for (const batch of expected) expect([...(await resumed.next(8, 4)).inputs]).toEqual([...batch.inputs]);
    // A sequential position does not fit a random dataset, nor the other way round.
    const sequential = await PackedDataset.open(directory, { seed: 5 });
    expect(() => resumed.restore(sequential.position())).toThrow(/does not fit/);
    expect(() => sequential.restore(position)).toThrow(/does not fit/);
    await expect(PackedDataset.open(directory, { rowSampling: 'shuffled' as 'random' })).rejects.toThrow(/rowSampling/);
  });

  it('shuffles the shard order per epoch from a seed, reproducibly', async () => {
    for (let shard = 0; shard < 6; shard++) await writeTokenShard(join(directory, `${shard}.tokens`), [shard * 10, shard * 10 + 1, shard * 10 + 2]);
    const orderOf = async (seed: number): Promise<number[][]> => {
      const dataset = await PackedDataset.open(directory, { seed });
      const orders: number[][] = [];
      for (let epoch = 0; epoch < 3; epoch++) {
        orders.push(dataset.position().order);
        while (dataset.position().epoch === epoch) await dataset.next(1, 2);
      }
      return orders;
    };
    const first = await orderOf(1);
    expect(await orderOf(1)).toEqual(first);
    expect(first[0]).not.toEqual(first[1]);
    expect([...first[0]!].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('refuses token ids outside the vocabulary and a position that does not fit', async () => {
    await writeTokenShard(join(directory, '0.tokens'), [1, 2, 300, 4]);
    const dataset = await PackedDataset.open(directory, { vocabularySize: 256 });
    await expectRefused(dataset.next(1, 3), 'MISMATCHED_FILE', /token 300 is outside the vocabulary/);
    expect(() => dataset.restore({ ...dataset.position(), order: [0, 1] })).toThrow(/does not fit/);
  });
});
