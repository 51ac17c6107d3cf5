#!/usr/bin/env node
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createProgressReporter, InvalidArgumentError, numberArgument, writeFileAtomic } from '@codestack/core';
import { createRuntime } from '@codestack/runtime';
import { collectCorpus } from './collect-corpus.js';
import { corpusPackages, domainPackages, validationPackages } from './corpus-packages.js';
import { prepareTrainingData } from './prepare-training-data.js';
import { exportBaseModel, trainBaseModel } from './train-base-model.js';
import { evaluateSplit } from './evaluate-split.js';
import { tuneDomain } from './tune-domain.js';
import { buildApiCompletionSets, writeApiCompletionSets } from './api-completion-sets.js';
import { buildCorpusDatastore } from './build-corpus-datastore.js';
import { tuneKnnDefaults } from './tune-knn-defaults.js';
import { runApiCompletionTable, type ApiTableConfiguration } from './api-completion-table.js';
import { buildDocsConditionedExamples, trainDocsConditionedAdapter } from './docs-conditioned-adapter.js';
import { readCorpusSplit } from './collect-corpus.js';
import { coreModuleBindings } from './api-completion-sets.js';

const usage = `usage: model-pipeline <command> [options] [--backend B] [--threads N|auto] [--json]
  collect  [--corpus DIR]                                   collect the pinned corpus
  prepare  [--corpus DIR] [--data DIR] [--base-tokens K]    build the compact vocabulary and token shards
  train    [--data DIR] [--run DIR] --steps N [--minutes M] [--steps-now S] [--workers W] [--checkpoint-every C]
                                                            train or resume the base model
  export   [--data DIR] [--run DIR] --out DIR               write f16 weights + vocabulary for @codestack/model-base
  evaluate --model DIR [--split validation|domain] [--corpus DIR]
                                                            held-out loss and bits per byte over a whole split
  tune-domain --model DIR --adapter-out DIR [--corpus DIR] [--out DIR] [--steps N]
                                                            LoRA adapter vs full fine-tune on the held-out domain
  api-sets [--out DIR] [--seed S]                           held-out API-member completion sets (validation, test) and held-out text
                                                            from installed packages outside the corpus (default data/api-completion)
  datastore --model DIR --out DIR [--corpus DIR] [--selection node-core|all] [--maximum-tokens N]
                                                            the kNN-LM datastore over training files
  tune-knn --model DIR --datastore DIR [--sets DIR] [--corpus DIR] [--out FILE]
                                                            sweep λ, k and temperature on the VALIDATION set (writes the choice as JSON)
  docs-adapter --model DIR --adapter-out DIR --control-out DIR [--corpus DIR] [--steps N] [--examples N]
                                                            LoRA on @types/node docs then code (loss on the code), and its control on the code alone
  evaluate-api --model DIR [--split validation|test] [--sets DIR] [--datastore DIR] [--adapter DIR] [--control DIR]
               [--configurations a,b,…] [--bits-per-byte-tokens N] [--out FILE]
                                                            the API-member completion table with the knn-defaults.ts settings`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    corpus: { type: 'string', default: '.cache/corpus' },
    data: { type: 'string', default: '.cache/training-data' },
    run: { type: 'string', default: '.cache/base-model-run' },
    out: { type: 'string' },
    model: { type: 'string' },
    'adapter-out': { type: 'string' },
    split: { type: 'string', default: 'validation' },
    'base-tokens': { type: 'string', default: '2048' },
    steps: { type: 'string' },
    minutes: { type: 'string' },
    'steps-now': { type: 'string' },
    workers: { type: 'string', default: '1' },
    threads: { type: 'string', default: '1' },
    'checkpoint-every': { type: 'string', default: '100' },
    backend: { type: 'string', default: 'auto' },
    seed: { type: 'string', default: '1' },
    selection: { type: 'string', default: 'node-core' },
    sets: { type: 'string', default: 'data/api-completion' },
    datastore: { type: 'string' },
    'control-out': { type: 'string' },
    examples: { type: 'string', default: '2000' },
    adapter: { type: 'string' },
    control: { type: 'string' },
    configurations: { type: 'string' },
    'bits-per-byte-tokens': { type: 'string', default: '0' },
    'maximum-tokens': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
/** The first of `names` not given, as `--name` (for the error of a command that requires them all). */
function firstMissing(...names: (keyof typeof values)[]): string {
  return `--${names.find((name) => values[name] === undefined) ?? names[0]}`;
}

/** The number given as `--name` (see `numberArgument`), or undefined when it is absent. */
function numberValue(name: keyof typeof values): number | undefined {
  const value = values[name];
  return numberArgument(typeof value === 'string' ? value : undefined, `--${name}`);
}

/** The `@types/node` docs as the completion prompt's retriever. */
async function nodeTypesRetriever(): Promise<import('@codestack/core').Retriever> {
  const { DocsIndex, loadTypeScriptDocs } = await import('@codestack/retrieval');
  const { createDocsIndexRetriever } = await import('@codestack/orchestrator/retrieval');
  return createDocsIndexRetriever(await DocsIndex.build(await loadTypeScriptDocs('@types/node', { from: process.cwd() })));
}

/** The runtime every command runs on: `--backend`, and `--threads` for the wasm backend's threaded build. */
function openRuntime(): ReturnType<typeof createRuntime> {
  const threads = values.threads === 'auto' ? 'auto' : numberValue('threads')!;
  return createRuntime({ backend: values.backend as 'auto', threads });
}

const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted')));
const json = values.json;
const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

switch (positionals[0]) {
  case 'collect': {
    const manifest = await collectCorpus({
      packages: corpusPackages,
      validationPackages,
      domainPackages,
      resolveFrom: process.cwd(),
      outputDirectory: resolve(values.corpus),
      progress: createProgressReporter({ label: 'collect', total: corpusPackages.length, json }),
      signal: controller.signal,
    });
    print(manifest.splits);
    break;
  }
  case 'prepare': {
    const manifest = await prepareTrainingData({
      corpusDirectory: resolve(values.corpus),
      outputDirectory: resolve(values.data),
      baseTokenCount: numberValue('base-tokens')!,
      progress: createProgressReporter({ label: 'prepare', json }),
      signal: controller.signal,
    });
    print({ vocabulary: manifest.vocabulary, splits: Object.fromEntries(Object.entries(manifest.splits).map(([split, counts]) => [split, { ...counts, shards: counts.shards.length }])) });
    break;
  }
  case 'train': {
    if (values.steps === undefined) throw new InvalidArgumentError({ argument: '--steps', message: `--steps is required\n${usage}` });
    const runtime = await openRuntime();
    print({ event: 'runtime', backend: runtime.backend });
    const result = await trainBaseModel({
      runtime,
      dataDirectory: resolve(values.data),
      runDirectory: resolve(values.run),
      totalSteps: numberValue('steps')!,
      timeBudgetMinutes: numberValue('minutes'),
      maximumStepsNow: numberValue('steps-now'),
      workers: numberValue('workers')!,
      checkpointEvery: numberValue('checkpoint-every')!,
      json,
      signal: controller.signal,
    });
    print(result);
    break;
  }
  case 'export': {
    if (values.out === undefined) throw new InvalidArgumentError({ argument: '--out', message: `--out is required\n${usage}` });
    const runtime = await openRuntime();
    await exportBaseModel(runtime, resolve(values.run), resolve(values.data), resolve(values.out));
    print({ exported: resolve(values.out) });
    break;
  }
  case 'evaluate': {
    if (values.model === undefined) throw new InvalidArgumentError({ argument: '--model', message: `--model is required\n${usage}` });
    if (values.split !== 'validation' && values.split !== 'domain') throw new InvalidArgumentError({ argument: '--split', message: `must be validation or domain\n${usage}` });
    const runtime = await openRuntime();
    print(await evaluateSplit({ runtime, modelDirectory: resolve(values.model), corpusDirectory: resolve(values.corpus), split: values.split, signal: controller.signal }));
    break;
  }
  case 'tune-domain': {
    if (values.model === undefined || values['adapter-out'] === undefined) throw new InvalidArgumentError({ argument: firstMissing('model', 'adapter-out'), message: `--model and --adapter-out are required\n${usage}` });
    const runtime = await openRuntime();
    const summary = await tuneDomain({
      runtime,
      baseModelDirectory: resolve(values.model),
      corpusDirectory: resolve(values.corpus),
      outputDirectory: resolve(values.out ?? '.cache/domain-tuning'),
      adapterDirectory: resolve(values['adapter-out']),
      ...(values.steps === undefined ? {} : { steps: numberValue('steps')! }),
      json,
      signal: controller.signal,
    });
    print(summary);
    break;
  }
  case 'api-sets': {
    const seed = numberValue('seed')!;
    const started = performance.now();
    const sets = await buildApiCompletionSets({ resolveFrom: process.cwd(), seed, signal: controller.signal });
    const manifest = await writeApiCompletionSets(sets, resolve(values.out ?? 'data/api-completion'), seed);
    print({ ...manifest, seconds: Math.round((performance.now() - started) / 100) / 10 });
    break;
  }
  case 'datastore': {
    if (values.model === undefined || values.out === undefined) throw new InvalidArgumentError({ argument: firstMissing('model', 'out'), message: `--model and --out are required\n${usage}` });
    if (values.selection !== 'node-core' && values.selection !== 'all') throw new InvalidArgumentError({ argument: '--selection', message: `must be node-core or all\n${usage}` });
    const { loadLocalModel } = await import('@codestack/orchestrator/local');
    const runtime = await openRuntime();
    const loaded = await loadLocalModel(resolve(values.model), { runtime });
    try {
      const progress = createProgressReporter({ label: 'datastore', json });
      const summary = await buildCorpusDatastore({
        model: loaded.model,
        tokenizer: loaded.tokenizer,
        corpusDirectory: resolve(values.corpus),
        outputDirectory: resolve(values.out),
        selection: values.selection,
        ...(values['maximum-tokens'] === undefined ? {} : { maximumTokens: numberValue('maximum-tokens')! }),
        onProgress: ({ texts, total, entries }) => progress.update({ completed: texts, fields: { of: total, entries } }),
        signal: controller.signal,
      });
      progress.finish({ entries: summary.entries });
      print(summary);
    } finally {
      loaded.dispose();
    }
    break;
  }
  case 'tune-knn': {
    if (values.model === undefined || values.datastore === undefined) throw new InvalidArgumentError({ argument: firstMissing('model', 'datastore'), message: `--model and --datastore are required\n${usage}` });
    const { loadLocalModel, loadDatastore } = await import('@codestack/orchestrator/local');
    const runtime = await openRuntime();
    const loaded = await loadLocalModel(resolve(values.model), { runtime });
    try {
      const datastore = await loadDatastore(resolve(values.datastore), { model: loaded.model, tokenizer: loaded.tokenizer });
      const progress = createProgressReporter({ label: 'tune-knn', json });
      const choice = await tuneKnnDefaults({
        model: loaded.model,
        tokenizer: loaded.tokenizer,
        setsDirectory: resolve(values.sets),
        datastore,
        corpusDirectory: resolve(values.corpus),
        onProgress: (stage, done, total) => progress.update({ completed: done, fields: { stage, of: total } }),
        signal: controller.signal,
      });
      progress.finish({});
      if (values.out !== undefined) await writeFileAtomic(resolve(values.out), `${JSON.stringify(choice, null, 2)}\n`);
      print(choice);
    } finally {
      loaded.dispose();
    }
    break;
  }
  case 'docs-adapter': {
    if (values.model === undefined || values['adapter-out'] === undefined || values['control-out'] === undefined) throw new InvalidArgumentError({ argument: firstMissing('model', 'adapter-out', 'control-out'), message: `--model, --adapter-out and --control-out are required\n${usage}` });
    const { loadLocalModel } = await import('@codestack/orchestrator/local');
    const retriever = await nodeTypesRetriever();
    const runtime = await openRuntime();
    const loaded = await loadLocalModel(resolve(values.model), { runtime });
    try {
      const started = performance.now();
      const documents = (await readCorpusSplit(resolve(values.corpus), 'train')).filter((document) => coreModuleBindings(document.text).size > 0);
      const examples = await buildDocsConditionedExamples({ tokenizer: loaded.tokenizer, documents, retriever, maximumExamples: numberValue('examples')!, signal: controller.signal });
      const examplesSeconds = Math.round((performance.now() - started) / 100) / 10;
      print({ event: 'examples', examples: examples.length, docsNameTheMember: examples.filter((example) => example.docsNameTheMember).length, seconds: examplesSeconds });
      const steps = numberValue('steps');
      for (const [variant, directory] of [['conditioned', values['adapter-out']], ['control', values['control-out']]] as const) {
        const result = await trainDocsConditionedAdapter({
          model: loaded.model,
          examples,
          variant,
          adapterDirectory: resolve(directory),
          name: variant === 'conditioned' ? 'node-docs' : 'node-docs-control',
          ...(steps === undefined ? {} : { steps }),
          json,
          signal: controller.signal,
        });
        print(result);
      }
    } finally {
      loaded.dispose();
    }
    break;
  }
  case 'evaluate-api': {
    if (values.model === undefined) throw new InvalidArgumentError({ argument: '--model', message: `--model is required\n${usage}` });
    if (values.split !== 'validation' && values.split !== 'test') throw new InvalidArgumentError({ argument: '--split', message: `must be validation or test\n${usage}` });
    const { loadLocalModel, loadDatastore, defaultDatastoreSettings, defaultCacheSettings } = await import('@codestack/orchestrator/local');
    const runtime = await openRuntime();
    const base = await loadLocalModel(resolve(values.model), { runtime });
    const adapted = values.adapter === undefined ? undefined : await loadLocalModel(resolve(values.model), { runtime, adapter: resolve(values.adapter) });
    const control = values.control === undefined ? undefined : await loadLocalModel(resolve(values.model), { runtime, adapter: resolve(values.control) });
    try {
      const datastore = values.datastore === undefined ? undefined : await loadDatastore(resolve(values.datastore), { model: base.model, tokenizer: base.tokenizer });
      const retriever = await nodeTypesRetriever();
      const all: ApiTableConfiguration[] = [
        { name: 'base', model: base.model },
        { name: 'docs', model: base.model, docs: true },
        ...(datastore ? [{ name: 'datastore', model: base.model, datastore: defaultDatastoreSettings }] : []),
        { name: 'cache', model: base.model, cache: defaultCacheSettings },
        ...(datastore ? [{ name: 'datastore+cache', model: base.model, datastore: defaultDatastoreSettings, cache: defaultCacheSettings }] : []),
        { name: 'docs+cache', model: base.model, docs: true, cache: defaultCacheSettings },
        ...(adapted ? [{ name: 'adapter+docs', model: adapted.model, docs: true }, { name: 'adapter+docs+cache', model: adapted.model, docs: true, cache: defaultCacheSettings }] : []),
        ...(control
          ? [
              { name: 'control', model: control.model },
              { name: 'control+docs', model: control.model, docs: true },
              { name: 'control+docs+cache', model: control.model, docs: true, cache: defaultCacheSettings },
            ]
          : []),
      ];
      const wanted = values.configurations?.split(',');
      const configurations = wanted === undefined ? all : all.filter((configuration) => wanted.includes(configuration.name));
      const progress = createProgressReporter({ label: 'evaluate-api', json });
      const bitsPerByteTokens = numberValue('bits-per-byte-tokens')!;
      const table = await runApiCompletionTable({
        tokenizer: base.tokenizer,
        setsDirectory: resolve(values.sets),
        split: values.split,
        configurations,
        retriever,
        ...(datastore ? { datastore } : {}),
        ...(bitsPerByteTokens > 0 ? { bitsPerByte: { model: base.model, settings: defaultDatastoreSettings, cache: defaultCacheSettings, maximumTokens: bitsPerByteTokens } } : {}),
        onProgress: (name, done, total) => progress.update({ completed: done, fields: { configuration: name, of: total } }),
        signal: controller.signal,
      });
      progress.finish({});
      const summary = { split: values.split, datastoreSettings: defaultDatastoreSettings, cacheSettings: defaultCacheSettings, ...table };
      if (values.out !== undefined) await writeFileAtomic(resolve(values.out), `${JSON.stringify(summary, null, 2)}\n`);
      print({ ...summary, rows: summary.rows.map(({ results: _results, ...row }) => row) });
    } finally {
      base.dispose();
      adapted?.dispose();
      control?.dispose();
    }
    break;
  }
  default:
    process.stderr.write(`${usage}\n`);
    process.exitCode = 2;
}
