import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, readTokenShard, type Runtime } from '@codestack/runtime';
import { loadCompactVocabulary } from '@codestack/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCorpus } from './collect-corpus.js';
import { prepareTrainingData, type TrainingDataManifest } from './prepare-training-data.js';
import { trainBaseModel } from './train-base-model.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const tinyShape = {
  hiddenSize: 32,
  layers: 2,
  attentionHeads: 2,
  keyValueHeads: 1,
  feedForwardSize: 64,
  maximumContext: 32,
  ropeTheta: 10_000,
  normEpsilon: 1e-5,
  tiedEmbeddings: true,
};
let workspace: string;
let runtime: Runtime;
let manifest: TrainingDataManifest;

beforeAll(async () => {
  await mkdir(join(packageRoot, '.cache'), { recursive: true });
  workspace = await mkdtemp(join(packageRoot, '.cache', 'pipeline-'));
  await collectCorpus({
    packages: ['koa', 'semver', 'ws'],
    validationPackages: ['semver'],
    domainPackages: ['ws'],
    resolveFrom: workspace,
    outputDirectory: join(workspace, 'corpus'),
  });
  manifest = await prepareTrainingData({
    corpusDirectory: join(workspace, 'corpus'),
    outputDirectory: join(workspace, 'data'),
    baseTokenCount: 300,
    shardTokens: 20_000,
  });
  runtime = await createRuntime({ backend: 'wasm' });
}, 120_000);
afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('prepareTrainingData', () => {
  it('builds the vocabulary from the train split and shards every split losslessly', async () => {
    const vocabulary = await loadCompactVocabulary(join(workspace, 'data', 'vocabulary.json'));
    expect(manifest.vocabulary.vocabularySize).toBe(vocabulary.vocabularySize);
    expect(manifest.vocabulary.vocabularySize).toBe(6 + 256 + 300);
    const koaTokens = manifest.packages.find((record) => record.name === 'koa')!.tokens;
    expect(koaTokens).toBe(manifest.splits.train.tokens);
    expect(manifest.splits.train.shards.length).toBeGreaterThan(1);

    // The validation shard decodes back to exactly the validation files, each framed by BOS/EOS.
    const validationTokens: number[] = [];
    for (const shard of manifest.splits.validation.shards) validationTokens.push(...(await readTokenShard(join(workspace, 'data', shard))).tokens);
    expect(validationTokens.length).toBe(manifest.splits.validation.tokens);
    const { bos, eos } = vocabulary.specialTokens;
    const texts: string[] = [];
    let start = 0;
    for (let index = 0; index < validationTokens.length; index += 1) {
      if (validationTokens[index] === eos) {
        expect(validationTokens[start]).toBe(bos);
        texts.push(vocabulary.decode(validationTokens.slice(start + 1, index)));
        start = index + 1;
      }
    }
    const corpusLines = (await readFile(join(workspace, 'corpus', 'validation.jsonl'), 'utf8')).trim().split('\n');
    expect(texts).toEqual(corpusLines.map((line) => (JSON.parse(line) as { text: string }).text));
  });

  it('shuffles the train documents before sharding, losing none', async () => {
    const vocabulary = await loadCompactVocabulary(join(workspace, 'data', 'vocabulary.json'));
    const tokens: number[] = [];
    for (const shard of manifest.splits.train.shards) tokens.push(...(await readTokenShard(join(workspace, 'data', shard))).tokens);
    const texts: string[] = [];
    let start = 0;
    for (let index = 0; index < tokens.length; index += 1) {
      if (tokens[index] === vocabulary.specialTokens.eos) {
        texts.push(vocabulary.decode(tokens.slice(start + 1, index)));
        start = index + 1;
      }
    }
    const corpusTexts = (await readFile(join(workspace, 'corpus', 'train.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { text: string }).text);
    expect(texts).not.toEqual(corpusTexts);
    expect([...texts].sort()).toEqual([...corpusTexts].sort());
  });
});

describe('trainBaseModel', () => {
  it('trains, stops, and resumes from its checkpoint where it left off', async () => {
    const options = {
      runtime,
      dataDirectory: join(workspace, 'data'),
      runDirectory: join(workspace, 'run'),
      totalSteps: 3,
      shape: tinyShape,
      batchSize: 2,
      sequenceLength: 32,
      checkpointEvery: 2,
      json: true,
    };
    const controller = new AbortController();
    controller.abort();
    // An aborted invocation still leaves a consistent checkpoint at step 0 behind.
    const stopped = await trainBaseModel({ ...options, signal: controller.signal });
    expect(stopped.step).toBe(0);
    expect(stopped.finished).toBe(false);

    const first = await trainBaseModel({ ...options, maximumStepsNow: 2 });
    expect(first.step).toBe(2);
    const resumed = await trainBaseModel(options);
    expect(resumed.step).toBe(3);
    expect(resumed.finished).toBe(true);
    expect(resumed.tokensSeen).toBe(3 * 2 * 32);
    expect(Number.isFinite(resumed.validationBitsPerByte)).toBe(true);
    expect(resumed.validationBitsPerByte).toBeGreaterThan(0);
    const summary = JSON.parse(await readFile(join(workspace, 'run', 'run-summary.json'), 'utf8'));
    expect(summary.step).toBe(3);
    // Training time adds up over the invocations of a resumed run.
    expect(resumed.trainingSeconds).toBeGreaterThan(first.trainingSeconds);
    expect(first.trainingSeconds).toBeGreaterThan(0);
  }, 120_000);
});
