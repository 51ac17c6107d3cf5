import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** What {@link killDuringSaves} needs. */
export interface KillDuringSavesOptions {
  /** A scratch directory for the bundled writer, the child script and the states. */
  workspace: string;
  /** The directory the child saves to (already holding one of the states). */
  target: string;
  /** The two states the child saves in turn, as `writeDirectoryAtomic` takes them. */
  states: readonly [ReadonlyMap<string, string | Uint8Array>, ReadonlyMap<string, string | Uint8Array>];
  /** Kills to run. Default 60. */
  attempts?: number;
  /** Each kill lands at a random time up to this many milliseconds after the child is ready. Default 30. */
  maximumDelayMilliseconds?: number;
  /** Called after each kill (the child has exited): read `target` and check it. */
  afterKill(attempt: number): Promise<void>;
}

/**
 * The kill -9 crash harness shared by the atomic-save tests (core, runtime, tuning): a child
 * process saves the two states in turn with `writeDirectoryAtomic` (bundled from core's source
 * with esbuild, so each child starts in tens of milliseconds), is killed with SIGKILL at a
 * random point, and `afterKill` checks the directory. Returns how many kills left leftovers of an
 * interrupted save (entries starting with '.'). Test support only: not part of `dist`.
 */
export async function killDuringSaves(options: KillDuringSavesOptions): Promise<{ interrupted: number }> {
  const { workspace, target, attempts = 60, maximumDelayMilliseconds = 30 } = options;
  const writer = join(workspace, 'writer.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('../atomic-directory.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: writer,
    logLevel: 'silent',
  });
  const statesPath = join(workspace, 'states.json');
  const encoded = options.states.map((state) => Object.fromEntries([...state].map(([name, value]) => [name, Buffer.from(value).toString('base64')])));
  await writeFile(statesPath, JSON.stringify(encoded));
  const script = join(workspace, 'child.mjs');
  await writeFile(
    script,
    `import { readFileSync } from 'node:fs';
    import { writeDirectoryAtomic } from ${JSON.stringify(writer)};
    const [target, statesPath, first] = process.argv.slice(2);
    const states = JSON.parse(readFileSync(statesPath, 'utf8')).map((state) => new Map(Object.entries(state).map(([name, value]) => [name, Buffer.from(value, 'base64')])));
    process.stdout.write('ready\\n');
    for (let index = Number(first); ; index++) await writeDirectoryAtomic(target, states[index % 2]);`,
  );
  let interrupted = 0;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const child = spawn(process.execPath, [script, target, statesPath, String(attempt)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * maximumDelayMilliseconds));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    if ((await readdir(target)).some((entry) => entry.startsWith('.'))) interrupted++;
    await options.afterKill(attempt);
  }
  return { interrupted };
}
