import { describe, expect, it } from 'vitest';
import { computesOnHost } from './host-compute.js';
import { createRuntime } from './runtime.js';

describe('computesOnHost', () => {
  it('takes the JavaScript paths on wasm and cpu only, never on the libtensorflow backends', () => {
    expect(computesOnHost('wasm')).toBe(true);
    expect(computesOnHost('cpu')).toBe(true);
    // tfjs-node and tfjs-node-gpu both register as 'tensorflow'.
    expect(computesOnHost('tensorflow')).toBe(false);
    expect(computesOnHost('webgl')).toBe(false);
    expect(computesOnHost('webgpu')).toBe(false);
    expect(computesOnHost(null)).toBe(false);
    expect(computesOnHost(undefined)).toBe(false);
  });

  it("agrees with the engine's name of each runtime available here", async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      const runtime = await createRuntime({ backend });
      expect(computesOnHost(runtime.tf.getBackend())).toBe(true);
    }
  });
});
