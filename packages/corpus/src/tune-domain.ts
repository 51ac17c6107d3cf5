import { createHash } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '@codestack/core';
import { loadModel, saveModel, type Runtime } from '@codestack/runtime';
import { loadCompactVocabulary } from '@codestack/tokenizer';
import { Adapter, adapterFileSize, evaluatePerplexity, fineTuneModel, saveAdapter, trainAdapter, type LoraConfig, type PerplexityResult } from '@codestack/tuning';
import { readCorpusSplit, type CorpusDocument } from './collect-corpus.js';
import { encodeDocument } from './prepare-training-data.js';

/** The domain's files split for tuning: whole modules go to one side. */
export interface DomainSplit {
  /** Files the adapter and the fine-tune learn from. */
  train: CorpusDocument[];
  /** Files only evaluated on. */
  heldOut: CorpusDocument[];
}

/**
 * The module a file belongs to: its name without directories and extensions. A package ships the
 * same module as `src/x.ts`, `dist/esm/x.js` and `dist/cjs/x.js`; keying by the module keeps all
 * of its builds on one side of the split, so held-out files are not near-copies of trained ones.
 */
export function moduleKey(path: string): string {
  return basename(path).replace(/(\.d)?\.[cm]?[jt]sx?$/, '').toLowerCase();
}

/** Splits a domain's files by module, deterministically: a module is held out when its hash falls under `heldOutShare`. */
export function splitDomainByModule(documents: readonly CorpusDocument[], heldOutShare = 0.15): DomainSplit {
  const split: DomainSplit = { train: [], heldOut: [] };
  for (const document of documents) {
    const digest = createHash('sha256').update(`${document.package}/${moduleKey(document.path)}`).digest();
    (digest.readUInt32BE(0) / 2 ** 32 < heldOutShare ? split.heldOut : split.train).push(document);
  }
  return split;
}

/** Options of {@link tuneDomain}. */
export interface TuneDomainOptions {
  runtime: Runtime;
  /** The exported base model (`config.json`, `model.safetensors`, `vocabulary.json`). */
  baseModelDirectory: string;
  /** A collected corpus; its `domain` split is the domain. */
  corpusDirectory: string;
  /** Receives the split (`domain-train.jsonl`, `domain-held-out.jsonl`), the full fine-tune and the summary. */
  outputDirectory: string;
  /** Where the trained adapter is saved (PEFT files). */
  adapterDirectory: string;
  /** The adapter's name. Default: the domain package's name. */
  adapterName?: string;
  /** Optimizer steps of each method (adapter and full fine-tune run the same). Default 300. */
  steps?: number;
  batchSize?: number;
  sequenceLength?: number;
  /** The LoRA configuration. Default rank 16, alpha 32, all linear projections of the middle layers. */
  lora?: LoraConfig;
  adapterLearningRate?: number;
  fineTuneLearningRate?: number;
  /** Held-out share of the domain's modules. Default 0.15. */
  heldOutShare?: number;
  json?: boolean;
  signal?: AbortSignal;
}

/** One method's figures on the held-out domain files. */
export interface DomainMethodResult {
  loss: number;
  bitsPerByte: number;
  trainableParameters: number;
  trainingSeconds: number;
  trainingTokensPerSecond: number;
}

/** What {@link tuneDomain} measured: base, adapter and full fine-tune on the same held-out files. */
export interface DomainTuningSummary {
  domain: string;
  split: { trainFiles: number; trainTokens: number; heldOutFiles: number; heldOutTokens: number; heldOutBytes: number };
  steps: number;
  batchSize: number;
  sequenceLength: number;
  lora: LoraConfig;
  base: { loss: number; bitsPerByte: number };
  adapter: DomainMethodResult & { fileBytes: number };
  fullFineTune: DomainMethodResult;
}

function figures(result: PerplexityResult): { loss: number; bitsPerByte: number } {
  return { loss: result.loss, bitsPerByte: result.bitsPerByte ?? Number.NaN };
}

/**
 * The demonstration of adapter tuning on a domain the base never saw: splits the corpus's domain
 * split by module, trains a LoRA adapter on the frozen base and, as the baseline, fine-tunes a
 * second copy of the base fully with the same data, steps and batch; then measures held-out loss
 * and bits per byte of base, adapter and full fine-tune. Writes the adapter, the fine-tuned model
 * (f16, with the vocabulary) and `domain-tuning-summary.json`.
 */
export async function tuneDomain(options: TuneDomainOptions): Promise<DomainTuningSummary> {
  const steps = options.steps ?? 300;
  const batchSize = options.batchSize ?? 4;
  const sequenceLength = options.sequenceLength ?? 256;
  const lora: LoraConfig = options.lora ?? { method: 'lora', r: 16, alpha: 32, dropout: 0.05, targetModules: 'all-linear', layers: 'middle' };
  const documents = await readCorpusSplit(options.corpusDirectory, 'domain');
  const domain = [...new Set(documents.map((document) => document.package))].join('+');
  const split = splitDomainByModule(documents, options.heldOutShare);
  await mkdir(options.outputDirectory, { recursive: true });
  const jsonl = (rows: CorpusDocument[]): string => rows.map((row) => `${JSON.stringify(row)}\n`).join('');
  await writeFileAtomic(join(options.outputDirectory, 'domain-train.jsonl'), jsonl(split.train));
  await writeFileAtomic(join(options.outputDirectory, 'domain-held-out.jsonl'), jsonl(split.heldOut));

  const vocabulary = await loadCompactVocabulary(join(options.baseModelDirectory, 'vocabulary.json'));
  const train = { sequences: split.train.map((document) => encodeDocument(vocabulary, document.text)) };
  const heldOut = { sequences: split.heldOut.map((document) => encodeDocument(vocabulary, document.text)) };
  const heldOutBytes = split.heldOut.reduce((total, document) => total + Buffer.byteLength(document.text), 0);
  const count = (data: { sequences: number[][] }): number => data.sequences.reduce((total, sequence) => total + sequence.length, 0);
  const evaluate = (model: Parameters<typeof evaluatePerplexity>[0]['model'], adapter?: Adapter) =>
    evaluatePerplexity({ model, data: heldOut, byteCount: heldOutBytes, sequenceLength, batchSize: 8, ...(adapter ? { adapter } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const training = { steps, batchSize, sequenceLength, warmupSteps: Math.ceil(steps / 10), seed: 1, json: options.json ?? false, ...(options.signal ? { signal: options.signal } : {}) };

  const model = await loadModel(options.runtime, options.baseModelDirectory);
  let base: PerplexityResult;
  let adapterResult: DomainTuningSummary['adapter'];
  try {
    base = await evaluate(model);
    const adapter = Adapter.create(model, lora, { seed: 1, name: options.adapterName ?? domain });
    try {
      const trained = await trainAdapter({ ...training, model, adapter, data: train, learningRate: options.adapterLearningRate ?? 3e-3 });
      const measured = await evaluate(model, adapter);
      await saveAdapter(adapter, model, options.adapterDirectory);
      adapterResult = {
        ...figures(measured),
        trainableParameters: trained.trainableParameters,
        trainingSeconds: trained.seconds,
        trainingTokensPerSecond: trained.tokensPerSecond,
        fileBytes: await adapterFileSize(options.adapterDirectory),
      };
    } finally {
      adapter.dispose();
    }
  } finally {
    model.dispose();
  }

  const fineTuned = await loadModel(options.runtime, options.baseModelDirectory);
  let fullFineTune: DomainMethodResult;
  try {
    const trained = await fineTuneModel({ ...training, model: fineTuned, data: train, learningRate: options.fineTuneLearningRate ?? 1e-3 });
    const measured = await evaluate(fineTuned);
    const directory = join(options.outputDirectory, 'full-fine-tune');
    await saveModel(fineTuned, directory, { dtype: 'F16' });
    await copyFile(join(options.baseModelDirectory, 'vocabulary.json'), join(directory, 'vocabulary.json'));
    fullFineTune = { ...figures(measured), trainableParameters: trained.trainableParameters, trainingSeconds: trained.seconds, trainingTokensPerSecond: trained.tokensPerSecond };
  } finally {
    fineTuned.dispose();
  }

  const summary: DomainTuningSummary = {
    domain,
    split: { trainFiles: split.train.length, trainTokens: count(train), heldOutFiles: split.heldOut.length, heldOutTokens: count(heldOut), heldOutBytes },
    steps,
    batchSize,
    sequenceLength,
    lora,
    base: figures(base),
    adapter: adapterResult,
    fullFineTune,
  };
  await writeFileAtomic(join(options.outputDirectory, 'domain-tuning-summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
