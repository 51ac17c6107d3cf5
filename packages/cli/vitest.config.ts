import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../../vitest.shared';

export default defineConfig({
  resolve: { alias: sourceAliases },
  // Cold compiler-API checks (the lib and a dependency's declarations) and the tiny model's
  // initialisation take seconds on a loaded 2-core machine; 5 s flaked under parallel suites.
  test: { include: ['src/**/*.test.ts'], testTimeout: 60000, hookTimeout: 60000 },
});
