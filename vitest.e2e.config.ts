import { defineConfig } from 'vitest/config';

/** `npm run test:e2e`: the slow end-to-end files, each with processes or rates of its own. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
