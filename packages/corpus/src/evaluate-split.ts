import { join } from 'node:path';
import { loadModel, type Runtime } from '@codestack/runtime';
import { loadCompactVocabulary } from '@codestack/tokenizer';
import { evaluatePerplexity } from '@codestack/tuning';
import { readCorpusSplit, type CorpusSplit } from './collect-corpus.js';
import { encodeDocument } from './prepare-training-data.js';

/** Options of {@link evaluateSplit}. */
export interface EvaluateSplitOptions {
  runtime: Runtime;
  /** An exported model directory (with its `vocabulary.json`). */
  modelDirectory: string;
  /** A collected corpus. */
  corpusDirectory: string;
  /** The split to measure over, whole. */
  split: CorpusSplit;
  /** Positions per window. Default the model's context. */
  sequenceLength?: number;
  signal?: AbortSignal;
}

/**
 * Held-out loss and bits per byte of a model over a whole corpus split, each file framed by BOS
 * and EOS as in training. (The trainer's periodic evaluation reads only the split's first batches.)
 */
export async function evaluateSplit(options: EvaluateSplitOptions): Promise<{ split: CorpusSplit; files: number; tokens: number; bytes: number; loss: number; bitsPerByte: number }> {
  const documents = await readCorpusSplit(options.corpusDirectory, options.split);
  const vocabulary = await loadCompactVocabulary(join(options.modelDirectory, 'vocabulary.json'));
  const sequences = documents.map((document) => encodeDocument(vocabulary, document.text));
  const bytes = documents.reduce((total, document) => total + Buffer.byteLength(document.text), 0);
  const model = await loadModel(options.runtime, options.modelDirectory);
  try {
    const result = await evaluatePerplexity({
      model,
      data: { sequences },
      byteCount: bytes,
      sequenceLength: options.sequenceLength ?? model.config.maximumContext,
      batchSize: 8,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { split: options.split, files: documents.length, tokens: result.tokens, bytes, loss: result.loss, bitsPerByte: result.bitsPerByte ?? Number.NaN };
  } finally {
    model.dispose();
  }
}
