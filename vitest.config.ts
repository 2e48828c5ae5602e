import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * `npm test`: unit and integration tests, fast. The end-to-end files (separate processes, the
 * benchmark smoke run, throttling at real rates) are in test/e2e, run by `npm run test:e2e`.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file starts its own emulator on an ephemeral port, so files can run in parallel.
    pool: 'forks',
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
