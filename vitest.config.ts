import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Forks, not threads: later suites mount FUSE and load native addons.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
