#!/usr/bin/env node
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createProgressReporter } from '@codestack/core';
import { createRuntime } from '@codestack/runtime';
import { collectCorpus } from './collect-corpus.js';
import { corpusPackages, domainPackages, validationPackages } from './corpus-packages.js';
import { prepareTrainingData } from './prepare-training-data.js';
import { exportBaseModel, trainBaseModel } from './train-base-model.js';
import { evaluateSplit } from './evaluate-split.js';
import { tuneDomain } from './tune-domain.js';
import { buildApiCompletionSets, writeApiCompletionSets } from './api-completion-sets.js';

const usage = `usage: model-pipeline <command> [options] [--json]
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
                                                            from installed packages outside the corpus (default data/api-completion)`;

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
    'checkpoint-every': { type: 'string', default: '100' },
    backend: { type: 'string', default: 'auto' },
    seed: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
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
      baseTokenCount: Number(values['base-tokens']),
      progress: createProgressReporter({ label: 'prepare', json }),
      signal: controller.signal,
    });
    print({ vocabulary: manifest.vocabulary, splits: Object.fromEntries(Object.entries(manifest.splits).map(([split, counts]) => [split, { ...counts, shards: counts.shards.length }])) });
    break;
  }
  case 'train': {
    if (values.steps === undefined) throw new Error(`--steps is required\n${usage}`);
    const runtime = await createRuntime({ backend: values.backend as 'auto' });
    print({ event: 'runtime', backend: runtime.backend });
    const result = await trainBaseModel({
      runtime,
      dataDirectory: resolve(values.data),
      runDirectory: resolve(values.run),
      totalSteps: Number(values.steps),
      timeBudgetMinutes: values.minutes === undefined ? undefined : Number(values.minutes),
      maximumStepsNow: values['steps-now'] === undefined ? undefined : Number(values['steps-now']),
      workers: Number(values.workers),
      checkpointEvery: Number(values['checkpoint-every']),
      json,
      signal: controller.signal,
    });
    print(result);
    break;
  }
  case 'export': {
    if (values.out === undefined) throw new Error(`--out is required\n${usage}`);
    const runtime = await createRuntime({ backend: values.backend as 'auto' });
    await exportBaseModel(runtime, resolve(values.run), resolve(values.data), resolve(values.out));
    print({ exported: resolve(values.out) });
    break;
  }
  case 'evaluate': {
    if (values.model === undefined) throw new Error(`--model is required\n${usage}`);
    if (values.split !== 'validation' && values.split !== 'domain') throw new Error(`--split must be validation or domain\n${usage}`);
    const runtime = await createRuntime({ backend: values.backend as 'auto' });
    print(await evaluateSplit({ runtime, modelDirectory: resolve(values.model), corpusDirectory: resolve(values.corpus), split: values.split, signal: controller.signal }));
    break;
  }
  case 'tune-domain': {
    if (values.model === undefined || values['adapter-out'] === undefined) throw new Error(`--model and --adapter-out are required\n${usage}`);
    const runtime = await createRuntime({ backend: values.backend as 'auto' });
    const summary = await tuneDomain({
      runtime,
      baseModelDirectory: resolve(values.model),
      corpusDirectory: resolve(values.corpus),
      outputDirectory: resolve(values.out ?? '.cache/domain-tuning'),
      adapterDirectory: resolve(values['adapter-out']),
      ...(values.steps === undefined ? {} : { steps: Number(values.steps) }),
      json,
      signal: controller.signal,
    });
    print(summary);
    break;
  }
  case 'api-sets': {
    const seed = Number(values.seed);
    const started = performance.now();
    const sets = await buildApiCompletionSets({ resolveFrom: process.cwd(), seed, signal: controller.signal });
    const manifest = await writeApiCompletionSets(sets, resolve(values.out ?? 'data/api-completion'), seed);
    print({ ...manifest, seconds: Math.round((performance.now() - started) / 100) / 10 });
    break;
  }
  default:
    process.stderr.write(`${usage}\n`);
    process.exitCode = 2;
}
