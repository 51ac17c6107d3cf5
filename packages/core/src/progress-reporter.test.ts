import { describe, expect, it } from 'vitest';
import { createProgressReporter } from './progress-reporter.js';

function captureStream(isTTY: boolean) {
  const chunks: string[] = [];
  return {
    chunks,
    stream: Object.assign(
      { write: (chunk: string) => (chunks.push(chunk), true) },
      { isTTY },
    ) as unknown as NodeJS.WritableStream & { isTTY?: boolean },
  };
}

describe('createProgressReporter', () => {
  it('writes one JSON object per line when the stream is not a TTY', () => {
    const { chunks, stream } = captureStream(false);
    let time = 0;
    const reporter = createProgressReporter({ label: 'train', total: 4, stream, now: () => time });
    time = 1000;
    reporter.update({ completed: 2, fields: { loss: 1.5 } });
    reporter.event('evaluation', { loss: 1.4 });
    reporter.finish({ loss: 1.2 });
    const lines = chunks.join('').trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { event: 'progress', label: 'train', completed: 2, total: 4, loss: 1.5 },
      { event: 'evaluation', label: 'train', loss: 1.4 },
      { event: 'finish', label: 'train', completed: 2, total: 4, elapsedSeconds: 1, loss: 1.2 },
    ]);
  });

  it('draws a bar with rate and fields on a TTY, and JSON when asked', () => {
    const tty = captureStream(true);
    let time = 0;
    const bar = createProgressReporter({ label: 'index', total: 10, stream: tty.stream, now: () => time });
    time = 2000;
    bar.update({ completed: 5, fields: { documents: 50 } });
    bar.finish();
    const text = tty.chunks.join('');
    expect(text).toContain('index [############------------] 50% 5/10');
    expect(text).toContain('2.5/s');
    expect(text).toContain('documents=50');
    expect(text.endsWith('\n')).toBe(true);

    const forced = captureStream(true);
    createProgressReporter({ label: 'index', stream: forced.stream, json: true }).update({ completed: 1 });
    expect(JSON.parse(forced.chunks.join(''))).toMatchObject({ event: 'progress', completed: 1 });
  });

  it('prints nothing when silent', () => {
    const { chunks, stream } = captureStream(false);
    const reporter = createProgressReporter({ label: 'x', stream, silent: true });
    reporter.update({ completed: 1 });
    reporter.event('e');
    reporter.finish();
    expect(chunks).toEqual([]);
  });
});
