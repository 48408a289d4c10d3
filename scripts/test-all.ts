/**
 * `npm test`: every gate in one command, in order, stopping at the first that fails:
 * prepare (Docker engine and images where possible; native TensorFlow for TF.js; librdkafka for
 * what workers send), type-check, lint, unit, native-backend and integration tests.
 * Ends with one plain line, "tests: N passed, N failed, N skipped".
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsFile = join(root, '.vitest-results.json');

function step(name: string, command: string, args: string[]): void {
  const startedAt = Date.now();
  console.log(JSON.stringify({ component: 'test-all', event: 'step-start', step: name }));
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env });
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  console.log(
    JSON.stringify({ component: 'test-all', event: 'step-end', step: name, status: result.status, seconds }),
  );
  if (result.status !== 0 && name !== 'tests') {
    console.log(`tests: 0 passed, 1 failed (gate "${name}" failed)`);
    process.exit(result.status ?? 1);
  }
}

const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const only = process.argv.slice(2); // e.g. `npm test -- test/integration/stack-paths.test.ts`

if (process.env.TRIBUTARY_SKIP_PREPARE !== '1') {
  step('prepare-docker', 'bash', ['infra/docker/ensure-docker.sh']);
  step('prepare-native-tensorflow', 'bash', ['infra/tensorflow/ensure-native.sh']);
  step('prepare-native-kafka', 'bash', ['infra/kafka-native/ensure-native.sh']);
}
step('typecheck', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
step('lint', bin('eslint'), ['.']);
step('format', bin('prettier'), ['--check', '.']);
rmSync(resultsFile, { force: true });
step('tests', bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile=${resultsFile}`,
  ...only,
]);

if (!existsSync(resultsFile)) {
  console.log('tests: 0 passed, 1 failed (vitest wrote no results)');
  process.exit(1);
}
const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  success: boolean;
};
const skipped = results.numPendingTests + results.numTodoTests;
console.log(`tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped`);
process.exit(results.success && results.numFailedTests === 0 && results.numPassedTests > 0 ? 0 : 1);
