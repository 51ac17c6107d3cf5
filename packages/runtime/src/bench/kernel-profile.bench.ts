/**
 * Per-kernel time tables for the runtime bench (`npm run bench -w packages/runtime -- --profile`):
 * `tf.profile` around one warm training step (`Trainer.trainStep`, after a warm-up step) and one
 * warm cached decode step, aggregated by kernel name; the decode step's own products (which run
 * outside tfjs's kernels on codestack's) are timed by the step itself (`decodeStepTimer`) and
 * listed beside them. Issue 15's "profile first" step.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Runtime } from "../backend/runtime.js";
import { LlamaModel } from "../model/llama-model.js";
import type { ModelConfig } from "../model/model-config.js";
import { SeededRandom } from "../random/seeded-random.js";
import { writeTokenShard } from "../data/token-shards.js";
import { PackedDataset } from "../data/packed-dataset.js";
import { Trainer } from "../training/trainer.js";
import { decodeStepTimer } from "../model/decode-step.js";

export interface KernelRow {
  kernel: string;
  count: number;
  totalMs: number;
  /** Fraction of the summed kernel time of the step. */
  share: number;
}

export interface KernelTable {
  /** Registered kernels run in the step (composite entries excluded), and calls of the parts a decode step times itself. */
  kernels: number;
  /** Sum of kernelTimeMs over registered kernels, and of the time of those parts. */
  kernelMs: number;
  /** Wall time of the profiled step (includes profiling overhead). */
  wallMs: number;
  /** Top rows by total time, then one "other" row. */
  rows: KernelRow[];
  /**
   * Entries that are not registered kernels but custom-gradient ops (`tf.customGrad` is profiled
   * under its scope name, e.g. "forward", "logSoftmax__op"): their time includes the nested kernels
   * already counted in `rows`, so they are kept out of the totals and shares (share here is
   * relative to `kernelMs`, for scale only).
   */
  composite: KernelRow[];
}

export interface KernelProfile {
  config: string;
  training: KernelTable & { batch: string };
  decode: KernelTable & { context: number };
}

const round = (value: number, digits = 2): number =>
  Number(value.toFixed(digits));

async function profileTable(
  runtime: Runtime,
  body: () => Promise<void>,
  top: number,
  parts?: Map<string, { count: number; totalMs: number }>
): Promise<KernelTable> {
  const start = performance.now();
  const info = await runtime.tf.profile(body);
  const wallMs = performance.now() - start;
  const backendName = runtime.tf.getBackend();
  // Timed parts that are not tfjs kernels (a decode step's own products) count as rows like kernels.
  const byName = new Map<string, { count: number; totalMs: number }>(parts);
  const compositeByName = new Map<string, { count: number; totalMs: number }>();
  let kernelMs = 0;
  let kernels = 0;
  for (const part of parts?.values() ?? []) {
    kernelMs += part.totalMs;
    kernels += part.count;
  }
  for (const kernel of info.kernels) {
    const raw = await kernel.kernelTimeMs;
    const ms = typeof raw === "number" ? raw : 0;
    const registered =
      runtime.tf.getKernel(kernel.name, backendName) !== undefined;
    const target = registered ? byName : compositeByName;
    if (registered) {
      kernelMs += ms;
      kernels += 1;
    }
    const entry = target.get(kernel.name) ?? { count: 0, totalMs: 0 };
    entry.count += 1;
    entry.totalMs += ms;
    target.set(kernel.name, entry);
  }
  const byTotal = (
    map: Map<string, { count: number; totalMs: number }>
  ): [string, { count: number; totalMs: number }][] =>
    [...map.entries()].sort(
      (left, right) => right[1].totalMs - left[1].totalMs
    );
  const sorted = byTotal(byName);
  const toRow = (
    kernel: string,
    count: number,
    totalMs: number
  ): KernelRow => ({
    kernel,
    count,
    totalMs: round(totalMs),
    share: kernelMs > 0 ? round(totalMs / kernelMs, 3) : 0,
  });
  const rows = sorted
    .slice(0, top)
    .map(([name, value]) => toRow(name, value.count, value.totalMs));
  const rest = sorted.slice(top);
  if (rest.length > 0) {
    rows.push(
      toRow(
        `other (${rest.length} kernels)`,
        rest.reduce((sum, [, value]) => sum + value.count, 0),
        rest.reduce((sum, [, value]) => sum + value.totalMs, 0)
      )
    );
  }
  const composite = byTotal(compositeByName).map(([name, value]) =>
    toRow(name, value.count, value.totalMs)
  );
  return {
    kernels,
    kernelMs: round(kernelMs),
    wallMs: round(wallMs, 1),
    rows,
    composite,
  };
}

/** Profiles one training step (batch 8×128, AdamW, one worker) and one cached decode step at `context`. */
export async function kernelProfile(
  runtime: Runtime,
  name: string,
  config: ModelConfig,
  options: { context?: number; top?: number } = {}
): Promise<KernelProfile> {
  const context = options.context ?? 256;
  const top = options.top ?? 15;
  const random = new SeededRandom(2);
  const ids = (length: number): number[] =>
    Array.from({ length }, () => random.nextInt(config.vocabularySize));
  const model = LlamaModel.create(runtime, config, { seed: 1 });
  try {
    const directory = await mkdtemp(join(tmpdir(), "runtime-profile-"));
    const batchSize = 8;
    const sequenceLength = 128;
    let training: KernelTable;
    try {
      await writeTokenShard(join(directory, "train.tokens"), ids(50_000));
      const data = await PackedDataset.open(directory);
      const trainer = new Trainer({
        model,
        data,
        batchSize,
        sequenceLength,
        workers: 1,
        schedule: { peakLearningRate: 1e-3, warmupSteps: 2, totalSteps: 100 },
      });
      try {
        await trainer.trainStep();
        training = await profileTable(
          runtime,
          async () => void (await trainer.trainStep()),
          top
        );
      } finally {
        trainer.dispose();
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }

    const cache = model.createCache(1);
    let decode: KernelTable;
    try {
      // Prefill context - 5, 4 warm steps, then the profiled step is token number `context`.
      model
        .logits([ids(context - 5)], cache, { lastPositionOnly: true })
        .dispose();
      const step = async (): Promise<void> => {
        const logits = model.logits([ids(1)], cache);
        await logits.data();
        logits.dispose();
      };
      for (let warm = 0; warm < 4; warm++) await step();
      // The decode step's own products run outside tfjs's kernels: it times them itself.
      const parts = new Map<string, { count: number; totalMs: number }>();
      decodeStepTimer.record = (part, milliseconds) => {
        const entry = parts.get(part) ?? { count: 0, totalMs: 0 };
        entry.count += 1;
        entry.totalMs += milliseconds;
        parts.set(part, entry);
      };
      try {
        decode = await profileTable(runtime, step, top, parts);
      } finally {
        decodeStepTimer.record = undefined;
      }
    } finally {
      cache.dispose();
    }
    return {
      config: name,
      training: { batch: `${batchSize}x${sequenceLength}`, ...training },
      decode: { context, ...decode },
    };
  } finally {
    model.dispose();
  }
}

/** Two short summary lines: kernel count, wall ms and the top 3 kernels with their shares. */
export function kernelProfileSummary(profile: KernelProfile): string {
  const line = (label: string, table: KernelTable): string =>
    `${label}: ${table.kernels} kernels, ${table.kernelMs} kernel ms, ${
      table.wallMs
    } wall ms; top ${table.rows
      .slice(0, 3)
      .map((row) => `${row.kernel} ${Math.round(row.share * 100)}%`)
      .join(", ")}`;
  return [
    line(
      `profile ${profile.config} train step ${profile.training.batch}`,
      profile.training
    ),
    line(
      `profile ${profile.config} cached decode step at context ${profile.decode.context}`,
      profile.decode
    ),
  ].join("\n");
}
