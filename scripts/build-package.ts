/**
 * `npm run build` (and `npm pack`, through prepack): the package as JavaScript with type
 * declarations in dist/, and beside it the files the code reads at run time (schemas, the stack's
 * configuration and scripts, the scaffold's templates), at the same relative paths as in a clone.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const ASSETS = [
  'schemas',
  'infra/kafka/server.properties',
  'infra/kafka/log4j2.yaml',
  'infra/kafka/entrypoint.sh',
  'infra/maven/pom.xml',
  'infra/stack/supervise.sh',
  'infra/docker',
  'infra/tensorflow',
  'cli/scaffold',
];

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
for (const asset of ASSETS) cpSync(join(root, asset), join(dist, asset), { recursive: true });
console.log(JSON.stringify({ component: 'build-package', event: 'built', dist, assets: ASSETS.length }));
