import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { estimatedSimilarity, keepDistinct, minHashSignature } from './near-duplicates.js';

const require = createRequire(import.meta.url);
const read = (specifier: string) => readFileSync(require.resolve(specifier), 'utf8');

describe('near-duplicate removal', () => {
  const chunk = read('lodash/chunk.js');
  // The same module rewritten the way packages ship an ESM variant beside the CommonJS one.
  const chunkAsModule = chunk
    .replace(/var (\w+) = require\('(.+?)'\);/g, "import $1 from '$2';")
    .replace('module.exports = chunk;', 'export default chunk;');
  const difference = read('lodash/difference.js');

  it('scores a module and its other-module-system variant as near duplicates', () => {
    expect(chunkAsModule).not.toBe(chunk);
    expect(estimatedSimilarity(minHashSignature(chunk), minHashSignature(chunkAsModule))).toBeGreaterThanOrEqual(0.8);
    expect(estimatedSimilarity(minHashSignature(chunk), minHashSignature(difference))).toBeLessThan(0.5);
  });

  it('keeps the first of each group of near duplicates and every distinct file', () => {
    expect(keepDistinct([chunk, difference, chunkAsModule])).toEqual([0, 1]);
    expect(keepDistinct([difference, chunk])).toEqual([0, 1]);
  });
});
