import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CodestackError, InvalidArgumentError } from '@codestack/core';
import { getTokenizer } from '@codestack/tokenizer';
import type { DocEntry } from './doc-entry.js';
import { DocsIndex } from './docs-index.js';
import { loadMarkdownDocs } from './markdown-loader.js';
import { loadTypeScriptDocs } from './typescript-loader.js';
import { chunkEntries } from './chunk-entries.js';
import { entryEmbeddingText } from './doc-entry.js';
import { LocalEmbedder } from './local-embedder.js';
import { PostgresDocsStore } from './postgres-docs-store.js';

/** The connection string without its password, for output. */
function redactConnectionString(location: string): string {
  return location.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:…@');
}

/** Where {@link runDocsCommand} writes and what cancels it. */
export interface DocsCommandContext {
  /** Results go here. */
  stdout: NodeJS.WritableStream;
  /** Progress and errors go here. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Cancels the command. */
  signal?: AbortSignal;
  /** The directory package names resolve from. Defaults to `process.cwd()`. */
  cwd?: string;
}

/** One result line of `search --json`. */
export interface DocsCommandResult {
  /** The entry id. */
  id: string;
  /** Its fully qualified name. */
  name: string;
  /** Its kind. */
  kind: string;
  /** Its package. */
  package: string;
  /** Its first signature. */
  signature: string;
  /** Its summary. */
  summary: string;
  /** The ranking score. */
  score: number;
}

const usage = `Usage:
  codestack-docs index <package-or-markdown-file...> (--out DIR | --store URL) [--json]
  codestack-docs search "<query>" (--index DIR | --store URL) [-k N] [--package P] [--json]
  URL: postgres://user@host:port/database (needs pg) or pglite:DIRECTORY (needs @electric-sql/pglite
  and @electric-sql/pglite-pgvector); a store holds many packages, each re-index replaces its version.`;

/**
 * The `codestack-docs` command: `index` builds an index of packages' declarations (and Markdown
 * files) into a directory, `search` queries one. Returns the exit code: 0 on success, 1 on a
 * failure, 2 on a usage error. Errors are printed, never thrown.
 */
export async function runDocsCommand(argv: readonly string[], context: DocsCommandContext): Promise<number> {
  const [command, ...rest] = argv;
  // Help is an answer, not a usage error: it goes to stdout with exit code 0.
  if (command === undefined || command === '--help' || command === '-h' || command === 'help' || rest.includes('--help') || rest.includes('-h')) {
    context.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    if (command === 'index') return await indexCommand(rest, context);
    if (command === 'search') return await searchCommand(rest, context);
    context.stderr.write(`${usage}\n`);
    return 2;
  } catch (error) {
    const json = rest.includes('--json');
    if (CodestackError.isInstance(error)) {
      if (json) context.stderr.write(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`);
      else context.stderr.write(`codestack-docs: ${error.code}: ${error.message}\n`);
      return InvalidArgumentError.isInstance(error) && error.argument === 'argv' ? 2 : 1;
    }
    context.stderr.write(`codestack-docs: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

type OptionsConfig = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

function parse(args: readonly string[], options: OptionsConfig): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
  } catch (cause) {
    throw new InvalidArgumentError({ argument: 'argv', message: `${(cause as Error).message}\n${usage}`, cause });
  }
}

async function indexCommand(args: readonly string[], context: DocsCommandContext): Promise<number> {
  const { values, positionals } = parse(args, { out: { type: 'string' }, store: { type: 'string' }, json: { type: 'boolean' } });
  const out = values.out;
  const storeLocation = values.store;
  if ((typeof out === 'string') === (typeof storeLocation === 'string') || positionals.length === 0) {
    throw new InvalidArgumentError({ argument: 'argv', message: `index needs at least one package and one of --out DIR and --store URL\n${usage}` });
  }
  const cwd = context.cwd ?? process.cwd();
  const json = values.json === true;
  const entries: DocEntry[] = [];
  const tokenizer = getTokenizer('cl100k_base');
  for (const target of positionals) {
    if (/\.(md|markdown)$/i.test(target)) {
      const path = resolve(cwd, target);
      const markdown = await readFile(path, 'utf8').catch((cause: unknown) => {
        throw new InvalidArgumentError({ argument: 'argv', message: `cannot read ${path}`, cause });
      });
      entries.push(...loadMarkdownDocs(markdown, { source: basename(path), packageName: basename(path), tokenizer }));
    } else {
      entries.push(
        ...(await loadTypeScriptDocs(target, {
          from: cwd,
          json,
          silent: false,
          progressStream: context.stderr,
          ...(context.signal === undefined ? {} : { signal: context.signal }),
        })),
      );
    }
  }
  const started = performance.now();
  if (typeof storeLocation === 'string') {
    const store = await PostgresDocsStore.connect({ connectionString: storeLocation, ...(context.signal === undefined ? {} : { signal: context.signal }) });
    try {
      const signalOption = context.signal === undefined ? {} : { signal: context.signal };
      // An empty store records a local embedder fitted on these entries; a store with one reuses it.
      const embedder =
        (await store.readEmbedder(signalOption)) === undefined
          ? await LocalEmbedder.fit(chunkEntries(entries, { maximumTokens: 512, tokenizer }).map(entryEmbeddingText), signalOption)
          : undefined;
      const index = await DocsIndex.open({ store, tokenizer, ...(embedder === undefined ? {} : { embedder }), ...signalOption });
      await index.upsert(entries, { json, silent: false, progressStream: context.stderr, ...signalOption });
      const packages = await store.packages(signalOption);
      const summary = { store: redactConnectionString(storeLocation), entries: entries.length, embedder: { id: index.embedder.id, dimension: index.embedder.dimension }, packages, seconds: (performance.now() - started) / 1000 };
      context.stdout.write(json ? `${JSON.stringify(summary)}\n` : `Indexed ${entries.length} entries into ${summary.store} (${packages.length} package versions in the store)\n`);
      return 0;
    } finally {
      await store.close();
    }
  }
  const index = await DocsIndex.build(entries, {
    tokenizer,
    json,
    silent: false,
    progressStream: context.stderr,
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  });
  const manifest = await index.save(resolve(cwd, out as string), context.signal === undefined ? {} : { signal: context.signal });
  const summary = { out: resolve(cwd, out as string), entries: entries.length, pieces: index.size, embedder: manifest.embedder, seconds: (performance.now() - started) / 1000 };
  context.stdout.write(json ? `${JSON.stringify(summary)}\n` : `Indexed ${entries.length} entries (${index.size} pieces) into ${summary.out}\n`);
  return 0;
}

async function searchCommand(args: readonly string[], context: DocsCommandContext): Promise<number> {
  const { values, positionals } = parse(args, {
    index: { type: 'string' },
    store: { type: 'string' },
    k: { type: 'string', short: 'k' },
    package: { type: 'string' },
    json: { type: 'boolean' },
  });
  const query = positionals.join(' ').trim();
  if ((typeof values.index === 'string') === (typeof values.store === 'string') || query === '') {
    throw new InvalidArgumentError({ argument: 'argv', message: `search needs a query and one of --index DIR and --store URL\n${usage}` });
  }
  const topK = values.k === undefined ? 10 : Number(values.k);
  if (!Number.isInteger(topK) || topK < 1) throw new InvalidArgumentError({ argument: 'argv', message: `-k must be a positive integer, got ${String(values.k)}` });
  const signalOption = context.signal === undefined ? {} : { signal: context.signal };
  const searchOptions = { topK, ...(typeof values.package === 'string' ? { filter: { package: values.package } } : {}), ...signalOption };
  let results;
  if (typeof values.store === 'string') {
    const store = await PostgresDocsStore.connect({ connectionString: values.store, ...signalOption });
    try {
      results = await (await DocsIndex.open({ store, ...signalOption })).search(query, searchOptions);
    } finally {
      await store.close();
    }
  } else {
    const index = await DocsIndex.load(resolve(context.cwd ?? process.cwd(), values.index as string), signalOption);
    results = await index.search(query, searchOptions);
  }
  const rows: DocsCommandResult[] = results.map(({ entry, score }) => ({
    id: entry.id,
    name: entry.name,
    kind: entry.kind,
    package: entry.package,
    signature: entry.signatures[0] ?? '',
    summary: entry.summary,
    score,
  }));
  if (values.json === true) {
    context.stdout.write(`${JSON.stringify(rows)}\n`);
  } else {
    for (const row of rows) {
      context.stdout.write(`${row.name}  (${row.kind}, ${row.package})  score ${row.score.toFixed(4)}\n`);
      if (row.signature !== '') context.stdout.write(`    ${row.signature}\n`);
      if (row.summary !== '') context.stdout.write(`    ${row.summary}\n`);
    }
  }
  return 0;
}
