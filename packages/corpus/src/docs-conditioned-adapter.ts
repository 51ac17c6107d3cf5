import { createHash } from 'node:crypto';
import type { Retriever, Tokenizer } from '@codestack/core';
import { throwIfAborted } from '@codestack/core';
import { buildCodeCompletionPrompt } from '@codestack/orchestrator';
import type { LlamaModel } from '@codestack/runtime';
import { Adapter, adapterFileSize, saveAdapter, trainAdapter, type LoraConfig, type PromptCompletionPair } from '@codestack/tuning';
import { fileApiCases } from './api-completion-sets.js';
import type { CorpusDocument } from './collect-corpus.js';

/** One training example of the docs-conditioned adapter and of its control. */
export interface DocsConditionedExample {
  /** Docs then code: the docs tokens are the prompt (not learned), the code tokens the completion. */
  conditioned: PromptCompletionPair;
  /** The same code tokens without the docs (its first token as the prompt). */
  control: PromptCompletionPair;
  /** Whether the retrieved docs name the member the code goes on to use. */
  docsNameTheMember: boolean;
}

/** Options of {@link buildDocsConditionedExamples}. */
export interface BuildDocsConditionedExamplesOptions {
  tokenizer: Tokenizer;
  /** Training files (never validation or held-out packages). */
  documents: readonly CorpusDocument[];
  /** The docs retriever the completion prompt uses (`@types/node`). */
  retriever: Retriever;
  /** Prompt tokens, as the evaluation builds them. Default 224. */
  maximumPromptTokens?: number;
  /** Code tokens after the cursor appended to each example. Default 24. */
  continuationTokens?: number;
  /** Examples drawn per file. Default 40. */
  examplesPerFile?: number;
  /** At most so many examples (a seeded sample). Default 2,000. */
  maximumExamples?: number;
  seed?: number;
  signal?: AbortSignal;
}

/**
 * Training examples for a docs-conditioned adapter: at every Node core module member call of the
 * training files (`fs` + `.readFileSync(…)`), the completion prompt exactly as
 * `buildCodeCompletionPrompt` renders it with the retriever (docs as `//` comments, then the code
 * before the cursor) followed by the code after the cursor. The loss covers the code only; the
 * control example holds the very same code tokens without the docs, so the two adapters differ
 * only in the conditioning.
 */
export async function buildDocsConditionedExamples(options: BuildDocsConditionedExamplesOptions): Promise<DocsConditionedExample[]> {
  const { tokenizer } = options;
  const continuationTokens = options.continuationTokens ?? 24;
  const seed = options.seed ?? 1;
  const drawn: { document: CorpusDocument; prefix: string; rank: number }[] = [];
  for (const document of options.documents) {
    for (const testCase of await fileApiCases(document.text, document.path, { casesPerFile: options.examplesPerFile ?? 40, maximumPrefixCharacters: 4000 })) {
      const rank = createHash('sha256').update(`${seed}:${document.package}/${testCase.path}`).digest().readUInt32BE(0);
      drawn.push({ document, prefix: testCase.prefix, rank });
    }
  }
  drawn.sort((left, right) => left.rank - right.rank);
  const examples: DocsConditionedExample[] = [];
  for (const { document, prefix } of drawn.slice(0, options.maximumExamples ?? 2000)) {
    throwIfAborted(options.signal, 'docs-conditioned examples');
    const { prompt, documents } = await buildCodeCompletionPrompt({
      prefix,
      tokenizer,
      maximumPromptTokens: options.maximumPromptTokens ?? 224,
      retriever: options.retriever,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (documents === '') continue;
    // The code after the cursor, as many whole tokens as asked.
    const after = document.text.slice(document.text.indexOf(prefix.slice(-200)) + prefix.slice(-200).length);
    const continuation = tokenizer.decode(tokenizer.encode(after.slice(0, continuationTokens * 8)).slice(0, continuationTokens));
    const full = tokenizer.encode(prompt + continuation);
    // The docs part: the shortest run of tokens whose text covers the rendered docs.
    let split = 0;
    while (split < full.length && tokenizer.decode(full.slice(0, split)).length < documents.length) split += 1;
    if (split === 0 || split >= full.length - 1) continue;
    const member = /^\.([\w$]+)/.exec(continuation)?.[1];
    examples.push({
      conditioned: { prompt: full.slice(0, split), completion: full.slice(split) },
      control: { prompt: full.slice(split, split + 1), completion: full.slice(split + 1) },
      docsNameTheMember: member !== undefined && new RegExp(`\\b${member.replace(/\$/g, '\\$')}\\b`).test(documents),
    });
  }
  return examples;
}

/** Options of {@link trainDocsConditionedAdapter}. */
export interface TrainDocsConditionedAdapterOptions {
  model: LlamaModel;
  examples: readonly DocsConditionedExample[];
  /** `conditioned` trains on docs then code; `control` on the same code alone. */
  variant: 'conditioned' | 'control';
  /** Where the adapter is saved (PEFT files). */
  adapterDirectory: string;
  name: string;
  /** Optimizer steps. Default 200. */
  steps?: number;
  batchSize?: number;
  learningRate?: number;
  lora?: LoraConfig;
  json?: boolean;
  signal?: AbortSignal;
}

/** What {@link trainDocsConditionedAdapter} did. */
export interface DocsConditionedAdapterResult {
  variant: 'conditioned' | 'control';
  examples: number;
  steps: number;
  trainingSeconds: number;
  fileBytes: number;
}

/**
 * Trains a LoRA adapter on the middle layers of the frozen `model` on the examples' conditioned
 * (docs, then code; loss on the code) or control (code alone) pairs, with the same seed, steps,
 * batch and learning rate either way, and saves it (f16 tensors).
 */
export async function trainDocsConditionedAdapter(options: TrainDocsConditionedAdapterOptions): Promise<DocsConditionedAdapterResult> {
  const steps = options.steps ?? 200;
  const lora: LoraConfig = options.lora ?? { method: 'lora', r: 16, alpha: 32, dropout: 0.05, targetModules: 'all-linear', layers: 'middle' };
  const adapter = Adapter.create(options.model, lora, { seed: 1, name: options.name });
  try {
    const trained = await trainAdapter({
      model: options.model,
      adapter,
      data: { pairs: options.examples.map((example) => example[options.variant]) },
      steps,
      batchSize: options.batchSize ?? 4,
      sequenceLength: options.model.config.maximumContext,
      warmupSteps: Math.ceil(steps / 10),
      learningRate: options.learningRate ?? 3e-3,
      seed: 1,
      json: options.json ?? false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await saveAdapter(adapter, options.model, options.adapterDirectory, { dtype: 'F16' });
    return { variant: options.variant, examples: options.examples.length, steps, trainingSeconds: trained.seconds, fileBytes: await adapterFileSize(options.adapterDirectory) };
  } finally {
    adapter.dispose();
  }
}
