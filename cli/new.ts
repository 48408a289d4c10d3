/**
 * `tributary new <dir>`: a task project that trains and passes its own integration test as it is:
 * package.json depending on Tributary, task.ts, a README and test/task.test.ts (the test kit).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandSpec, Parsed } from './args.js';
import { PACKAGE_ROOT } from '../lib/run/processes.js';

export const newCommand: CommandSpec = {
  name: 'new',
  summary: 'scaffold a task project: package.json, task.ts, README, an integration test',
  usage: 'tributary new <dir> [--name N] [--tributary SPEC]',
  positionals: [{ name: 'dir', required: true, help: 'where to create it (must not exist, or be empty)' }],
  flags: {
    name: { type: 'string', help: 'package and task id (default: the directory name)' },
    tributary: {
      type: 'string',
      placeholder: 'spec',
      help: 'the dependency on Tributary in package.json (default: ^<this version>; a path or tarball works)',
    },
  },
};

const TEMPLATE_DIR = fileURLToPath(new URL('./scaffold/', import.meta.url));

export function scaffold(parsed: Parsed): number {
  const dir = resolve(parsed.positionals.dir as string);
  const name = String(parsed.flags.name ?? basename(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-');
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) {
    console.error(`--name: "${name}" cannot name a package and a task (letters, digits, ".", "_", "-")`);
    return 2;
  }
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    console.error(`${dir}: exists and is not empty`);
    return 1;
  }
  const version = (
    JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const fill = (file: string) => readFileSync(join(TEMPLATE_DIR, file), 'utf8').replaceAll('__NAME__', name);
  mkdirSync(join(dir, 'test'), { recursive: true });
  const pkg = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'tributary run .',
      test: 'node --import tsx --test test/task.test.ts',
    },
    dependencies: { tributary: String(parsed.flags.tributary ?? `^${version}`) },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(dir, 'task.ts'), fill('task.ts.txt'));
  writeFileSync(join(dir, 'test', 'task.test.ts'), fill('test.ts.txt'));
  writeFileSync(join(dir, 'README.md'), fill('README.md.txt'));
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\nruns/\n');
  console.log(
    `created ${dir}: package.json, task.ts, test/task.test.ts, README.md\n\nnext:\n  cd ${dir}\n  npm install\n  npx tributary run .\n  npm test`,
  );
  return 0;
}
