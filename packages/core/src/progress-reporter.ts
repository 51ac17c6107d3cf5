/** One progress update of a long job. */
export interface ProgressUpdate {
  /** Units done so far (steps, documents, files). */
  completed: number;
  /** Extra figures to show or log, such as `loss` or `tokensPerSecond`. */
  fields?: Record<string, number | string>;
}

/**
 * Reports the progress of a long job: a bar on a TTY, JSON lines with `json`, and otherwise (a log
 * file, a CI job, a pipe) a few plain lines: the start, about every 10 %, and the end.
 */
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
  /** JSON lines, on a TTY too (the CLI's `--json`). Without it a non-TTY stream gets a few plain lines. */
  json?: boolean;
  /** Print nothing at all. */
  silent?: boolean;
  /** Where to write; defaults to `process.stderr`. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** The clock, for tests. Defaults to `Date.now`. */
  now?: () => number;
}

/**
 * Creates a {@link ProgressReporter}. With `json` it writes one JSON object per line, e.g.
 * `{"event":"progress","label":"train","completed":10,"total":100,"loss":2.1}`, and skips a
 * progress line identical to the one before. Otherwise, on a TTY it draws a one-line bar with rate
 * and ETA; on any other stream it writes plain lines: `train: started (100 units)`, then one line
 * whenever another tenth of the total is done (or, without a total, at most every 10 seconds),
 * each event, and `train: done, 100/100 in 12.3s`.
 */
export function createProgressReporter(options: ProgressReporterOptions): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const startedAt = now();
  const useBar = !options.json && stream.isTTY === true;
  const usePlain = !options.json && !useBar;
  let lastDraw = 0;
  let lastJsonProgress = '';
  let started = false;
  let lastTenth = -1;
  let lastPlainTime = startedAt;
  let lastCompleted = 0;
  let lastFields: Record<string, number | string> = {};

  const writeJson = (event: string, fields: Record<string, unknown>): void => {
    stream.write(`${JSON.stringify({ event, label: options.label, ...fields })}\n`);
  };

  const describeFields = (fields: Record<string, unknown>): string =>
    Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => ` ${key}=${typeof value === 'number' ? String(Number(value.toPrecision(4))) : typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join('');

  const counted = (): string => (options.total === undefined ? String(lastCompleted) : `${lastCompleted}/${options.total}`);

  const startPlain = (): void => {
    if (started) return;
    started = true;
    stream.write(`${options.label}: started${options.total === undefined ? '' : ` (${options.total} to do)`}\n`);
  };

  const writePlainProgress = (): void => {
    startPlain();
    const time = now();
    let due: boolean;
    if (options.total !== undefined && options.total > 0) {
      const tenth = Math.floor((Math.min(lastCompleted, options.total) / options.total) * 10);
      due = tenth > lastTenth && tenth > 0;
      if (due) lastTenth = tenth;
    } else {
      due = time - lastPlainTime >= 10000;
    }
    if (!due) return;
    lastPlainTime = time;
    const percent = options.total !== undefined && options.total > 0 ? ` (${Math.floor((Math.min(lastCompleted, options.total) / options.total) * 100)}%)` : '';
    stream.write(`${options.label}: ${counted()}${percent}${describeFields(lastFields)}\n`);
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
      } else if (usePlain) {
        writePlainProgress();
      } else {
        const line = JSON.stringify({ completed, total: options.total, ...fields });
        if (line === lastJsonProgress) return;
        lastJsonProgress = line;
        writeJson('progress', { completed, total: options.total, ...fields });
      }
    },
    event(name, fields = {}) {
      if (options.silent) return;
      if (useBar) {
        stream.write(`\r\u001b[2K${options.label} ${name} ${JSON.stringify(fields)}\n`);
        drawBar();
      } else if (usePlain) {
        startPlain();
        stream.write(`${options.label}: ${name}${describeFields(fields)}\n`);
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
      } else if (usePlain) {
        startPlain();
        const count = options.total === undefined && lastCompleted === 0 ? '' : `, ${counted()}`;
        stream.write(`${options.label}: done${count} in ${elapsedSeconds.toFixed(1)}s${describeFields({ ...lastFields, ...fields })}\n`);
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
