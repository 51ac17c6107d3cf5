import { createRequire } from 'node:module';
import type { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import { UnknownEncodingError } from './unknown-encoding-error.js';

/** The BPE encodings this package ships (all those of `gpt-tokenizer`). */
export const encodingNames = [
  'cl100k_base',
  'o200k_base',
  'o200k_harmony',
  'p50k_base',
  'p50k_edit',
  'r50k_base',
  'gpt2',
] as const;

/** The name of a shipped BPE encoding. */
export type EncodingName = (typeof encodingNames)[number];

/** One rank table entry as `gpt-tokenizer` stores it: a string, or the bytes when not valid UTF-8. */
export type RawRank = string | readonly number[];

/** A loaded encoding: `gpt-tokenizer`'s API object and its rank table. */
export interface LoadedEncoding {
  readonly name: EncodingName;
  readonly api: GptEncoding;
  readonly ranks: readonly RawRank[];
}

interface EncodingModule {
  default: GptEncoding;
}
interface RanksModule {
  default: readonly RawRank[];
}

/** The rank table each encoding uses (several encodings share one). */
const rankTableOf: Record<EncodingName, string> = {
  cl100k_base: 'cl100k_base',
  o200k_base: 'o200k_base',
  o200k_harmony: 'o200k_base',
  p50k_base: 'p50k_base',
  p50k_edit: 'p50k_base',
  r50k_base: 'r50k_base',
  gpt2: 'r50k_base',
};

// Literal specifiers, so that bundlers can split each encoding into its own lazily loaded chunk.
const importEncoding: Record<EncodingName, () => Promise<[EncodingModule, RanksModule]>> = {
  cl100k_base: () =>
    Promise.all([import('gpt-tokenizer/encoding/cl100k_base'), import('gpt-tokenizer/bpeRanks/cl100k_base')]),
  o200k_base: () =>
    Promise.all([import('gpt-tokenizer/encoding/o200k_base'), import('gpt-tokenizer/bpeRanks/o200k_base')]),
  o200k_harmony: () =>
    Promise.all([import('gpt-tokenizer/encoding/o200k_harmony'), import('gpt-tokenizer/bpeRanks/o200k_base')]),
  p50k_base: () =>
    Promise.all([import('gpt-tokenizer/encoding/p50k_base'), import('gpt-tokenizer/bpeRanks/p50k_base')]),
  p50k_edit: () =>
    Promise.all([import('gpt-tokenizer/encoding/p50k_edit'), import('gpt-tokenizer/bpeRanks/p50k_base')]),
  r50k_base: () =>
    Promise.all([import('gpt-tokenizer/encoding/r50k_base'), import('gpt-tokenizer/bpeRanks/r50k_base')]),
  gpt2: () => Promise.all([import('gpt-tokenizer/encoding/gpt2'), import('gpt-tokenizer/bpeRanks/r50k_base')]),
};

const loaded = new Map<EncodingName, LoadedEncoding>();
const pending = new Map<EncodingName, Promise<LoadedEncoding>>();
let requireModule: NodeJS.Require | undefined;

/** Whether `name` is a shipped encoding name. */
export function isEncodingName(name: string): name is EncodingName {
  return (encodingNames as readonly string[]).includes(name);
}

function assertEncodingName(name: string): asserts name is EncodingName {
  if (!isEncodingName(name)) throw new UnknownEncodingError({ encodingName: name, knownEncodings: encodingNames });
}

/**
 * Loads an encoding with a dynamic `import()` of its module, only on first use; later calls
 * return the cached encoding.
 */
export async function loadEncoding(name: string): Promise<LoadedEncoding> {
  assertEncodingName(name);
  const cached = loaded.get(name);
  if (cached !== undefined) return cached;
  let promise = pending.get(name);
  if (promise === undefined) {
    promise = importEncoding[name]().then(([encodingModule, ranksModule]) => {
      const encoding = loaded.get(name) ?? { name, api: encodingModule.default, ranks: ranksModule.default };
      loaded.set(name, encoding);
      pending.delete(name);
      return encoding;
    });
    pending.set(name, promise);
  }
  return promise;
}

/**
 * Loads an encoding synchronously, only on first use. ES modules cannot be imported
 * synchronously, so this `require`s the CommonJS build of the same `gpt-tokenizer` module.
 */
export function loadEncodingSync(name: string): LoadedEncoding {
  assertEncodingName(name);
  const cached = loaded.get(name);
  if (cached !== undefined) return cached;
  requireModule ??= createRequire(import.meta.url);
  const encodingModule = requireModule(`gpt-tokenizer/encoding/${name}`) as EncodingModule;
  const ranksModule = requireModule(`gpt-tokenizer/bpeRanks/${rankTableOf[name]}`) as RanksModule;
  const encoding: LoadedEncoding = { name, api: encodingModule.default, ranks: ranksModule.default };
  loaded.set(name, encoding);
  return encoding;
}

/** Whether an encoding's module has been loaded already (for tests of lazy loading). */
export function isEncodingLoaded(name: EncodingName): boolean {
  return loaded.has(name);
}
