/**
 * How to start a Tributary service as a child process, from a clone (TypeScript through tsx, with
 * the `tributary-source` condition so `import 'tributary'` resolves to the sources) or from the
 * installed package (its built JavaScript).
 */
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
