import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, LlamaModel, loadModel, saveModel, type Runtime } from '@codestack/runtime';
import { createCompactVocabulary, getTokenizer, saveCompactVocabulary } from '@codestack/tokenizer';
import { loadAdapter } from '@codestack/tuning';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCorpus, readCorpusSplit, type CorpusDocument } from './collect-corpus.js';
import { evaluateSplit } from './evaluate-split.js';
import { moduleKey, splitDomainByModule, tuneDomain } from './tune-domain.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

describe('splitDomainByModule', () => {
  it('keeps every build of a module on one side', () => {
    expect(moduleKey('src/internal/operators/map.ts')).toBe('map');
    expect(moduleKey('dist/cjs/internal/operators/map.js')).toBe('map');
    expect(moduleKey('dist/types/Map.d.ts')).toBe('map');
    const documents: CorpusDocument[] = [];
    for (const name of ['map', 'filter', 'merge', 'zip', 'scan', 'take', 'skip', 'delay', 'retry', 'share', 'tap', 'first']) {
      for (const variant of [`src/${name}.ts`, `dist/esm/${name}.js`, `dist/cjs/${name}.js`]) documents.push({ package: 'p', path: variant, text: name } as CorpusDocument);
    }
    const split = splitDomainByModule(documents, 0.3);
    expect(split.train.length + split.heldOut.length).toBe(documents.length);
    expect(split.heldOut.length).toBeGreaterThan(0);
    expect(split.train.length).toBeGreaterThan(0);
    const heldOutModules = new Set(split.heldOut.map((document) => moduleKey(document.path)));
    for (const document of split.train) expect(heldOutModules.has(moduleKey(document.path))).toBe(false);
    expect(splitDomainByModule(documents, 0.3)).toEqual(split);
    expect(splitDomainByModule(documents, 0).heldOut).toEqual([]);
  });
});

describe('tuneDomain', () => {
  let workspace: string;
  let runtime: Runtime;
  beforeAll(async () => {
    await mkdir(join(packageRoot, '.cache'), { recursive: true });
    workspace = await mkdtemp(join(packageRoot, '.cache', 'domain-'));
    await collectCorpus({ packages: ['semver', 'ws'], validationPackages: ['semver'], domainPackages: ['ws'], resolveFrom: workspace, outputDirectory: join(workspace, 'corpus') });
    runtime = await createRuntime({ backend: 'wasm' });
    const domain = await readCorpusSplit(join(workspace, 'corpus'), 'domain');
    const baseTokenIds = [...new Set(getTokenizer('cl100k_base').encode(domain.map((document) => document.text).join('\n')))].slice(0, 200);
    const vocabulary = await createCompactVocabulary({ baseEncoding: 'cl100k_base', baseTokenIds });
    const model = LlamaModel.create(
      runtime,
      { vocabularySize: vocabulary.vocabularySize, hiddenSize: 32, layers: 3, attentionHeads: 2, keyValueHeads: 1, feedForwardSize: 64, maximumContext: 32, ropeTheta: 10_000, normEpsilon: 1e-5, tiedEmbeddings: true },
      { seed: 3 },
    );
    await saveModel(model, join(workspace, 'base'));
    await saveCompactVocabulary(vocabulary, join(workspace, 'base', 'vocabulary.json'));
    model.dispose();
  }, 120_000);
  afterAll(async () => {
    await rm(workspace, { recursive: true, force: true });
  });

  it('trains an adapter and a full fine-tune on the domain, measures both on held-out modules, and leaks no tensors', async () => {
    const tensors = runtime.tf.memory().numTensors;
    const summary = await tuneDomain({
      runtime,
      baseModelDirectory: join(workspace, 'base'),
      corpusDirectory: join(workspace, 'corpus'),
      outputDirectory: join(workspace, 'out'),
      adapterDirectory: join(workspace, 'adapter'),
      steps: 4,
      batchSize: 2,
      sequenceLength: 32,
      heldOutShare: 0.3,
    });
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    expect(summary.domain).toBe('ws');
    expect(summary.split.heldOutFiles).toBeGreaterThan(0);
    expect(summary.split.trainFiles).toBeGreaterThan(0);
    for (const method of [summary.base, summary.adapter, summary.fullFineTune]) {
      expect(Number.isFinite(method.loss)).toBe(true);
      expect(method.bitsPerByte).toBeGreaterThan(0);
    }
    expect(summary.adapter.trainableParameters).toBeLessThan(summary.fullFineTune.trainableParameters);
    expect(summary.adapter.fileBytes).toBeGreaterThan(0);

    // The held-out files on disk are exactly the modules the training side does not have.
    const rows = async (name: string) => (await readFile(join(workspace, 'out', name), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as CorpusDocument);
    const heldOut = await rows('domain-held-out.jsonl');
    const train = await rows('domain-train.jsonl');
    expect(heldOut).toHaveLength(summary.split.heldOutFiles);
    const heldOutModules = new Set(heldOut.map((document) => moduleKey(document.path)));
    expect(train.some((document) => heldOutModules.has(moduleKey(document.path)))).toBe(false);
    expect(JSON.parse(await readFile(join(workspace, 'out', 'domain-tuning-summary.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(summary)));

    // The saved adapter loads onto the untouched base; the fine-tune is a loadable model with its vocabulary.
    const base = await loadModel(runtime, join(workspace, 'base'));
    const adapter = await loadAdapter(base, join(workspace, 'adapter'));
    expect(adapter.parameterCount()).toBe(summary.adapter.trainableParameters);
    adapter.dispose();
    base.dispose();
    const fineTuned = await loadModel(runtime, join(workspace, 'out', 'full-fine-tune'));
    expect(fineTuned.config.vocabularySize).toBe(base.config.vocabularySize);
    fineTuned.dispose();
    await expect(readFile(join(workspace, 'out', 'full-fine-tune', 'vocabulary.json'), 'utf8')).resolves.toContain('cl100k_base');
  }, 180_000);

  it('evaluateSplit measures a whole split: bits per byte follow from the loss, tokens and bytes', async () => {
    const tensors = runtime.tf.memory().numTensors;
    const result = await evaluateSplit({ runtime, modelDirectory: join(workspace, 'base'), corpusDirectory: join(workspace, 'corpus'), split: 'validation', sequenceLength: 32 });
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    const documents = await readCorpusSplit(join(workspace, 'corpus'), 'validation');
    expect(result.files).toBe(documents.length);
    expect(result.bytes).toBe(documents.reduce((total, document) => total + Buffer.byteLength(document.text), 0));
    expect(result.bitsPerByte).toBeCloseTo((result.loss * result.tokens) / result.bytes / Math.LN2, 6);
    // An untrained model is close to chance over its vocabulary.
    expect(result.loss).toBeGreaterThan(4);
  }, 60_000);
});
