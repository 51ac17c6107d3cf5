import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AbortedError, createProgressReporter, InvalidArgumentError } from '@codestack/core';
import type { CliContext } from './cli-context.js';
import { parse, positiveInteger, write } from './arguments.js';
import { resolveModel } from './resolve-model.js';

/** `codestack datastore build`. */
export async function datastoreCommand(args: readonly string[], context: CliContext): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand !== 'build') {
    throw new InvalidArgumentError({ argument: 'command', message: `unknown datastore command '${subcommand ?? ''}'; use codestack datastore build --from PATH|PACKAGE... --out DIR` });
  }
  const { values, positionals } = parse(rest, {
    model: { type: 'string' },
    encoding: { type: 'string' },
    from: { type: 'string', multiple: true },
    out: { type: 'string' },
    'window-tokens': { type: 'string' },
    json: { type: 'boolean' },
  });
  // `--from a b c` reads as three inputs: parseArgs keeps the first with the option, the rest as positionals.
  const inputs = [...(values.from ?? []), ...positionals];
  if (inputs.length === 0) throw new InvalidArgumentError({ argument: '--from', message: 'give what to memorise: --from PATH (a directory such as ., or a file) or --from PACKAGE (an installed npm package)' });
  if (values.out === undefined) throw new InvalidArgumentError({ argument: '--out', message: 'give the datastore directory to write: --out DIR' });
  const cwd = context.cwd ?? process.cwd();
  const out = resolve(cwd, values.out);
  const { readDatastoreSources, buildDatastoreDirectory, datastoreCheckpointDirectory } = await import('@codestack/orchestrator/local');
  const sources = await readDatastoreSources(inputs, { cwd, ...(context.signal ? { signal: context.signal } : {}) });
  if (sources.length === 0) throw new InvalidArgumentError({ argument: '--from', message: `no JavaScript or TypeScript files in ${inputs.join(', ')}` });
  // Always a local model (the bundled one without --model): the keys are its hidden states.
  const { local } = await resolveModel({ ...(values.model === undefined ? {} : { model: values.model }), ...(values.encoding === undefined ? {} : { encoding: values.encoding }) }, { ...context, environment: {} });
  // Without --window-tokens, buildDatastoreDirectory takes the orchestrator's default (defaultWindowFor: 1,024, or the model's context when shorter).
  const windowTokens = values['window-tokens'] === undefined ? undefined : positiveInteger(values['window-tokens'], '--window-tokens', 0);
  const progress = createProgressReporter({ label: 'datastore', total: sources.length, json: values.json === true, stream: context.stderr });
  const report = await buildDatastoreDirectory({
    model: local!.model,
    tokenizer: local!.tokenizer,
    sources,
    out,
    ...(windowTokens === undefined ? {} : { windowTokens }),
    ...(context.signal ? { signal: context.signal } : {}),
    onProgress: (update) => progress.update({ completed: update.texts, fields: { tokens: update.entries } }),
  }).catch((error: unknown) => {
    // Only an abort leaves a checkpoint to continue from; another failure is reported as itself.
    const checkpoint = datastoreCheckpointDirectory(out);
    if (AbortedError.isInstance(error) && existsSync(join(checkpoint, 'progress.json'))) progress.event('interrupted', { checkpoint });
    throw error;
  });
  progress.finish({ tokens: report.entries });
  const summary = {
    out: values.out,
    tokens: report.entries,
    files: report.texts,
    bytesPerToken: report.bytesPerToken,
    graphBytesPerToken: Math.round(report.graphBytesPerToken),
    bytes: Math.round(report.entries * (report.bytesPerToken + report.graphBytesPerToken)),
    seconds: Number(report.seconds.toFixed(2)),
    resumedFiles: report.resumedTexts,
    model: local!.modelId,
  };
  write(
    context,
    values.json,
    summary,
    `Stored ${report.entries} tokens from ${report.texts} files in ${report.seconds.toFixed(1)}s (${report.bytesPerToken} bytes per token for keys and values, ${summary.graphBytesPerToken} for the search graph; ${(summary.bytes / 1048576).toFixed(1)} MiB)${report.resumedTexts > 0 ? `, resuming after ${report.resumedTexts} files` : ''} into ${values.out}`,
  );
  return 0;
}
