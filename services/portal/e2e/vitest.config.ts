import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The portal in a real browser against the whole system (libs/stack): one file at a time, since
// each starts every service, NATS, FerretDB and Chromium on the two shared cores. scripts/test runs
// it after the other projects and counts it in the same total.
export default defineConfig({
  root: fileURLToPath(new URL('../../../', import.meta.url)),
  test: {
    name: 'portal-e2e',
    include: ['services/portal/e2e/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
  },
});
