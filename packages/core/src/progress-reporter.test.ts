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
  it('writes one JSON object per line with json', () => {
    const { chunks, stream } = captureStream(false);
    let time = 0;
    const reporter = createProgressReporter({ label: 'train', total: 4, json: true, stream, now: () => time });
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

  it('skips a JSON progress line identical to the one before', () => {
    const { chunks, stream } = captureStream(false);
    const reporter = createProgressReporter({ label: 'index', total: 3, json: true, stream });
    for (const completed of [1, 1, 1, 2, 2, 3]) reporter.update({ completed });
    const lines = chunks.map((line) => JSON.parse(line) as { completed: number });
    expect(lines.map((line) => line.completed)).toEqual([1, 2, 3]);
  });

  it('writes a few plain lines on a non-TTY stream without json: start, each tenth, end', () => {
    const { chunks, stream } = captureStream(false);
    let time = 0;
    const reporter = createProgressReporter({ label: 'completion', total: 200, stream, now: () => time });
    for (let completed = 1; completed <= 200; completed += 1) {
      time += 10;
      reporter.update({ completed, fields: { exact: 0.5 } });
    }
    reporter.event('checkpoint', { step: 100 });
    reporter.finish();
    const lines = chunks.join('').trimEnd().split('\n');
    expect(lines[0]).toBe('completion: started (200 to do)');
    expect(lines[1]).toBe('completion: 20/200 (10%) exact=0.5');
    expect(lines.filter((line) => /^completion: \d+\/200 \(\d+%\)/.test(line))).toHaveLength(10);
    expect(lines.at(-2)).toBe('completion: checkpoint step=100');
    expect(lines.at(-1)).toBe('completion: done, 200/200 in 2.0s exact=0.5');
    expect(lines).toHaveLength(13);
    expect(chunks.join('')).not.toContain('{');
  });

  it('a plain line of a job without a total or updates leaves out the count', () => {
    const { chunks, stream } = captureStream(false);
    createProgressReporter({ label: 'load', stream, now: () => 0 }).finish({ entries: 131 });
    expect(chunks.join('')).toBe('load: started\nload: done in 0.0s entries=131\n');
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
