import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProgressReporter, throwIfAborted, writeFileAtomic } from '@codestack/core';
import { SeededRandom, tokenShardExtension, writeTokenShard } from '@codestack/runtime';
import { buildCompactVocabulary, saveCompactVocabulary, type CompactVocabulary } from '@codestack/tokenizer';
import { readCorpusSplit, type CorpusManifest, type CorpusSplit } from './collect-corpus.js';

/** Options of {@link prepareTrainingData}. */
export interface PrepareTrainingDataOptions {
  /** A directory written by `collectCorpus`. */
  corpusDirectory: string;
  /** Where to write `vocabulary.json`, one shard folder per split, and `data-manifest.json`. */
  outputDirectory: string;
  /** The base BPE encoding of the compact vocabulary. Default `cl100k_base`. */
  baseEncoding?: string;
  /** K, the number of base tokens the vocabulary keeps. Default 2048. */
  baseTokenCount?: number;
  /** Tokens per shard file. Default 1,000,000. */
  shardTokens?: number;
  /**
   * Seed of the shuffle of the train split's documents before sharding. The trainer reads a shard
   * as one stream, so without it each shard would hold a package or two and training would drift
   * from package to package. Default 1.
   */
  shuffleSeed?: number;
  /** Progress, one unit per document encoded. */
  progress?: ProgressReporter;
  /** Cancels the preparation. */
  signal?: AbortSignal;
}

/** Token and byte counts of one split or package. */
export interface TokenCounts {
  files: number;
  bytes: number;
  tokens: number;
}

/** The manifest of prepared training data, written last as `data-manifest.json`. */
export interface TrainingDataManifest {
  formatVersion: 1;
  vocabulary: { file: string; baseEncoding: string; baseTokenCount: number; vocabularySize: number };
  splits: Record<CorpusSplit, TokenCounts & { shards: string[] }>;
  packages: (CorpusManifest['packages'][number] & { tokens: number })[];
}

/** The file name of the prepared data's manifest. */
export const trainingDataManifestFile = 'data-manifest.json';

/**
 * Builds the compact vocabulary from the train split only (validation and domain stay unseen),
 * then encodes every split as `[BOS, ...tokens, EOS]` per file into token shards, and writes a
 * manifest with tokens and bytes per split and per package.
 */
export async function prepareTrainingData(options: PrepareTrainingDataOptions): Promise<TrainingDataManifest> {
  const baseEncoding = options.baseEncoding ?? 'cl100k_base';
  const baseTokenCount = options.baseTokenCount ?? 2048;
  const shardTokens = options.shardTokens ?? 1_000_000;
  const corpusManifest = JSON.parse(await readFile(join(options.corpusDirectory, 'manifest.json'), 'utf8')) as CorpusManifest;
  const documents = {
    train: shuffled(await readCorpusSplit(options.corpusDirectory, 'train'), options.shuffleSeed ?? 1),
    validation: await readCorpusSplit(options.corpusDirectory, 'validation'),
    domain: await readCorpusSplit(options.corpusDirectory, 'domain'),
  };
  const vocabulary = await buildCompactVocabulary({
    corpus: { texts: documents.train.map((document) => document.text) },
    baseEncoding,
    baseTokenCount,
    signal: options.signal,
  });
  await mkdir(options.outputDirectory, { recursive: true });
  await saveCompactVocabulary(vocabulary, join(options.outputDirectory, 'vocabulary.json'));

  const packageTokens = new Map<string, number>();
  const splits = {} as TrainingDataManifest['splits'];
  let completed = 0;
  for (const split of ['train', 'validation', 'domain'] as const) {
    const directory = join(options.outputDirectory, split);
    await mkdir(directory, { recursive: true });
    const shards: string[] = [];
    const counts: TokenCounts = { files: 0, bytes: 0, tokens: 0 };
    let buffer: number[] = [];
    const flush = async (): Promise<void> => {
      if (buffer.length === 0) return;
      const name = `shard-${String(shards.length).padStart(5, '0')}${tokenShardExtension}`;
      await writeTokenShard(join(directory, name), buffer);
      shards.push(`${split}/${name}`);
      buffer = [];
    };
    for (const document of documents[split]) {
      throwIfAborted(options.signal, 'training data preparation');
      const tokens = encodeDocument(vocabulary, document.text);
      for (const token of tokens) buffer.push(token);
      counts.files += 1;
      counts.bytes += Buffer.byteLength(document.text);
      counts.tokens += tokens.length;
      packageTokens.set(document.package, (packageTokens.get(document.package) ?? 0) + tokens.length);
      if (buffer.length >= shardTokens) await flush();
      completed += 1;
      options.progress?.update({ completed, fields: { split, tokens: counts.tokens } });
    }
    await flush();
    splits[split] = { ...counts, shards };
  }
  const manifest: TrainingDataManifest = {
    formatVersion: 1,
    vocabulary: { file: 'vocabulary.json', baseEncoding, baseTokenCount, vocabularySize: vocabulary.vocabularySize },
    splits,
    packages: corpusManifest.packages.map((record) => ({ ...record, tokens: packageTokens.get(record.name) ?? 0 })),
  };
  await writeFileAtomic(join(options.outputDirectory, trainingDataManifestFile), `${JSON.stringify(manifest, null, 2)}\n`);
  options.progress?.finish({ tokens: splits.train.tokens });
  return manifest;
}

/** A seeded Fisher-Yates shuffle (a new array). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = new SeededRandom(seed);
  const result = [...items];
  for (let index = result.length - 1; index > 0; index -= 1) {
    const other = random.nextInt(index + 1);
    [result[index], result[other]] = [result[other]!, result[index]!];
  }
  return result;
}

/** One training document: BOS, the text's ids, EOS. */
export function encodeDocument(vocabulary: CompactVocabulary, text: string): number[] {
  return [vocabulary.specialTokens.bos, ...vocabulary.encode(text), vocabulary.specialTokens.eos];
}
