import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError } from '@codestack/core';
import type { DocEntry } from './doc-entry.js';
import { createFixtureProject, packageDirectory } from './__fixtures__/fixture-project.js';
import { TypesNotFoundError } from './types-not-found-error.js';
import { loadTypeScriptDocs } from './typescript-loader.js';

let project: string;
let entries: DocEntry[];
const byName = (name: string): DocEntry | undefined => entries.find((entry) => entry.name === name);

beforeAll(async () => {
  project = await createFixtureProject();
  entries = await loadTypeScriptDocs('sample-package', { from: project });
}, 60_000);
afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

describe('loadTypeScriptDocs', () => {
  it('records overload signatures, JSDoc tags, package and source line of a function', () => {
    const parse = byName('sample-package.parseDuration');
    expect(parse).toMatchObject({
      id: 'sample-package:sample-package.parseDuration',
      kind: 'function',
      package: 'sample-package',
      packageVersion: '1.2.3',
      sourceFile: 'lib/index.d.ts',
      line: 15,
      summary: 'Parses a duration such as `1h30m` into milliseconds.',
      returns: 'The duration in milliseconds.',
      since: '1.0.0',
    });
    expect(parse?.signatures).toEqual([
      'function parseDuration(text: string): number',
      'function parseDuration(text: string, fallback: number): number',
    ]);
    expect(parse?.parameters.map((parameter) => parameter.name)).toEqual(['text', 'fallback']);
    expect(parse?.examples[0]).toContain("parseDuration('1h')");
    expect(parse?.documentation).toContain('Longer explanation paragraph');
  });

  it('marks deprecated APIs', () => {
    expect(byName('sample-package.toMilliseconds')?.deprecated).toBe('Use parseDuration instead.');
    expect(byName('sample-package.parseDuration')?.deprecated).toBeUndefined();
  });

  it('walks classes with constructors, methods, properties and statics but not private members', () => {
    expect(byName('sample-package.RateLimiter')?.kind).toBe('class');
    expect(byName('sample-package.RateLimiter.constructor')?.kind).toBe('constructor');
    expect(byName('sample-package.RateLimiter.acquire')).toMatchObject({ kind: 'method', signatures: ['acquire(): Promise<void>'] });
    expect(byName('sample-package.RateLimiter.available')?.kind).toBe('property');
    expect(byName('sample-package.RateLimiter.fromConfig')?.kind).toBe('method');
    expect(byName('sample-package.RateLimiter.refill')).toBeUndefined();
  });

  it('walks interfaces, namespaces, enums, type aliases and renamed re-exports', () => {
    expect(byName('sample-package.LimiterConfig.burst')).toMatchObject({ kind: 'property', summary: 'Extra burst capacity.' });
    expect(byName('sample-package.durations')?.kind).toBe('namespace');
    expect(byName('sample-package.durations.add')?.kind).toBe('function');
    expect(byName('sample-package.durations.second')?.kind).toBe('variable');
    expect(byName('sample-package.Color')?.kind).toBe('enum');
    expect(byName('sample-package.Color.Red')).toMatchObject({ kind: 'enum-member', summary: 'Pure red.', sourceFile: 'lib/colors.d.ts' });
    expect(byName('sample-package.Unit')?.kind).toBe('type');
    expect(byName('sample-package.renderColor')).toMatchObject({ kind: 'function', summary: 'Formats a colour as a CSS string.' });
  });

  it('reads a package whose types come from the exports map', { timeout: 30_000 }, async () => {
    const loaded = await loadTypeScriptDocs('exports-package', { from: project });
    expect(loaded.find((entry) => entry.name === 'exports-package.greet')?.summary).toBe('Says hello.');
    // A class re-exported from a dependency keeps its members.
    const acquire = loaded.find((entry) => entry.name === 'exports-package.RateLimiter.acquire');
    expect(acquire).toMatchObject({ kind: 'method', package: 'exports-package', sourceFile: '../sample-package/lib/index.d.ts' });
  });

  it('indexes a real installed package (hnswlib-node)', { timeout: 30_000 }, async () => {
    const real = await loadTypeScriptDocs('hnswlib-node', { from: packageDirectory });
    const searchKnn = real.find((entry) => entry.name === 'hnswlib-node.HierarchicalNSW.searchKnn');
    expect(searchKnn?.signatures[0]).toMatch(/^searchKnn\(queryPoint: number\[\], numNeighbors: number/);
    expect(searchKnn?.parameters.length).toBeGreaterThan(0);
  });

  it('reports progress through the progress reporter', async () => {
    const lines: string[] = [];
    const stream = { write: (chunk: string) => (lines.push(chunk), true) } as unknown as NodeJS.WritableStream;
    const loaded = await loadTypeScriptDocs('sample-package', { from: project, json: true, progressStream: stream });
    const finish = JSON.parse(lines.at(-1) ?? '{}') as { event?: string; label?: string; entries?: number };
    expect(finish).toMatchObject({ event: 'finish', label: 'load sample-package', entries: loaded.length });
  });

  it('refuses a package without types and honours an aborted signal', async () => {
    await expect(loadTypeScriptDocs('untyped-package', { from: project })).rejects.toSatisfy(TypesNotFoundError.isInstance);
    await expect(loadTypeScriptDocs('sample-package', { from: project, signal: AbortSignal.abort() })).rejects.toSatisfy(
      AbortedError.isInstance,
    );
  });
});
