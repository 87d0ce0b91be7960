import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'functions/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Handlers read config at import time; the global setup exports the local endpoints via env first.
    pool: 'forks',
    // Two files at a time (vitest would take cores − 1 = 1 on the 2-core CI machine): most files wait on
    // DynamoDB Local, SQS and timers rather than on the CPU, so the suite takes ~600 s instead of ~900 s.
    // Files that scan what other files also write (report planners) use tables of their own.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
