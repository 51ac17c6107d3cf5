import type { LanguageModel, LanguageModelCallOptions, LanguageModelStreamPart } from '@codestack/core';

/**
 * TEST DOUBLE for a capable code model, which cannot run on this machine (it needs a GPU and
 * real weights). It answers with the next of `answers`, streamed in small deltas, and records
 * the prompts it received, so tests can drive the pipeline's repair loop deterministically.
 * Everything else in those tests (type checker, sandbox, budget, tokenizer) is real.
 */
export function createScriptedModelTestDouble(answers: readonly string[]): LanguageModel & { calls: LanguageModelCallOptions[] } {
  const calls: LanguageModelCallOptions[] = [];
  const next = (options: LanguageModelCallOptions): string => {
    calls.push(options);
    return answers[Math.min(calls.length - 1, answers.length - 1)] ?? '';
  };
  return {
    specificationVersion: 'codestack-v1',
    provider: 'test-double',
    modelId: 'scripted',
    calls,
    async doGenerate(options) {
      const text = next(options);
      return { text, finishReason: 'stop', usage: { inputTokens: 10, outputTokens: text.length } };
    },
    async doStream(options) {
      const text = next(options);
      const pieces = text.match(/[\s\S]{1,7}/g) ?? [];
      return {
        stream: new ReadableStream<LanguageModelStreamPart>({
          start(controller) {
            for (const delta of pieces) controller.enqueue({ type: 'text-delta', delta });
            controller.enqueue({ type: 'finish', finishReason: 'stop', usage: { inputTokens: 10, outputTokens: pieces.length } });
            controller.close();
          },
        }),
      };
    },
  };
}
