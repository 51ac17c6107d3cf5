import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../backend/runtime.js';
import { loadModel } from './checkpoint.js';
import { randomModel, tinyCheckpoints, writeHuggingFaceDirectory } from '../__fixtures__/hugging-face-checkpoints.js';

// Compares the runtime with an independent PyTorch implementation of the Hugging Face modelling
// code (scripts/reference-forward.py). PyTorch is optional: without it the test is skipped.
const python = '/usr/bin/python3';
const script = fileURLToPath(new URL('../../scripts/reference-forward.py', import.meta.url));
const torchAvailable = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!torchAvailable) console.log(`reference-forward.test.ts: skipped, ${python} cannot import torch (apt-get install python3-torch to run it)`);

const scratch = await mkdtemp(join(tmpdir(), 'codestack-reference-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

interface ReferenceAnswer {
  logits: number[][];
  greedy: number[];
}

describe.skipIf(!torchAvailable)('logits against the PyTorch reference', () => {
  it('match for every architecture within 1e-3, with the same argmax at every position and the same greedy tokens', async () => {
    const runtime = await createRuntime({ backend: 'wasm' });
    const { tf } = runtime;
    // 96 positions, so that the rescaled low rotary frequencies (llama3, linear) turn far enough to matter.
    const tokens = Array.from({ length: 96 }, (_, index) => (index * 37 + 11) % 160);
    const steps = 8;
    const directories = [];
    for (const checkpoint of tinyCheckpoints) {
      const directory = join(scratch, checkpoint.name);
      const source = randomModel(runtime, checkpoint, 11);
      await writeHuggingFaceDirectory(source, checkpoint, directory);
      source.dispose();
      directories.push(directory);
    }
    const run = spawnSync(python, [script], {
      input: JSON.stringify(directories.map((directory) => ({ directory, tokens, greedySteps: steps }))),
      encoding: 'utf8',
      maxBuffer: 256 << 20,
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    expect(run.status, run.stderr).toBe(0);
    const answers = JSON.parse(run.stdout) as ReferenceAnswer[];
    const report: Record<string, { maximumDifference: number; greedy: number[] }> = {};
    for (const [index, checkpoint] of tinyCheckpoints.entries()) {
      const reference = answers[index]!;
      const baseline = tf.memory().numTensors;
      const model = await loadModel(runtime, directories[index]!);
      const logits = model.logits([tokens]);
      const values = logits.arraySync()[0]!;
      logits.dispose();
      let worst = 0;
      for (const [position, row] of values.entries()) {
        const expected = reference.logits[position]!;
        for (const [column, value] of row.entries()) worst = Math.max(worst, Math.abs(value - expected[column]!));
        expect(row.indexOf(Math.max(...row)), `${checkpoint.name} argmax at ${position}`).toBe(expected.indexOf(Math.max(...expected)));
      }
      expect(worst, checkpoint.name).toBeLessThanOrEqual(1e-3);
      // Greedy decoding with the KV cache, against the reference's full recomputation at every step.
      const cache = model.createCache();
      const greedy: number[] = [];
      let input = tokens;
      for (let step = 0; step < steps; step++) {
        const best = tf.tidy(() => tf.argMax(model.logits([input], cache, { lastPositionOnly: true }), -1));
        const next = best.dataSync()[0] as number;
        best.dispose();
        greedy.push(next);
        input = [next];
      }
      cache.dispose();
      model.dispose();
      expect(tf.memory().numTensors).toBe(baseline);
      expect(greedy, checkpoint.name).toEqual(reference.greedy);
      report[checkpoint.name] = { maximumDifference: worst, greedy };
    }
    console.log(`reference-forward.test.ts: ${JSON.stringify(report)}`);
  });
});
