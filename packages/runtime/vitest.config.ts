import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../../vitest.shared';

export default defineConfig({
  resolve: { alias: sourceAliases },
  // Training tests on the pure-JS cpu backend take seconds, more when other builds share the cores.
  test: { include: ['src/**/*.test.ts'], testTimeout: 120_000 },
});
