import { describe, expect, it } from 'vitest';
import { formatServerSentEvent, parseServerSentEvents } from './server-sent-events.js';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(chunks: string[]): Promise<string[]> {
  const events: string[] = [];
  for await (const event of parseServerSentEvents(streamOf(chunks))) events.push(event);
  return events;
}

describe('parseServerSentEvents', () => {
  it('splits events across arbitrary chunk boundaries and line endings', async () => {
    expect(await collect(['data: {"a"', ':1}\n\n: comment\r\ndata: two\r\n\r\nda', 'ta: [DONE]\n\n'])).toEqual(['{"a":1}', 'two', '[DONE]']);
  });

  it('joins multi-line data and flushes a final event without a blank line', async () => {
    expect(await collect(['event: x\ndata: a\ndata: b\n\ndata: tail'])).toEqual(['a\nb', 'tail']);
  });

  it('treats a \r\n split across two chunks as one line ending', async () => {
    expect(await collect(['data: line1\r', '\ndata: line2\r\n\r\n'])).toEqual(['line1\nline2']);
    expect(await collect(['data: a\r', '\n\r', '\ndata: b\n\n'])).toEqual(['a', 'b']);
  });

  it('round-trips what formatServerSentEvent writes', async () => {
    expect(await collect([formatServerSentEvent('line1\nline2'), formatServerSentEvent('[DONE]')])).toEqual(['line1\nline2', '[DONE]']);
  });
});
