#!/usr/bin/env node
// The `tributary` command. From a clone (cli/main.ts present) it runs the TypeScript sources through
// tsx; from the installed package, the built JavaScript in dist/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
if (existsSync(source)) {
  const result = spawnSync(
    process.execPath,
    [
      '--conditions=tributary-source',
      '--import',
      import.meta.resolve('tsx'),
      source,
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  );
  process.exit(result.status ?? 1);
} else {
  await import('../dist/cli/main.js');
}
