import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../../vitest.shared';

export default defineConfig({
  resolve: { alias: sourceAliases },
  // Worker start-up and whole-file encodes take seconds on a shared 2-core machine.
  test: { include: ['src/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 30_000 },
});
