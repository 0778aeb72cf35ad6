import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs core and experiment tests in Node; `browser` drives
// real headless Chromium (WebGPU on a software adapter) through playwright-core.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 180_000,
          fileParallelism: false, // one Chromium at a time: the machine has 2 cores
        },
      },
    ],
  },
});
