import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadHuggingFaceTokenizer, type HuggingFaceTokenizer } from './hugging-face-tokenizer.js';
import { modelDirectories, tokenizerStressCorpus } from './test-support.js';

// The reference: Hugging Face's Rust `tokenizers` through its Node binding (prebuilt binaries).
interface RustEncoding {
  getIds(): number[];
}
interface RustTokenizer {
  encode(text: string, pair: null, options: { addSpecialTokens: boolean }): Promise<RustEncoding>;
  decode(ids: number[], skipSpecialTokens: boolean): Promise<string>;
}
interface RustBinding {
  Tokenizer: { fromString(json: string): RustTokenizer };
}

const require = createRequire(import.meta.url);
let rust: RustBinding | undefined;
let loadFailure = '';
try {
  rust = require('tokenizers') as RustBinding;
} catch (error) {
  loadFailure = (error as Error).message;
  console.warn(`Skipping the Rust cross-check: the tokenizers binding does not load on ${process.platform}-${process.arch}: ${loadFailure}`);
}

const corpus = [...tokenizerStressCorpus, tokenizerStressCorpus.join('\n'), readFileSync(new URL('./hugging-face-tokenizer.ts', import.meta.url), 'utf8')];

describe.skipIf(rust === undefined).each(Object.entries(modelDirectories))('%s against the Rust tokenizers binding', (_name, directory) => {
  let ours: HuggingFaceTokenizer;
  let rustParsing: RustTokenizer;
  let rustPlain: RustTokenizer;

  beforeAll(async () => {
    ours = await loadHuggingFaceTokenizer(directory);
    const json = readFileSync(join(directory, 'tokenizer.json'), 'utf8');
    rustParsing = (rust as RustBinding).Tokenizer.fromString(json);
    // The plain-text reference: the same tokenizer with no added token recognised in text.
    rustPlain = (rust as RustBinding).Tokenizer.fromString(JSON.stringify({ ...JSON.parse(json), added_tokens: [] }));
  }, 60_000);

  it('gives identical ids with special-token text parsed', async () => {
    for (const text of corpus) {
      const expected = (await rustParsing.encode(text, null, { addSpecialTokens: false })).getIds();
      expect(ours.encode(text, { parseSpecialTokens: true }), JSON.stringify(text.slice(0, 60))).toEqual(expected);
    }
  });

  it('gives identical ids with special-token text as plain text (the default)', async () => {
    let differing = 0;
    for (const text of corpus) {
      const expected = (await rustPlain.encode(text, null, { addSpecialTokens: false })).getIds();
      const actual = ours.encode(text);
      expect(actual, JSON.stringify(text.slice(0, 60))).toEqual(expected);
      if (JSON.stringify(actual) !== JSON.stringify(ours.encode(text, { parseSpecialTokens: true }))) differing++;
    }
    // The corpus has special-looking text, so the two modes must differ somewhere.
    expect(differing).toBeGreaterThan(0);
  });

  it('decodes like the Rust binding, and back to the original text (after the normalizer)', async () => {
    const normalizer = (JSON.parse(readFileSync(join(directory, 'tokenizer.json'), 'utf8')) as { normalizer: { type: string } | null }).normalizer;
    for (const text of corpus) {
      const ids = ours.encode(text, { parseSpecialTokens: true });
      if (ids.length === 0) continue;
      expect(ours.decode(ids)).toBe(await rustParsing.decode(ids, false));
      expect(ours.decode(ids)).toBe(normalizer?.type === 'NFC' ? text.normalize('NFC') : text);
    }
  });
});
