import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests beside the code, and integration tests that need the real stack
// (one broker + registry per run, started by test/integration/global-setup.ts). Workers resolve
// `import 'tributary'` (the examples' tasks) to the sources, as every process of a clone does.
const execArgv = ['--conditions=tributary-source'];
// Tests that import an example (the sensor fleet's simulator) import 'tributary' in the test process
// itself, where Vite resolves modules: point it at the sources too (without this it found a stale
// dist/ where one had been built, and nothing in a fresh clone).
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const resolve = {
  alias: [
    { find: /^tributary$/, replacement: source('./lib/index.ts') },
    { find: /^tributary\/testing$/, replacement: source('./lib/testing/index.ts') },
  ],
};
export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          execArgv,
          include: [
            'lib/**/*.test.ts',
            'services/**/*.test.ts',
            'infra/**/*.test.ts',
            'test/fuzz/**/*.test.ts',
            'test/docs/**/*.test.ts',
            'test/examples/**/*.test.ts',
            'cli/**/*.test.ts',
            'bench/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        resolve,
        test: {
          name: 'native',
          execArgv,
          include: ['test/native/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
        },
      },
      {
        resolve,
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
