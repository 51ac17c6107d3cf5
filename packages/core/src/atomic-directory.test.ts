import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { killDuringSaves } from './__fixtures__/kill-during-saves.js';
import { directoryManifestFileName, isDirectorySaveEntry, openDirectoryFiles, writeDirectoryAtomic } from './atomic-directory.js';
import { sha256Hex } from './atomic-file.js';
import { CodestackError } from './codestack-error.js';
import { FileFormatError } from './file-format-error.js';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'codestack-directory-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const text = (value: Uint8Array): string => new TextDecoder().decode(value);
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid as number;

async function refusal(action: Promise<unknown>): Promise<FileFormatError> {
  const error = await action.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(FileFormatError.isInstance(error)).toBe(true);
  return error as FileFormatError;
}

describe('writeDirectoryAtomic', () => {
  it('writes plain names plus a manifest, reads them back verified, leaves nothing else', async () => {
    const manifest = await writeDirectoryAtomic(directory, new Map<string, string | Uint8Array>([['config.json', '{"a":1}'], ['weights.bin', new Uint8Array([1, 2, 3])]]));
    expect((await readdir(directory)).sort()).toEqual([directoryManifestFileName, 'config.json', 'weights.bin']);
    expect(manifest.files['config.json']).toEqual({ sha256: sha256Hex('{"a":1}'), bytes: 7 });
    const files = await openDirectoryFiles(directory);
    expect(files.manifest).toEqual(manifest);
    expect(text(await files.read('config.json'))).toBe('{"a":1}');
    expect([...(await files.read('weights.bin'))]).toEqual([1, 2, 3]);
    expect(await files.size('weights.bin')).toBe(3);
  });

  it('replaces the files it writes, keeps the others (and their manifest entries) as they were', async () => {
    await writeFile(join(directory, 'README.md'), 'not ours');
    await writeDirectoryAtomic(directory, new Map([['a.json', 'old a'], ['b.bin', 'old b']]));
    await writeDirectoryAtomic(directory, new Map([['a.json', 'new a']]));
    const files = await openDirectoryFiles(directory);
    expect(text(await files.read('a.json'))).toBe('new a');
    expect(text(await files.read('b.bin'))).toBe('old b');
    expect(Object.keys(files.manifest!.files)).toEqual(['a.json', 'b.bin']);
    expect(await readFile(join(directory, 'README.md'), 'utf8')).toBe('not ours');
  });

  it('refuses names that are not plain file names', async () => {
    for (const name of ['../x', '.hidden', 'a/b', '', directoryManifestFileName]) {
      await expect(writeDirectoryAtomic(directory, new Map([[name, 'x']]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('finds the new state when a save was interrupted after its commit, and finishes it on the next save', async () => {
    await writeDirectoryAtomic(directory, new Map([['a.json', 'old a'], ['b.bin', 'old b']]));
    // What a save killed after replacing the manifest but before the renames leaves behind.
    await writeFile(join(directory, `.a.json.${sha256Hex('new a')}.codestack-staged`), 'new a');
    await writeFile(join(directory, `.b.bin.${sha256Hex('new b')}.codestack-staged`), 'new b');
    const manifest = {
      format: 'codestack-directory',
      version: 1,
      files: { 'a.json': { sha256: sha256Hex('new a'), bytes: 5 }, 'b.bin': { sha256: sha256Hex('new b'), bytes: 5 } },
    };
    await writeFile(join(directory, directoryManifestFileName), JSON.stringify(manifest));
    await writeFile(join(directory, '.codestack-save.lock'), String(process.pid)); // a live save: the reader must not tidy
    const files = await openDirectoryFiles(directory);
    expect(text(await files.read('a.json'))).toBe('new a');
    expect(text(await files.read('b.bin'))).toBe('new b');
    await rm(join(directory, '.codestack-save.lock'));
    await writeDirectoryAtomic(directory, new Map([['c.txt', 'c']]));
    expect((await readdir(directory)).sort()).toEqual(['a.json', 'b.bin', 'c.txt', directoryManifestFileName]);
    expect(await readFile(join(directory, 'a.json'), 'utf8')).toBe('new a');
  });

  it('sweeps staged copies and temporaries of dead processes on load and on save, but not those of live ones', async () => {
    await writeDirectoryAtomic(directory, new Map([['a.json', 'a']]));
    const dead = deadPid();
    await writeFile(join(directory, `.a.json.${sha256Hex('never committed')}.codestack-staged`), 'never committed');
    await writeFile(join(directory, `.a.json.${dead}.0123456789ab.tmp`), 'half');
    await writeFile(join(directory, `.a.json.${process.pid}.0123456789ab.tmp`), 'in flight');
    await writeFile(join(directory, '.codestack-save.lock'), String(dead));
    const files = await openDirectoryFiles(directory);
    expect(text(await files.read('a.json'))).toBe('a');
    expect((await readdir(directory)).sort()).toEqual([`.a.json.${process.pid}.0123456789ab.tmp`, 'a.json', directoryManifestFileName]);
  });

  it('names what a save makes besides its files and manifest with isDirectorySaveEntry, and only that', () => {
    const staged = `.a.json.${sha256Hex('a')}.codestack-staged`;
    const temporary = `.a.json.${process.pid}.0123456789ab.tmp`;
    for (const name of ['.codestack-save.lock', staged, temporary]) expect(isDirectorySaveEntry(name), name).toBe(true);
    for (const name of ['a.json', directoryManifestFileName, '.hidden', '.a.json.tmp', 'a.json.codestack-staged', '.a.json.12.0123456789ab.tmp.bak']) expect(isDirectorySaveEntry(name), name).toBe(false);
  });

  it('takes over a lock whose process died, or one left without a pid, and times out on a live one', async () => {
    await writeFile(join(directory, '.codestack-save.lock'), String(deadPid()));
    await writeDirectoryAtomic(directory, new Map([['a.json', '1']]));
    await writeFile(join(directory, '.codestack-save.lock'), '');
    const old = new Date(Date.now() - 10_000);
    await utimes(join(directory, '.codestack-save.lock'), old, old);
    await writeDirectoryAtomic(directory, new Map([['a.json', '2']]));
    await writeFile(join(directory, '.codestack-save.lock'), String(process.pid));
    const error = await writeDirectoryAtomic(directory, new Map([['a.json', '3']]), { lockTimeoutMilliseconds: 50 }).catch((caught: unknown) => caught);
    expect(CodestackError.isInstance(error) && error.code).toBe('DIRECTORY_LOCKED');
    expect(text(await (await openDirectoryFiles(directory)).read('a.json'))).toBe('2');
  });
});

describe('openDirectoryFiles', () => {
  it('reads a directory without a manifest unchecked, within the size bound', async () => {
    await writeFile(join(directory, 'config.json'), '{}');
    const files = await openDirectoryFiles(directory);
    expect(files.manifest).toBeUndefined();
    expect(text(await files.read('config.json'))).toBe('{}');
    expect((await refusal(files.read('config.json', { maximumBytes: 1 }))).code).toBe('CORRUPT_FILE');
    expect((await refusal(files.read('absent.json'))).code).toBe('MISSING_FILE');
    expect((await refusal(files.size('absent.json'))).code).toBe('MISSING_FILE');
  });

  it('refuses a changed, unlisted, oversized or missing file, and a damaged manifest', async () => {
    await writeDirectoryAtomic(directory, new Map([['a.json', 'abc'], ['b.bin', 'xyz']]));
    await writeFile(join(directory, 'a.json'), 'abd');
    await rm(join(directory, 'b.bin'));
    await writeFile(join(directory, 'c.txt'), 'unlisted');
    const files = await openDirectoryFiles(directory);
    expect((await refusal(files.read('a.json'))).code).toBe('CORRUPT_FILE');
    expect((await refusal(files.read('b.bin'))).code).toBe('MISSING_FILE');
    expect((await refusal(files.read('c.txt'))).code).toBe('CORRUPT_FILE');
    await writeDirectoryAtomic(directory, new Map([['a.json', 'abc']]));
    expect((await refusal((await openDirectoryFiles(directory)).read('a.json', { maximumBytes: 2 }))).code).toBe('CORRUPT_FILE');
    const manifestPath = join(directory, directoryManifestFileName);
    const manifest = await readFile(manifestPath, 'utf8');
    for (const damaged of [manifest.slice(0, 20), manifest.replace('"version": 1', '"version": 2'), manifest.replace('"bytes": 3', '"bytes": -3'), '[]', manifest.replace('"format"', '"extra": 1, "format"')]) {
      await writeFile(manifestPath, damaged);
      expect((await refusal(openDirectoryFiles(directory))).code).toBe('CORRUPT_FILE');
    }
    await writeFile(manifestPath, ' '.repeat(2 << 20));
    expect((await refusal(openDirectoryFiles(directory))).code).toBe('CORRUPT_FILE');
  });
});

describe('a save killed at a random point', () => {
  it('leaves the old state or the new one, every time (60 kill -9 tries)', async () => {
    const states = [0, 1].map((state) =>
      new Map<string, string | Uint8Array>([
        ['config.json', JSON.stringify({ state })],
        ['weights.bin', Buffer.alloc(256 * 1024 + state, state + 1)],
        ['extra.txt', `extra ${state}`],
      ]),
    ) as [Map<string, string | Uint8Array>, Map<string, string | Uint8Array>];
    const target = join(directory, 'target');
    const encode = (state: ReadonlyMap<string, string | Uint8Array>): string => JSON.stringify([...state].map(([name, value]) => [name, Buffer.from(value).toString('base64')]));
    const expected = states.map(encode);
    const readState = async (): Promise<string> => {
      const files = await openDirectoryFiles(target);
      const state = new Map<string, Uint8Array>();
      for (const name of ['config.json', 'weights.bin', 'extra.txt']) state.set(name, await files.read(name));
      return encode(state);
    };
    await writeDirectoryAtomic(target, states[1]);
    const seen = new Set<string>();
    const { interrupted: leftovers } = await killDuringSaves({
      workspace: directory,
      target,
      states,
      maximumDelayMilliseconds: 25,
      async afterKill() {
        const state = await readState().catch((error: unknown) => `refused: ${String(error)}`);
        expect(expected).toContain(state);
        seen.add(state);
      },
    });
    // Both states were seen, and some kills landed mid-save (leftovers to sweep).
    expect(seen.size).toBe(2);
    expect(leftovers).toBeGreaterThan(0);
    await writeDirectoryAtomic(target, new Map([['extra.txt', 'final']]));
    expect((await readdir(target)).filter((entry) => entry.startsWith('.'))).toEqual([]);
  }, 60_000);
});
