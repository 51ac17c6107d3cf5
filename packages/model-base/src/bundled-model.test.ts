import { spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, openDirectoryFiles } from '@codestack/core';
import { createRuntime, generate, loadModel, parameterCount } from '@codestack/runtime';
import { loadCompactVocabulary } from '@codestack/tokenizer';
import { evaluatePerplexity, loadAdapter } from '@codestack/tuning';
import { baseModelDirectory, bundledAdapterDirectory, bundledAdapterNames } from './bundled-model.js';

// Held-out code: written for this test, so the model never saw it.
const heldOutCode = `import { readFile } from 'node:fs/promises';

/** Counts the words of a text file. */
export async function countWords(path) {
  const text = await readFile(path, 'utf8');
  const words = text.split(/\\s+/).filter((word) => word.length > 0);
  return words.length;
}

export function isEven(value) {
  return value % 2 === 0;
}
`;

describe('the bundled base model', () => {
  it('loads with its checksums verified, within 25 MB, with the vocabulary it was trained with', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const { size } = await stat(join(baseModelDirectory, 'model.safetensors'));
    expect(size).toBeLessThanOrEqual(25 * 1024 * 1024);
    const vocabulary = await loadCompactVocabulary(join(baseModelDirectory, 'vocabulary.json'));
    const tensors = runtime.tf.memory().numTensors;
    // codestack-manifest.json covers both files the loader reads, config.json included.
    const files = await openDirectoryFiles(baseModelDirectory);
    expect(Object.keys(files.manifest?.files ?? {})).toEqual(['config.json', 'model.safetensors']);
    for (const name of bundledAdapterNames) {
      expect(Object.keys((await openDirectoryFiles(bundledAdapterDirectory(name))).manifest?.files ?? {})).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    }
    const model = await loadModel(runtime, baseModelDirectory);
    expect(model.config.vocabularySize).toBe(vocabulary.vocabularySize);
    const summary = JSON.parse(await readFile(join(baseModelDirectory, 'training-summary.json'), 'utf8')) as { parameters: number };
    expect(parameterCount(model.config)).toBe(summary.parameters);
    model.dispose();
    expect(runtime.tf.memory().numTensors).toBe(tensors);
  });

  it('predicts unseen JavaScript far better than chance and completes code, leaking no tensors', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const vocabulary = await loadCompactVocabulary(join(baseModelDirectory, 'vocabulary.json'));
    const model = await loadModel(runtime, baseModelDirectory);
    const tensors = runtime.tf.memory().numTensors;
    const ids = vocabulary.encode(heldOutCode);
    const { loss } = await evaluatePerplexity({ model, data: { sequences: [ids] }, sequenceLength: 128 });
    // Chance is ln(2310) = 7.7 nats per token; an untrained model scores about that.
    expect(loss).toBeLessThan(3);
    const [result] = await generate(model, [vocabulary.encode('export function isOdd(value) {\n  return')], { maximumNewTokens: 8, temperature: 0, tokenizer: vocabulary });
    expect(result!.tokens.length).toBeGreaterThan(0);
    expect(runtime.tf.memory().numTensors).toBe(tensors);
    model.dispose();
  });

  it('ships adapters that load onto it (their base fingerprint matches) and change its output', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const vocabulary = await loadCompactVocabulary(join(baseModelDirectory, 'vocabulary.json'));
    const model = await loadModel(runtime, baseModelDirectory);
    const ids = vocabulary.encode("import { map, filter } from 'rxjs/operators';\nsource$.pipe(map((value) => value * 2), filter(Boolean));\n");
    const plain = (await evaluatePerplexity({ model, data: { sequences: [ids] }, sequenceLength: 64 })).loss;
    for (const name of bundledAdapterNames) {
      const adapter = await loadAdapter(model, bundledAdapterDirectory(name));
      const adapted = (await evaluatePerplexity({ model, adapter, data: { sequences: [ids] }, sequenceLength: 64 })).loss;
      expect(Math.abs(adapted - plain)).toBeGreaterThan(1e-3);
      adapter.dispose();
    }
    model.dispose();
    expect(() => bundledAdapterDirectory('no-such-adapter')).toThrow(/no bundled adapter/);
    expect(InvalidArgumentError.isInstance(captured(() => bundledAdapterDirectory('../model')))).toBe(true);
  });
});

describe('the README example', () => {
  it('runs: completes with the base model, then with the rxjs adapter merged and unmerged', () => {
    const example = fileURLToPath(new URL('../examples/complete.mjs', import.meta.url));
    const result = spawnSync(process.execPath, [example], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^backend \w+/);
    expect(result.stdout).toContain('--- with the rxjs adapter:');
    expect(result.stdout).toContain('--- without it:');
  });
});

function captured(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}
