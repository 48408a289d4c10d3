/**
 * How to start a Tributary service as a child process, from a clone (TypeScript through tsx, with
 * the `tributary-source` condition so `import 'tributary'` resolves to the sources) or from the
 * installed package (its built JavaScript).
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The path, not the URL: tsx's tsImport (worker threads) adds a query to a module's URL.
const FROM_SOURCE = new URL(import.meta.url).pathname.endsWith('.ts');

/** The package's root: the clone, or the installed package's dist/ parent. */
export const PACKAGE_ROOT = fileURLToPath(new URL(FROM_SOURCE ? '../..' : '../../..', import.meta.url));

/** Node arguments that run `script` (a path relative to lib/run's package layout) as the services do. */
export function nodeArgs(relativeScript: string): string[] {
  const file = fileURLToPath(
    new URL(`../../${relativeScript.replace(/\.ts$/, FROM_SOURCE ? '.ts' : '.js')}`, import.meta.url),
  );
  // tsx by absolute URL: a child may run from any directory (a user's task project, say).
  return FROM_SOURCE
    ? ['--conditions=tributary-source', '--import', import.meta.resolve('tsx'), file]
    : [file];
}

export function serviceArgs(kind: 'coordinator' | 'worker'): string[] {
  return nodeArgs(`services/${kind}/main.ts`);
}

/**
 * A child's stdout and stderr into one log file, which closes when the child's streams have both
 * closed; settles then. Piped the plain way, the first stream to end ends the file, and a line the
 * other writes after that is a write after end: an error event that takes the parent down (seen when
 * a coordinator wrote its CPU profile notice as it exited).
 */
export async function logChildOutput(child: ChildProcess, file: string): Promise<void> {
  const log = createWriteStream(file);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  // Not events.once: it rejects on the child's 'error' (a failed spawn), which its owner handles.
  await new Promise((resolve) => child.once('close', resolve));
  await new Promise((resolve) => log.end(resolve));
}
