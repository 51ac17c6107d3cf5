import { defineConfig } from 'vitest/config';
import { sourceAliases } from '../../vitest.shared';

export default defineConfig({
  resolve: { alias: sourceAliases },
  // The compiler API walk and the @types/node index are CPU-bound: on a shared two-core machine
  // they take several times longer than alone, so the limits leave room.
  test: { include: ['src/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 180_000 },
});
