import { InvalidArgumentError } from '@codestack/core';

/** A prompt→completion pair of token ids; the loss covers the completion only. */
export interface PromptCompletionPair {
  /** The prompt's token ids (context, not learned). */
  prompt: readonly number[];
  /** The completion's token ids (learned). */
  completion: readonly number[];
}

/**
 * Training or evaluation data: a code corpus as token sequences (each a document, cut into
 * windows; every next token is learned), or prompt→completion pairs (the loss is masked to the
 * completion tokens).
 */
export type TokenData = { sequences: readonly (readonly number[])[] } | { pairs: readonly PromptCompletionPair[] };

/** One fixed-length window: input ids, target ids and a 0/1 loss mask, all of `sequenceLength`. */
export interface TokenWindow {
  /** Input ids (padded with 0). */
  inputs: Int32Array;
  /** The next token at each position (0 where masked). */
  targets: Int32Array;
  /** 1 where the position's target counts toward the loss. */
  mask: Float32Array;
}

/**
 * Cuts data into windows of `sequenceLength` positions. Sequences are split into consecutive
 * non-overlapping windows (the last one padded and masked); a pair is truncated to
 * `sequenceLength + 1` tokens with the mask on completion targets. Throws
 * {@link InvalidArgumentError} for token ids outside `[0, vocabularySize)`, malformed data, or
 * data without a single target.
 */
export function buildWindows(data: TokenData, sequenceLength: number, vocabularySize: number): TokenWindow[] {
  if (!Number.isInteger(sequenceLength) || sequenceLength < 1) {
    throw new InvalidArgumentError({ argument: 'sequenceLength', message: `expected a positive integer, got ${JSON.stringify(sequenceLength)}` });
  }
  const check = (tokens: readonly number[], where: string): void => {
    if (!Array.isArray(tokens)) throw new InvalidArgumentError({ argument: 'data', message: `${where} is not an array of token ids` });
    for (const id of tokens) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabularySize) {
        throw new InvalidArgumentError({ argument: 'data', message: `${where} holds token id ${JSON.stringify(id)} outside [0, ${vocabularySize})` });
      }
    }
  };
  const windows: TokenWindow[] = [];
  const push = (tokens: readonly number[], start: number, firstLearned: number): void => {
    const inputs = new Int32Array(sequenceLength);
    const targets = new Int32Array(sequenceLength);
    const mask = new Float32Array(sequenceLength);
    let learned = 0;
    for (let position = 0; position < sequenceLength && start + position + 1 < tokens.length; position++) {
      inputs[position] = tokens[start + position] as number;
      targets[position] = tokens[start + position + 1] as number;
      if (start + position + 1 >= firstLearned) {
        mask[position] = 1;
        learned++;
      }
    }
    if (learned > 0) windows.push({ inputs, targets, mask });
  };
  if (typeof data === 'object' && data !== null && 'sequences' in data) {
    if (!Array.isArray(data.sequences)) throw new InvalidArgumentError({ argument: 'data.sequences', message: 'expected an array of token id arrays' });
    data.sequences.forEach((sequence, index) => {
      check(sequence, `data.sequences[${index}]`);
      for (let start = 0; start + 1 < sequence.length; start += sequenceLength) push(sequence, start, 0);
    });
  } else if (typeof data === 'object' && data !== null && 'pairs' in data) {
    if (!Array.isArray(data.pairs)) throw new InvalidArgumentError({ argument: 'data.pairs', message: 'expected an array of { prompt, completion }' });
    data.pairs.forEach((pair, index) => {
      check(pair?.prompt, `data.pairs[${index}].prompt`);
      check(pair?.completion, `data.pairs[${index}].completion`);
      if (pair.prompt.length === 0 || pair.completion.length === 0) {
        throw new InvalidArgumentError({ argument: 'data.pairs', message: `pair ${index} needs a non-empty prompt and completion` });
      }
      push([...pair.prompt, ...pair.completion], 0, pair.prompt.length);
    });
  } else {
    throw new InvalidArgumentError({ argument: 'data', message: 'expected { sequences } or { pairs }' });
  }
  if (windows.length === 0) throw new InvalidArgumentError({ argument: 'data', message: 'the data holds no token to predict' });
  return windows;
}
