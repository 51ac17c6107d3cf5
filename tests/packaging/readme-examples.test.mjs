// Every README example is a file that CI runs: a block marked `<!-- example: PATH -->` must be the
// literal content of PATH, and a block marked `<!-- output: PATH -->` must be what running PATH
// prints, up to numbers and hex digests (timings and losses vary by machine). See readme-examples.mjs.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { markedBlocks, outputShape, readmeFiles, root, runExample } from './readme-examples.mjs';

const blocks = readmeFiles().flatMap((readme) => markedBlocks(readme));
const publicPackages = ['core', 'tokenizer', 'native-kernels', 'runtime', 'tuning', 'retrieval', 'orchestrator', 'model-base', 'cli'];

test('every public package README has an example block backed by a file', () => {
  for (const name of publicPackages) {
    const readme = join(root, 'packages', name, 'README.md');
    expect(blocks.some((block) => block.readme === readme && block.kind === 'example'), `${name}/README.md`).toBe(true);
  }
});

describe.each(blocks.filter((block) => block.kind === 'example').map((block) => [`${relative(root, block.readme)} → ${block.relativePath}`, block]))(
  '%s',
  (_name, block) => {
    test('the README block is the file', () => {
      expect(existsSync(block.path)).toBe(true);
      expect(block.body).toBe(readFileSync(block.path, 'utf8').replace(/\n*$/, '\n'));
    });
  },
);

describe.each(blocks.filter((block) => block.kind === 'output').map((block) => [`${relative(root, block.readme)} → ${block.relativePath}`, block]))(
  '%s',
  (_name, block) => {
    test('running it prints what the README shows', () => {
      const result = runExample(block.path);
      expect(result.status, result.stderr).toBe(0);
      expect(outputShape(result.stdout)).toBe(outputShape(block.body));
    });
  },
);
