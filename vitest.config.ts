import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/models.ts'],
    // One file at a time: the suite measures latency (abort, concurrency) on a 2-core machine.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 900_000,
    reporters: ['default', './test/setup/summary.ts'],
    // It imports its JSON schema without an import attribute, which Node 20 refuses; let Vite load it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
