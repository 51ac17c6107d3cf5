/** One progress update of a long job. */
export interface ProgressUpdate {
  /** Units done so far (steps, documents, files). */
  completed: number;
  /** Extra figures to show or log, such as `loss` or `tokensPerSecond`. */
  fields?: Record<string, number | string>;
}

/** Reports the progress of a long job: a bar on a TTY, JSON lines otherwise. */
export interface ProgressReporter {
  /** Records progress. On a TTY the bar is redrawn at most every 100 ms. */
  update(update: ProgressUpdate): void;
  /** Logs one event, such as an evaluation or a checkpoint, as its own line. */
  event(name: string, fields?: Record<string, unknown>): void;
  /** Ends the bar (on a TTY) and logs the final state. */
  finish(fields?: Record<string, number | string>): void;
}

/** Options of {@link createProgressReporter}. */
export interface ProgressReporterOptions {
  /** What is being done, such as `train` or `index`. */
  label: string;
  /** The total number of units, when known. */
  total?: number;
  /** Force JSON lines even on a TTY (the CLI's `--json`). */
  json?: boolean;
  /** Print nothing at all. */
  silent?: boolean;
  /** Where to write; defaults to `process.stderr`. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** The clock, for tests. Defaults to `Date.now`. */
  now?: () => number;
}

/**
 * Creates a {@link ProgressReporter}. On a TTY (and without `json`) it draws a one-line bar
 * with rate and ETA; otherwise it writes one JSON object per line, e.g.
 * `{"event":"progress","label":"train","completed":10,"total":100,"loss":2.1}`.
 */
export function createProgressReporter(options: ProgressReporterOptions): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const startedAt = now();
  const useBar = !options.json && stream.isTTY === true;
  let lastDraw = 0;
  let lastCompleted = 0;
  let lastFields: Record<string, number | string> = {};

  const writeJson = (event: string, fields: Record<string, unknown>): void => {
    stream.write(`${JSON.stringify({ event, label: options.label, ...fields })}\n`);
  };

  const drawBar = (): void => {
    const elapsedSeconds = (now() - startedAt) / 1000;
    const rate = elapsedSeconds > 0 ? lastCompleted / elapsedSeconds : 0;
    const parts = [options.label];
    if (options.total !== undefined && options.total > 0) {
      const share = Math.min(1, lastCompleted / options.total);
      const width = 24;
      const filled = Math.round(share * width);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`, `${(share * 100).toFixed(0)}%`);
      parts.push(`${lastCompleted}/${options.total}`);
      if (rate > 0) parts.push(`eta ${formatSeconds((options.total - lastCompleted) / rate)}`);
    } else {
      parts.push(String(lastCompleted));
    }
    parts.push(`${rate.toFixed(1)}/s`);
    for (const [key, value] of Object.entries(lastFields)) {
      parts.push(`${key}=${typeof value === 'number' ? formatNumber(value) : value}`);
    }
    stream.write(`\r\u001b[2K${parts.join(' ')}`);
  };

  return {
    update({ completed, fields }) {
      if (options.silent) return;
      lastCompleted = completed;
      lastFields = fields ?? lastFields;
      if (useBar) {
        const time = now();
        if (time - lastDraw >= 100 || completed === options.total) {
          lastDraw = time;
          drawBar();
        }
      } else {
        writeJson('progress', { completed, total: options.total, ...fields });
      }
    },
    event(name, fields = {}) {
      if (options.silent) return;
      if (useBar) {
        stream.write(`\r\u001b[2K${options.label} ${name} ${JSON.stringify(fields)}\n`);
        drawBar();
      } else {
        writeJson(name, fields);
      }
    },
    finish(fields = {}) {
      if (options.silent) return;
      const elapsedSeconds = (now() - startedAt) / 1000;
      if (useBar) {
        lastFields = { ...lastFields, ...fields };
        drawBar();
        stream.write('\n');
      } else {
        writeJson('finish', { completed: lastCompleted, total: options.total, elapsedSeconds, ...fields });
      }
    },
  };
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.round(seconds);
  const minutes = Math.floor(whole / 60);
  return minutes > 0 ? `${minutes}m${String(whole % 60).padStart(2, '0')}s` : `${whole}s`;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}
