import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * Parses a `text/event-stream` byte stream into the `data` payloads of its events (multi-line
 * `data:` fields joined by newlines; comments and other fields ignored). A last event that the
 * stream ends without a blank line is still delivered. The line parsing is `eventsource-parser`'s,
 * which follows the WHATWG specification, including a `\r\n` split across two chunks.
 */
export async function* parseServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const pending: string[] = [];
  const parser = createParser({ onEvent: (event: EventSourceMessage) => pending.push(event.data) });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      if (text) parser.feed(text);
      // An unterminated last event: end its line and the event, as a blank line would.
      if (done) parser.feed('\n\n');
      while (pending.length > 0) yield pending.shift()!;
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Formats one server-sent event carrying `data`. */
export function formatServerSentEvent(data: string): string {
  return `${data
    .split('\n')
    .map((line) => `data: ${line}`)
    .join('\n')}\n\n`;
}
