import { describe, expect, it } from 'vitest';
import { AbortedError, InvalidArgumentError, type Tokenizer } from '@codestack/core';
import { createRuntime, type BackendName } from '../backend/runtime.js';
import { LlamaModel } from '../model/llama-model.js';
import { createLogitsProcessors, generate, generateTokens, streamGenerate } from './generate.js';
import { KnnLogitsProcessor } from './knn-logits-processor.js';
import { TopKProcessor } from './logits-processors.js';
import type { LogitsProcessor } from './logits-processors.js';
import { buildFillInTheMiddlePrompt } from './fill-in-the-middle.js';
import { tinyConfig } from '../__fixtures__/test-configs.js';

/** A small real tokenizer: every id decodes to a fixed piece of text (some pieces span characters). */
const pieces = Array.from({ length: 48 }, (_, id) => (id < 26 ? String.fromCharCode(97 + id) : id < 36 ? `<${id}>` : ` ${String.fromCharCode(65 + id - 36)}`));
pieces[40] = 'en';
pieces[41] = 'd;';
const pieceTokenizer: Tokenizer = {
  encodingName: 'pieces',
  encode: (text) => [...text].map((character) => pieces.indexOf(character)),
  decode: (ids) => ids.map((id) => pieces[id] ?? '').join(''),
  countTokens: (text) => [...text].length,
};

/** Forces a scripted sequence of tokens (a real processor in the pipeline, used to drive stop logic). */
class ScriptedProcessor implements LogitsProcessor {
  private step = 0;
  constructor(private readonly script: number[]) {}
  process(logits: Float32Array): void {
    const forced = this.script[this.step++ % this.script.length]!;
    logits.fill(-Infinity);
    logits[forced] = 0;
  }
}

for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  describe(`generation on ${backend}`, () => {
    it('greedy decoding equals the argmax of the full forward, with and without cache, batch 1 and 2, and leaks nothing', async () => {
      const runtime = await createRuntime({ backend });
      const { tf } = runtime;
      const model = LlamaModel.create(runtime, tinyConfig, { seed: 11, initializerRange: 0.3 });
      const prompts = [
        [1, 2, 3],
        [7, 7, 9],
      ];
      const expected = prompts.map((prompt) => {
        const ids = [...prompt];
        for (let step = 0; step < 6; step++) {
          const logits = model.logits([ids]);
          const last = tf.tidy(() => tf.argMax(tf.reshape(tf.slice(logits, [0, ids.length - 1, 0], [1, 1, 48]), [48])).dataSync()[0]!);
          logits.dispose();
          ids.push(last);
        }
        return ids.slice(prompt.length);
      });
      const before = tf.memory().numTensors;
      const cached = await generate(model, prompts, { maximumNewTokens: 6 });
      const uncached = await generate(model, prompts, { maximumNewTokens: 6, useCache: false });
      const single = await generate(model, [prompts[1]!], { maximumNewTokens: 6 });
      expect(tf.memory().numTensors).toBe(before);
      expect(cached.map((result) => result.tokens)).toEqual(expected);
      expect(uncached.map((result) => result.tokens)).toEqual(expected);
      expect(single[0]!.tokens).toEqual(expected[1]);
      expect(cached[0]!.finishReason).toBe('length');
      model.dispose();
    });

    it('samples reproducibly from a seed, and topK 1 / tiny topP reduce to greedy', async () => {
      const runtime = await createRuntime({ backend });
      const model = LlamaModel.create(runtime, tinyConfig, { seed: 5, initializerRange: 0.3 });
      const prompt = [[4, 8, 15]];
      const options = { maximumNewTokens: 16, temperature: 1.5, seed: 42 };
      const first = await generate(model, prompt, options);
      const again = await generate(model, prompt, options);
      const other = await generate(model, prompt, { ...options, seed: 43 });
      expect(again[0]!.tokens).toEqual(first[0]!.tokens);
      expect(other[0]!.tokens).not.toEqual(first[0]!.tokens);
      const greedy = await generate(model, prompt, { maximumNewTokens: 8 });
      expect((await generate(model, prompt, { maximumNewTokens: 8, temperature: 2, topK: 1, seed: 9 }))[0]!.tokens).toEqual(greedy[0]!.tokens);
      expect((await generate(model, prompt, { maximumNewTokens: 8, temperature: 2, topP: 1e-6, seed: 9 }))[0]!.tokens).toEqual(greedy[0]!.tokens);
      const penalised = await generate(model, prompt, { maximumNewTokens: 16, repetitionPenalty: 1e6 });
      expect(new Set([...prompt[0]!, ...penalised[0]!.tokens]).size).toBe(prompt[0]!.length + 16);
      model.dispose();
    });
  });
}

describe('generation control', () => {
  it('stops on a stop sequence that spans token boundaries and never streams the stop text', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const model = LlamaModel.create(runtime, tinyConfig);
    // tokens: "x" "y" "en" "d;" "z" -> text "xyend;z"; the stop sequence "end" spans "en" + "d;"
    const script = [23, 24, 40, 41, 25];
    const chunks: string[] = [];
    const stream = streamGenerate(model, [1], { tokenizer: pieceTokenizer, stopSequences: ['end'], logitsProcessors: [new ScriptedProcessor(script)], maximumNewTokens: 10 });
    let result;
    for (;;) {
      const next = await stream.next();
      if (next.done === true) {
        result = next.value;
        break;
      }
      chunks.push(next.value.text);
    }
    expect(result.finishReason).toBe('stop-sequence');
    expect(result.text).toBe('xy');
    expect(result.tokens).toEqual([23, 24, 40, 41]);
    // "en" was held back because it could start "end"; nothing after the match was streamed.
    expect(chunks).toEqual(['x', 'y', '', '']);
    expect(chunks.join('')).toBe(result.text);
    model.dispose();
  });

  it('streams held-back text once it can no longer start a stop sequence, and stops on end-of-sequence ids', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const model = LlamaModel.create(runtime, tinyConfig);
    const chunks: string[] = [];
    const stream = streamGenerate(model, [1], {
      tokenizer: pieceTokenizer,
      stopSequences: ['end'],
      endOfSequenceIds: [47],
      logitsProcessors: [new ScriptedProcessor([40, 0, 47])],
    });
    for await (const chunk of stream) chunks.push(chunk.text);
    expect(chunks).toEqual(['', 'ena', ' L']);
    const [result] = await generate(model, [[1]], { endOfSequenceIds: [47], logitsProcessors: [new ScriptedProcessor([40, 0, 47])], maximumNewTokens: 10 });
    expect(result!.finishReason).toBe('end-of-sequence');
    expect(result!.tokens).toEqual([40, 0, 47]);
    model.dispose();
  });

  it('aborts through an AbortSignal, also mid-stream, and releases every tensor', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const model = LlamaModel.create(runtime, tinyConfig);
    const before = runtime.tf.memory().numTensors;
    const controller = new AbortController();
    let seen = 0;
    await expect(
      (async () => {
        for await (const _chunk of streamGenerate(model, [1, 2], { maximumNewTokens: 50, signal: controller.signal })) {
          seen++;
          if (seen === 3) controller.abort();
        }
      })(),
    ).rejects.toSatisfy((error: unknown) => AbortedError.isInstance(error));
    expect(seen).toBe(3);
    expect(runtime.tf.memory().numTensors).toBe(before);
    // breaking out of the loop early also releases the cache
    for await (const _chunk of generateTokens(model, [[1, 2]], { maximumNewTokens: 50 })) break;
    expect(runtime.tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('refuses bad options with typed errors without leaking', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const model = LlamaModel.create(runtime, tinyConfig);
    const before = runtime.tf.memory().numTensors;
    const attempts: [number[][], object, string][] = [
      [[[1]], { temperature: -1 }, 'temperature'],
      [[[1]], { topK: 0 }, 'topK'],
      [[[1]], { topP: 1.5 }, 'topP'],
      [[[1]], { maximumNewTokens: 0 }, 'maximumTokens'],
      [[[1]], { stopSequences: ['x'] }, 'tokenizer'],
      [[[1]], { repetitionPenalty: 0 }, 'repetitionPenalty'],
      [[[1, 2], [3]], {}, 'prompts'],
      [[[99]], {}, 'prompts'],
      [[Array.from({ length: 64 }, () => 1)], {}, 'prompts'],
    ];
    for (const [prompts, options, argument] of attempts) {
      let caught: unknown;
      try {
        await generate(model, prompts, options);
      } catch (error) {
        caught = error;
      }
      expect(InvalidArgumentError.isInstance(caught), argument).toBe(true);
      expect((caught as InvalidArgumentError).argument).toBe(argument);
    }
    expect(runtime.tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('runs mixingProcessors (the kNN-LM) before top-k, so top-k filters the mixed distribution', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const model = LlamaModel.create(runtime, tinyConfig, { seed: 5, initializerRange: 0.3 });
    const prompt = [4, 8, 15];
    const [greedy] = await generate(model, [prompt], { maximumNewTokens: 1 });
    const modelTop = greedy!.tokens[0]!;
    const neighbour = (modelTop + 1) % 48;
    const datastore = { search: () => [{ token: neighbour, distance: 0 }] };
    const argmax = (values: ArrayLike<number>): number => {
      let best = 0;
      for (let index = 1; index < values.length; index++) if ((values[index] as number) > (values[best] as number)) best = index;
      return best;
    };
    /** Sampled tokens and, per step, the argmax of the mixed distribution of the raw logits. */
    const run = async (lambda: number, where: 'mixingProcessors' | 'logitsProcessors', seed: number): Promise<{ tokens: number[]; mixedTop: number[] }> => {
      const processor = new KnnLogitsProcessor(datastore, { lambda, k: 1 });
      const mixedTop: number[] = [];
      const [result] = await generate(model, [prompt], {
        maximumNewTokens: 12,
        temperature: 1.5,
        topK: 1,
        seed,
        [where]: [processor],
        onStep: ({ logits, hiddenState }) => mixedTop.push(argmax(processor.probabilities(Float32Array.from(logits), Float32Array.from(hiddenState)))),
      });
      return { tokens: result!.tokens, mixedTop };
    };
    // Mixed first, the neighbour's token (not the model's top token) becomes the argmax top-k keeps.
    const strong = await run(0.6, 'mixingProcessors', 1);
    expect(strong.tokens[0]).toBe(neighbour);
    expect(strong.tokens[0]).not.toBe(modelTop);
    // With top-k 1 every sampled token is the top of the mixed distribution, whatever the seed.
    for (const seed of [1, 2, 3, 4]) {
      const weak = await run(0.3, 'mixingProcessors', seed);
      expect(weak.tokens).toEqual(weak.mixedTop);
    }
    // Run after top-k (logitsProcessors keeps that meaning), the mixing brings cut tokens back.
    const after = await Promise.all([1, 2, 3, 4].map((seed) => run(0.3, 'logitsProcessors', seed)));
    expect(after.some(({ tokens, mixedTop }) => tokens.some((token, index) => token !== mixedTop[index]))).toBe(true);
    const order = createLogitsProcessors({ topK: 2, mixingProcessors: [new KnnLogitsProcessor(datastore)], logitsProcessors: [new KnnLogitsProcessor(datastore)] });
    expect(order.map((processor) => processor.constructor)).toEqual([KnnLogitsProcessor, TopKProcessor, KnnLogitsProcessor]);
    model.dispose();
  });

  it('stops at the maximum context', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const model = LlamaModel.create(runtime, tinyConfig);
    const [result] = await generate(model, [Array.from({ length: 60 }, () => 3)], { maximumNewTokens: 10 });
    expect(result!.tokens).toHaveLength(4);
    expect(result!.finishReason).toBe('context');
    model.dispose();
  });

  it('builds fill-in-the-middle prompts in PSM order', () => {
    expect(buildFillInTheMiddlePrompt([5, 6], [7], { prefixTokenId: 45, suffixTokenId: 46, middleTokenId: 47 })).toEqual([45, 5, 6, 46, 7, 47]);
    expect(() => buildFillInTheMiddlePrompt([], [], { prefixTokenId: -1, suffixTokenId: 1, middleTokenId: 2 })).toThrow(InvalidArgumentError);
  });
});
