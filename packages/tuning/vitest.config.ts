import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../../vitest.shared';

export default defineConfig({
  resolve: { alias: sourceAliases },
  // Training tests take a few seconds alone and several times that on a loaded 2-core machine.
  test: { include: ['src/**/*.test.ts'], testTimeout: 60_000 },
});
