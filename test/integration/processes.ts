/** Finds stack JVMs (Kafka brokers and Apicurio registries) by command line, for leak checks. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The pids pgrep finds for `args`. */
async function pgrep(args: string[]): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', args);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export function stackJvmPids(): Promise<number[]> {
  return pgrep(['-f', '^[^ ]*java .*(kafka\\.Kafka |quarkus-run\\.jar)']);
}

/** The child processes of `pid` whose command line matches `pattern`. */
export function childrenOf(pid: number, pattern: string): Promise<number[]> {
  return pgrep(['-P', String(pid), '-f', pattern]);
}

export { isAlive } from '../../infra/stack/process.js';
