import { describe, expect, it } from 'vitest';
import { createTinyLocalModel } from '../__fixtures__/tiny-local-model.js';
import { generateText, streamText } from '../models/generate-text.js';
import { loadOpenTelemetryTracer, traceMiddleware, type TraceEvent } from './trace-middleware.js';
import { wrapLanguageModel } from '../models/wrap-language-model.js';

describe('traceMiddleware', () => {
  it('emits start and finish events with usage and time to first token', async () => {
    const events: TraceEvent[] = [];
    const model = wrapLanguageModel({ model: await createTinyLocalModel(), middleware: traceMiddleware({ onEvent: (event) => events.push(event), openTelemetry: true }) });
    await generateText({ model, prompt: 'a', maxOutputTokens: 2 });
    await (await streamText({ model, prompt: 'b', maxOutputTokens: 2 })).text;
    expect(events.map((event) => `${event.type}:${event.operation}:${event.callId}`)).toEqual(['call-start:generate:1', 'call-finish:generate:1', 'call-start:stream:2', 'call-finish:stream:2']);
    expect(events[1]).toMatchObject({ finishReason: 'length', outputTokens: 2 });
    expect((events[3] as { firstTokenMilliseconds?: number }).firstTokenMilliseconds).toBeGreaterThan(0);
  });

  it('reports failures', async () => {
    const events: TraceEvent[] = [];
    const model = wrapLanguageModel({ model: await createTinyLocalModel(), middleware: traceMiddleware({ onEvent: (event) => events.push(event) }) });
    await expect(generateText({ model, prompt: 'a', maxOutputTokens: 100000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(events.map((event) => event.type)).toEqual(['call-start', 'call-error']);
  });

  it('loads the OpenTelemetry tracer through a dynamic import when @opentelemetry/api is resolvable', async () => {
    // Installed here only as a transitive dependency of the `ai` dev dependency.
    const tracer = await loadOpenTelemetryTracer();
    expect(typeof tracer?.startSpan).toBe('function');
    const span = tracer!.startSpan('probe');
    expect(typeof span.end).toBe('function');
    span.end();
  });
});
