import { defineConfig } from 'vitest/config';

// Two projects: everything on local servers and the emulator, and the suite on a real Asterisk
// (tests/asterisk), which scripts/test runs on its own afterwards: it loads both cores with SIP
// traffic and must not share them with other test files.
export default defineConfig({
  test: {
    // Each test file runs in its own process, so servers it starts die with it at worst.
    pool: 'forks',
    maxWorkers: 2,
    // Generous on purpose: CI is a busy 2-core machine; tests wait on events, not on these.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['libs/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'tests/asterisk/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'asterisk',
          include: ['tests/asterisk/src/**/*.test.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});
