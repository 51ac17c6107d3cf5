import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError, FileFormatError, InvalidArgumentError } from '@codestack/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCompactVocabulary, type CompactVocabulary, createCompactVocabulary } from './compact-vocabulary.js';
import { loadCompactVocabulary, saveCompactVocabulary } from './compact-vocabulary-file.js';
import { getTokenizer } from './openai-tokenizer.js';
import { createStreamingDecoder } from './streaming-decoder.js';

const require = createRequire(import.meta.url);
const corpusFiles = [require.resolve('typescript/lib/lib.es5.d.ts'), require.resolve('typescript/lib/lib.es2015.core.d.ts')];
let vocabulary: CompactVocabulary;
let directory: string;

beforeAll(async () => {
  vocabulary = await buildCompactVocabulary({
    corpus: { files: corpusFiles },
    baseEncoding: 'cl100k_base',
    baseTokenCount: 1000,
    workers: 2,
  });
  directory = await mkdtemp(join(tmpdir(), 'compact-vocabulary-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('buildCompactVocabulary', () => {
  it('keeps the K most frequent base tokens of the corpus plus bytes and special tokens', async () => {
    expect(vocabulary.vocabularySize).toBe(6 + 256 + 1000);
    expect(vocabulary.baseTokenIds).toHaveLength(1000);
    expect(vocabulary.specialTokens).toEqual({ pad: 0, bos: 1, eos: 2, fimPrefix: 3, fimSuffix: 4, fimMiddle: 5 });
    expect(vocabulary.baseEncoding).toBe('cl100k_base');
    // Counted independently: the first kept token is the corpus's most frequent cl100k token.
    const base = getTokenizer('cl100k_base');
    const counts = new Map<number, number>();
    for (const path of corpusFiles) {
      for (const id of base.encode(await readFile(path, 'utf8'))) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([id]) => id);
    expect(vocabulary.baseTokenIds.slice(0, 50)).toEqual(ranked.slice(0, 50));
    expect(new Set(vocabulary.baseTokenIds)).toEqual(new Set(ranked.slice(0, 1000)));
  });

  it('encodes corpus-like code with fewer ids than bytes, and never emits special ids', () => {
    const code = 'interface Array<T> {\n    readonly length: number;\n    toString(): string;\n}\n';
    const ids = vocabulary.encode(code);
    expect(ids.length).toBeLessThan(code.length / 2);
    expect(ids.every((id) => id >= 6 && id < vocabulary.vocabularySize)).toBe(true);
    expect(vocabulary.decode(ids)).toBe(code);
    expect(vocabulary.countTokens(code)).toBe(ids.length);
    const special = '<|endoftext|><|bos|>';
    expect(vocabulary.decode(vocabulary.encode(special))).toBe(special);
    expect(vocabulary.encode(special).some((id) => id < 6)).toBe(false);
  });

  it('is lossless on random Unicode, emoji, CJK and code (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 120 }),
          fc.string({ unit: 'binary', maxLength: 60 }).filter((text) => !/\p{Cs}/u.test(text)),
          fc.constantFrom('🙂👍🏽👨‍👩‍👧', '漢字かな交じり文', 'const x = () => `${y}`;', '\uFEFFbom first'),
        ),
        (text) => {
          expect(vocabulary.decode(vocabulary.encode(text))).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('turns lone surrogates into U+FFFD, as TextEncoder does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const wellFormed = new TextDecoder().decode(new TextEncoder().encode(text));
        expect(vocabulary.decode(vocabulary.encode(text))).toBe(wellFormed);
      }),
      { numRuns: 200 },
    );
    expect(vocabulary.decode(vocabulary.encode('a\uD800b\uDFFF'))).toBe('a\uFFFDb\uFFFD');
  });

  it('decodes special ids to their markers and streams with the streaming decoder', () => {
    const { bos, eos, fimPrefix, fimSuffix, fimMiddle, pad } = vocabulary.specialTokens;
    const body = vocabulary.encode('x 🙂');
    expect(vocabulary.decode([bos, ...body, eos, pad])).toBe('<|bos|>x 🙂<|eos|><|pad|>');
    expect(vocabulary.decode([fimPrefix, fimSuffix, fimMiddle])).toBe('<|fim_prefix|><|fim_suffix|><|fim_middle|>');
    const decoder = createStreamingDecoder(vocabulary);
    expect(body.map((id) => decoder.write(id)).join('') + decoder.end()).toBe('x 🙂');
  });

  it('refuses bad input', async () => {
    expect(() => vocabulary.encode(1 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => vocabulary.decode([vocabulary.vocabularySize])).toThrow(InvalidArgumentError);
    await expect(
      buildCompactVocabulary({ corpus: { texts: ['x'] }, baseEncoding: 'cl100k_base', baseTokenCount: -1 }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      buildCompactVocabulary({ corpus: { texts: ['x'] }, baseEncoding: 'nope_base', baseTokenCount: 5 }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_ENCODING' });
    await expect(createCompactVocabulary({ baseEncoding: 'cl100k_base', baseTokenIds: [5, 5] })).rejects.toThrow(
      InvalidArgumentError,
    );
    const aborted = AbortSignal.abort();
    await expect(
      buildCompactVocabulary({ corpus: { texts: ['x'] }, baseEncoding: 'cl100k_base', baseTokenCount: 5, signal: aborted }),
    ).rejects.toThrow(AbortedError);
  });
});

describe('compact vocabulary files', () => {
  it('saves and loads a vocabulary that encodes identically', async () => {
    const path = join(directory, 'vocabulary.json');
    await saveCompactVocabulary(vocabulary, path);
    const loaded = await loadCompactVocabulary(path, { expectedBaseEncoding: 'cl100k_base' });
    expect(loaded.checksum).toBe(vocabulary.checksum);
    expect(loaded.encodingName).toBe(vocabulary.encodingName);
    const text = 'export function main(): void { console.log("héllo 🙂"); }';
    expect(loaded.encode(text)).toEqual(vocabulary.encode(text));
  });

  async function refusal(edit: (file: Record<string, unknown>) => unknown, name: string): Promise<unknown> {
    const path = join(directory, `${name}.json`);
    await saveCompactVocabulary(vocabulary, path);
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    const edited = edit(file);
    await writeFile(path, typeof edited === 'string' ? edited : JSON.stringify(edited));
    return loadCompactVocabulary(path).then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  it('refuses a file of another version or base encoding with MISMATCHED_FILE', async () => {
    for (const [name, edit] of [
      ['version', (file: Record<string, unknown>) => ({ ...file, version: 2 })],
      ['format', (file: Record<string, unknown>) => ({ ...file, format: 'something-else' })],
      ['base', (file: Record<string, unknown>) => ({ ...file, baseEncoding: 'cl999k_base' })],
    ] as const) {
      const error = await refusal(edit, name);
      expect(FileFormatError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'MISMATCHED_FILE', reason: 'mismatch' });
    }
    const path = join(directory, 'expected.json');
    await saveCompactVocabulary(vocabulary, path);
    await expect(loadCompactVocabulary(path, { expectedBaseEncoding: 'o200k_base' })).rejects.toMatchObject({
      code: 'MISMATCHED_FILE',
    });
  });

  it('refuses a tampered, malformed or truncated file with CORRUPT_FILE, and a missing one with MISSING_FILE', async () => {
    for (const [name, edit] of [
      ['tampered', (file: Record<string, unknown>) => ({ ...file, baseTokenIds: [...(file.baseTokenIds as number[]), 7] })],
      ['checksum', (file: Record<string, unknown>) => ({ ...file, checksum: '0'.repeat(64) })],
      ['malformed', () => '{"format": "codestack.compact-vocabulary", '],
      ['array', () => '[]'],
      ['layout', (file: Record<string, unknown>) => ({ ...file, byteTokenOffset: 7 })],
    ] as const) {
      const error = await refusal(edit, name);
      expect(FileFormatError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'CORRUPT_FILE', reason: 'corrupt' });
    }
    await expect(loadCompactVocabulary(join(directory, 'absent.json'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });
});
