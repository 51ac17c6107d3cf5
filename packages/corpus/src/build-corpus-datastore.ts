import { buildDatastore, saveDatastore, type DatastoreProgress } from '@codestack/orchestrator/local';
import type { Tokenizer } from '@codestack/core';
import type { LlamaModel } from '@codestack/runtime';
import { coreModuleBindings } from './api-completion-sets.js';
import { readCorpusSplit } from './collect-corpus.js';

/** Options of {@link buildCorpusDatastore}. */
export interface BuildCorpusDatastoreOptions {
  model: LlamaModel;
  tokenizer: Tokenizer;
  /** A collected corpus; its `train` split is read. */
  corpusDirectory: string;
  /** Where the datastore is written (atomically). */
  outputDirectory: string;
  /**
   * Which training files go in. `node-core` (default): the files that bind a Node core module
   * (`require('fs')`, `import path from 'node:path'`, …), the code in the corpus that calls the
   * APIs the held-out sets ask for; `all`: every training file (7.1M tokens; about two hours here).
   */
  selection?: 'node-core' | 'all';
  /** Stop adding files once so many tokens are stored. Default unlimited. */
  maximumTokens?: number;
  onProgress?: (progress: DatastoreProgress) => void;
  signal?: AbortSignal;
}

/** What {@link buildCorpusDatastore} built. */
export interface CorpusDatastoreSummary {
  files: number;
  packages: string[];
  entries: number;
  bytesPerToken: number;
  seconds: number;
}

/**
 * The corpus datastore of the kNN-LM: runs the model over training files (never validation,
 * domain or held-out packages) with `buildDatastore` of the orchestrator and saves it, bound to the
 * model's weights and tokenizer. Deterministic: files in corpus order.
 */
export async function buildCorpusDatastore(options: BuildCorpusDatastoreOptions): Promise<CorpusDatastoreSummary> {
  const started = performance.now();
  const documents = await readCorpusSplit(options.corpusDirectory, 'train');
  const selected = (options.selection ?? 'node-core') === 'all' ? documents : documents.filter((document) => coreModuleBindings(document.text).size > 0);
  const texts: string[] = [];
  const packages = new Set<string>();
  let tokens = 0;
  for (const document of selected) {
    if (options.maximumTokens !== undefined && tokens >= options.maximumTokens) break;
    texts.push(document.text);
    packages.add(document.package);
    tokens += options.tokenizer.countTokens(document.text);
  }
  const datastore = await buildDatastore({
    model: options.model,
    tokenizer: options.tokenizer,
    texts,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  await saveDatastore(datastore, options.outputDirectory);
  return { files: texts.length, packages: [...packages], entries: datastore.size, bytesPerToken: datastore.bytesPerToken, seconds: Math.round((performance.now() - started) / 100) / 10 };
}
