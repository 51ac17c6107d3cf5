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
    const first = await dataset.nextBatch(2, 3);
    expect([...first.inputs]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...first.targets]).toEqual([1, 2, 3, 4, 5, 6]);
    const position = dataset.getPosition();
    const second = await dataset.nextBatch(2, 3);
    expect([...second.inputs]).toEqual([6, 7, 8, 9, 10, 0]);
    expect([...second.targets]).toEqual([7, 8, 9, 10, 0, 1]);
    expect(dataset.getPosition().epoch).toBe(1);
    dataset.setPosition(position);
    expect([...(await dataset.nextBatch(2, 3)).inputs]).toEqual([...second.inputs]);
  });

  it('shuffles the shard order per epoch from a seed, reproducibly', async () => {
    for (let shard = 0; shard < 6; shard++) await writeTokenShard(join(directory, `${shard}.tokens`), [shard * 10, shard * 10 + 1, shard * 10 + 2]);
    const orderOf = async (seed: number): Promise<number[][]> => {
      const dataset = await PackedDataset.open(directory, { seed });
      const orders: number[][] = [];
      for (let epoch = 0; epoch < 3; epoch++) {
        orders.push(dataset.getPosition().order);
        while (dataset.getPosition().epoch === epoch) await dataset.nextBatch(1, 2);
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
    await expectRefused(dataset.nextBatch(1, 3), 'MISMATCHED_FILE', /token 300 is outside the vocabulary/);
    expect(() => dataset.setPosition({ ...dataset.getPosition(), order: [0, 1] })).toThrow(/does not fit/);
  });
});
