/**
 * Loading a user's task: a `.ts`, `.mts`, `.js` or `.mjs` file (or a directory holding `task.*`)
 * anywhere on disk, imported as is (TypeScript through tsx, so the user has no build step). The
 * module's default export (or its `task` export) must be what defineTask returned.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, TributaryError } from '../core/errors.js';
import { definitionProblems, isTask, resolveTaskConfig } from './define.js';
import { loadTf, type BackendName } from '../ml/backend.js';
import { TaskModel } from './model.js';
import type { Task, TaskConfig } from './types.js';

/** The repository's MNIST example when it is there (a clone); elsewhere a task must be named. */
export function defaultTaskSpec(): string | undefined {
  const mnist = fileURLToPath(new URL('../../examples/mnist/task.ts', import.meta.url));
  return existsSync(mnist) ? mnist : undefined;
}

const CANDIDATES = ['task.ts', 'task.mts', 'task.js', 'task.mjs'];

export function resolveTaskFile(spec: string, cwd = process.cwd()): string {
  const path = resolve(cwd, spec);
  if (!existsSync(path)) throw new TributaryError('TRIB_TASK_LOAD_FAILED', `no task at ${path}`);
  if (!statSync(path).isDirectory()) return path;
  const found = CANDIDATES.map((name) => join(path, name)).find((file) => existsSync(file));
  if (!found)
    throw new TributaryError(
      'TRIB_TASK_LOAD_FAILED',
      `${path} is a directory without a task file (looked for ${CANDIDATES.join(', ')})`,
    );
  return found;
}

export interface LoadedTask<C extends TaskConfig = TaskConfig> {
  readonly task: Task<C>;
  readonly file: string;
  /** The task's config with overrides applied. */
  readonly config: C;
}

/**
 * Imports the task at `spec` and applies config overrides (`TRIBUTARY_TASK_CONFIG`, a JSON object,
 * then `overrides`). Throws TRIB_TASK_LOAD_FAILED or a ConfigError with one line per problem.
 */
export async function loadTask(
  spec: string,
  options: { overrides?: Record<string, unknown>; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<LoadedTask> {
  const file = resolveTaskFile(spec, options.cwd);
  let module: Record<string, unknown>;
  try {
    const { tsImport } = await import('tsx/esm/api');
    module = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  } catch (cause) {
    // defineTask's own ConfigError (from the task's copy of the module graph: compare codes, not classes)
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('TRIB_')) throw cause;
    throw new TributaryError('TRIB_TASK_LOAD_FAILED', `${file}: ${(cause as Error).message}`, { cause });
  }
  // A .ts file outside an ESM package is loaded as CommonJS: its default export sits one level down.
  const nested = (module.default as Record<string, unknown> | undefined)?.default;
  const candidate = isTask(nested) ? nested : (module.default ?? module.task);
  if (!isTask(candidate)) {
    const looksLikeTask =
      typeof candidate === 'object' &&
      candidate !== null &&
      ['id', 'model', 'data'].some((k) => k in candidate);
    const problems = looksLikeTask ? definitionProblems(candidate) : [];
    throw new TributaryError(
      'TRIB_TASK_LOAD_FAILED',
      problems.length > 0
        ? `${file}: not a valid task:\n  - ${problems.join('\n  - ')}`
        : `${file}: export the task as default (export default defineTask({ ... }))`,
    );
  }
  const env = options.env ?? process.env;
  let fromEnv: Record<string, unknown> = {};
  if (env.TRIBUTARY_TASK_CONFIG) {
    try {
      fromEnv = JSON.parse(env.TRIBUTARY_TASK_CONFIG) as Record<string, unknown>;
      if (typeof fromEnv !== 'object' || fromEnv === null || Array.isArray(fromEnv))
        throw new Error('not an object');
    } catch (error) {
      throw new ConfigError([`TRIBUTARY_TASK_CONFIG: must be a JSON object (${(error as Error).message})`]);
    }
  }
  const { config, problems } = resolveTaskConfig(candidate, { ...fromEnv, ...options.overrides });
  if (problems.length > 0) throw new ConfigError(problems);
  return { task: candidate, file, config };
}

/**
 * A task's model on a TF.js backend of this process (cpu unless told): for tools and tests that
 * need the layout, initial weights or an evaluation outside the services.
 */
export async function loadTaskModel(
  spec: string,
  options: { overrides?: Record<string, unknown>; backend?: BackendName } = {},
): Promise<TaskModel> {
  const { task, config } = await loadTask(spec, { overrides: options.overrides ?? {}, env: {} });
  const { tf } = await loadTf({ needsConvGradients: false, prefer: options.backend ?? 'cpu' });
  return new TaskModel(tf, task, config);
}
