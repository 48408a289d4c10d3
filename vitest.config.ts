import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests beside the code, and integration tests that need the real stack
// (one broker + registry per run, started by test/integration/global-setup.ts). Workers resolve
// `import 'tributary'` (the examples' tasks) to the sources, as every process of a clone does.
const execArgv = ['--conditions=tributary-source'];
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          execArgv,
          include: [
            'lib/**/*.test.ts',
            'services/**/*.test.ts',
            'infra/**/*.test.ts',
            'test/fuzz/**/*.test.ts',
            'test/docs/**/*.test.ts',
            'cli/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'native',
          execArgv,
          include: ['test/native/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'integration',
          execArgv,
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
