import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['libs/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    // Each test file runs in its own process, so servers it starts die with it at worst.
    pool: 'forks',
    maxWorkers: 2,
    // Generous on purpose: CI is a busy 2-core machine; tests wait on events, not on these.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
