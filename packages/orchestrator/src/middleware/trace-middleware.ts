import type { LanguageModelStreamPart } from '@codestack/core';
import type { LanguageModelMiddleware } from '../models/wrap-language-model.js';

/** One trace event of a model call. */
export type TraceEvent =
  | { type: 'call-start'; callId: number; operation: 'generate' | 'stream'; provider: string; modelId: string }
  | { type: 'call-finish'; callId: number; operation: 'generate' | 'stream'; durationMilliseconds: number; finishReason: string; inputTokens: number | undefined; outputTokens: number | undefined; firstTokenMilliseconds?: number }
  | { type: 'call-error'; callId: number; operation: 'generate' | 'stream'; durationMilliseconds: number; error: unknown };

interface MinimalSpan {
  setAttribute(key: string, value: string | number): unknown;
  recordException(exception: unknown): unknown;
  end(): void;
}
interface MinimalTracer {
  startSpan(name: string): MinimalSpan;
}

let tracerPromise: Promise<MinimalTracer | undefined> | undefined;

/** The OpenTelemetry tracer when `@opentelemetry/api` is installed (dynamic import), else `undefined`. */
export function loadOpenTelemetryTracer(): Promise<MinimalTracer | undefined> {
  tracerPromise ??= (async () => {
    try {
      const specifier = '@opentelemetry/api';
      const api = (await import(specifier)) as { trace: { getTracer(name: string): MinimalTracer } };
      return api.trace.getTracer('@codestack/orchestrator');
    } catch {
      return undefined;
    }
  })();
  return tracerPromise;
}

/**
 * Emits a trace event at the start, finish (with duration, token counts and, for streams, time
 * to the first token) and failure of every call; with `openTelemetry: true` it also records an
 * OpenTelemetry span per call, if `@opentelemetry/api` is installed (it is not a dependency).
 */
export function traceMiddleware({ onEvent, openTelemetry = false }: { onEvent?: (event: TraceEvent) => void; openTelemetry?: boolean }): LanguageModelMiddleware {
  let nextCallId = 1;
  const begin = async (operation: 'generate' | 'stream', provider: string, modelId: string) => {
    const callId = nextCallId++;
    const startedAt = performance.now();
    const tracer = openTelemetry ? await loadOpenTelemetryTracer() : undefined;
    const span = tracer?.startSpan(`codestack.${operation}`);
    span?.setAttribute('gen_ai.system', provider);
    span?.setAttribute('gen_ai.request.model', modelId);
    onEvent?.({ type: 'call-start', callId, operation, provider, modelId });
    return {
      finish(finishReason: string, inputTokens: number | undefined, outputTokens: number | undefined, firstTokenMilliseconds?: number) {
        const durationMilliseconds = performance.now() - startedAt;
        if (inputTokens !== undefined) span?.setAttribute('gen_ai.usage.input_tokens', inputTokens);
        if (outputTokens !== undefined) span?.setAttribute('gen_ai.usage.output_tokens', outputTokens);
        span?.end();
        onEvent?.({ type: 'call-finish', callId, operation, durationMilliseconds, finishReason, inputTokens, outputTokens, ...(firstTokenMilliseconds === undefined ? {} : { firstTokenMilliseconds }) });
      },
      fail(error: unknown) {
        span?.recordException(error);
        span?.end();
        onEvent?.({ type: 'call-error', callId, operation, durationMilliseconds: performance.now() - startedAt, error });
      },
      startedAt,
    };
  };
  return {
    async wrapGenerate({ doGenerate, model }) {
      const trace = await begin('generate', model.provider, model.modelId);
      try {
        const result = await doGenerate();
        trace.finish(result.finishReason, result.usage.inputTokens, result.usage.outputTokens);
        return result;
      } catch (error) {
        trace.fail(error);
        throw error;
      }
    },
    async wrapStream({ doStream, model }) {
      const trace = await begin('stream', model.provider, model.modelId);
      let result;
      try {
        result = await doStream();
      } catch (error) {
        trace.fail(error);
        throw error;
      }
      let firstTokenMilliseconds: number | undefined;
      const observer = new TransformStream<LanguageModelStreamPart, LanguageModelStreamPart>({
        transform(part, controller) {
          if (part.type === 'text-delta') firstTokenMilliseconds ??= performance.now() - trace.startedAt;
          else if (part.type === 'finish') trace.finish(part.finishReason, part.usage.inputTokens, part.usage.outputTokens, firstTokenMilliseconds);
          else trace.fail(part.error);
          controller.enqueue(part);
        },
      });
      return { stream: result.stream.pipeThrough(observer) };
    },
  };
}
