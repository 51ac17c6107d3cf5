/**
 * The kNN-LM datastore's costs on the bundled model: build time and bytes per token of a datastore
 * of this package's own middleware sources, and decode tokens/s without it, with it, and with the
 * continuous cache, measured side by side (the variants alternate, round after round, and the
 * medians are reported, so load on the machine hits all of them alike). Called by `src/bench.ts`;
 * `tsx src/datastore/datastore.bench.ts` runs it alone (JSON, then a summary line).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LanguageModel } from '@codestack/core';
import { loadBundledModel } from '../models/local/load-local-model.js';
import { wrapLanguageModel } from '../models/wrap-language-model.js';
import { buildCodeCompletionPrompt } from '../prompt/completion-template.js';
import { knnDatastoreMiddleware } from '../middleware/knn-datastore-middleware.js';
import { buildDatastoreDirectory } from './build-datastore-directory.js';
import { readDatastoreSources } from './datastore-sources.js';
import { loadDatastore } from './knn-datastore.js';
import { defaultCacheSettings, defaultDatastoreSettings } from './knn-defaults.js';
import { buildContinuousCache } from './continuous-cache.js';

/** What {@link benchDatastore} measured. */
export interface DatastoreBenchResult {
  build: { sources: number; tokens: number; seconds: number; tokensPerSecond: number; bytesPerToken: number; graphBytesPerToken: number; loadMilliseconds: number };
  decode: {
    rounds: number;
    outputTokens: number;
    prefixTokens: number;
    /** Whole requests: output tokens over the call's time (the cache's build included). */
    tokensPerSecond: { model: number; datastore: number; cache: number; datastoreAndCache: number };
    /** Decoding alone: the cache's build left out. */
    decodeTokensPerSecond: { model: number; datastore: number; cache: number; datastoreAndCache: number };
  };
  /** Median milliseconds of one datastore search (k neighbours), the part a step adds. */
  searchMilliseconds: number;
  /** Median milliseconds to build the continuous cache of the prefix from nothing (a file's first request). */
  cacheColdBuildMilliseconds: number;
  /** Median milliseconds of the cache's build in the decode rounds, the cursor one line further each round (earlier windows reused). */
  cacheWarmBuildMilliseconds: number;
  settings: { datastore: typeof defaultDatastoreSettings; cache: typeof defaultCacheSettings };
  summary: string;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Measures the datastore on the bundled model; `rounds` alternating decode rounds (default 5). */
export async function benchDatastore(options: { rounds?: number } = {}): Promise<DatastoreBenchResult> {
  const rounds = options.rounds ?? 5;
  const sourceDirectory = fileURLToPath(new URL('../middleware', import.meta.url));
  const model = await loadBundledModel();
  const scratch = await mkdtemp(join(tmpdir(), 'codestack-datastore-bench-'));
  try {
    const sources = await readDatastoreSources([sourceDirectory]);
    const report = await buildDatastoreDirectory({ model: model.model, tokenizer: model.tokenizer, sources, out: join(scratch, 'datastore') });
    const loadStarted = performance.now();
    const datastore = await loadDatastore(join(scratch, 'datastore'), { model: model.model, tokenizer: model.tokenizer });
    const loadMilliseconds = performance.now() - loadStarted;

    // A long file prefix (not in the datastore), cut at a line: the prompt is its last 192 tokens, the cache all of it.
    const file = await readFile(fileURLToPath(new URL('../generate-code/generate-code.ts', import.meta.url)), 'utf8');
    // Each round the cursor moves one line down, as while typing: the cache reuses the windows it already ran.
    const cut = (lines: number): string => {
      let end = Math.floor(file.length * 0.6);
      for (let line = 0; line <= lines; line++) end = file.indexOf('\n', end) + 1;
      return file.slice(0, end);
    };
    const prefix = cut(0);
    const variants: Record<'model' | 'datastore' | 'cache' | 'datastoreAndCache', LanguageModel> = {
      model,
      datastore: wrapLanguageModel({ model, middleware: knnDatastoreMiddleware({ datastore }) }),
      cache: wrapLanguageModel({ model, middleware: knnDatastoreMiddleware({ cache: true }) }),
      datastoreAndCache: wrapLanguageModel({ model, middleware: knnDatastoreMiddleware({ datastore, cache: true }) }),
    };
    const rates: Record<keyof typeof variants, number[]> = { model: [], datastore: [], cache: [], datastoreAndCache: [] };
    // Decode alone: the call's time less the cache build the local model reports.
    const decodeRates: Record<keyof typeof variants, number[]> = { model: [], datastore: [], cache: [], datastoreAndCache: [] };
    const cacheBuilds: number[] = [];
    let outputTokens = 0;
    for (let round = 0; round < rounds; round++) {
      const textBeforeCursor = cut(round);
      const { prompt } = await buildCodeCompletionPrompt({ prefix: textBeforeCursor, tokenizer: model.tokenizer, maximumPromptTokens: 192 });
      for (const name of Object.keys(variants) as (keyof typeof variants)[]) {
        const started = performance.now();
        const result = await variants[name].doGenerate({ prompt, maxOutputTokens: 48, temperature: 0, providerOptions: { codestack: { textBeforeCursor } } });
        const elapsed = performance.now() - started;
        const cacheMilliseconds = Number(result.providerMetadata?.codestack?.knnCacheMilliseconds ?? 0);
        if (cacheMilliseconds > 0) cacheBuilds.push(cacheMilliseconds);
        const tokens = result.usage.outputTokens ?? 0;
        outputTokens = Math.max(outputTokens, tokens);
        rates[name].push(tokens / (elapsed / 1000));
        decodeRates[name].push(tokens / ((elapsed - cacheMilliseconds) / 1000));
      }
    }
    // A cold cache (no earlier windows to reuse): the first request in a file.
    const coldBuilds: number[] = [];
    for (let round = 0; round < Math.min(rounds, 3); round++) {
      const started = performance.now();
      await buildContinuousCache({ model: model.model, tokenizer: model.tokenizer, textBeforeCursor: prefix });
      coldBuilds.push(performance.now() - started);
    }
    const searchTimes: number[] = [];
    for (let entry = 0; entry < 200; entry++) {
      const query = datastore.key((entry * 7919) % datastore.size);
      const started = performance.now();
      datastore.search(query, defaultDatastoreSettings.k);
      searchTimes.push(performance.now() - started);
    }
    const tokensPerSecond = { model: median(rates.model), datastore: median(rates.datastore), cache: median(rates.cache), datastoreAndCache: median(rates.datastoreAndCache) };
    const decodeTokensPerSecond = { model: median(decodeRates.model), datastore: median(decodeRates.datastore), cache: median(decodeRates.cache), datastoreAndCache: median(decodeRates.datastoreAndCache) };
    const build = {
      sources: sources.length,
      tokens: report.entries,
      seconds: report.seconds,
      tokensPerSecond: report.entries / report.seconds,
      bytesPerToken: report.bytesPerToken,
      graphBytesPerToken: report.graphBytesPerToken,
      loadMilliseconds,
    };
    const searchMilliseconds = median(searchTimes);
    return {
      build,
      decode: { rounds, outputTokens, prefixTokens: model.tokenizer.encode(prefix).length, tokensPerSecond, decodeTokensPerSecond },
      searchMilliseconds,
      cacheColdBuildMilliseconds: median(coldBuilds),
      cacheWarmBuildMilliseconds: median(cacheBuilds),
      settings: { datastore: defaultDatastoreSettings, cache: defaultCacheSettings },
      summary:
        `datastore: ${build.tokens} tokens from ${build.sources} files built in ${build.seconds.toFixed(1)} s (${build.tokensPerSecond.toFixed(0)} tokens/s), ` +
        `${build.bytesPerToken} B/token keys+values + ${build.graphBytesPerToken.toFixed(0)} B/token graph, load ${loadMilliseconds.toFixed(0)} ms; ` +
        `decode tokens/s (median of ${rounds}, alternating) model ${decodeTokensPerSecond.model.toFixed(1)}, +datastore ${decodeTokensPerSecond.datastore.toFixed(1)}, +cache ${decodeTokensPerSecond.cache.toFixed(1)}, both ${decodeTokensPerSecond.datastoreAndCache.toFixed(1)}; ` +
        `whole requests with the cache's build ${tokensPerSecond.cache.toFixed(1)} (cache) and ${tokensPerSecond.datastoreAndCache.toFixed(1)} (both); search ${searchMilliseconds.toFixed(3)} ms, cache build ${median(coldBuilds).toFixed(0)} ms cold for ${model.tokenizer.encode(prefix).length} tokens, ${median(cacheBuilds).toFixed(0)} ms a line further`,
    };
  } finally {
    model.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { summary, ...result } = await benchDatastore();
  console.log(JSON.stringify(result));
  console.log(summary);
}
