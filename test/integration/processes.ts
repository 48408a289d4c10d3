/** Finds stack JVMs (Kafka brokers and Apicurio registries) by command line, for leak checks. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function stackJvmPids(): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-f', '^[^ ]*java .*(kafka\\.Kafka |quarkus-run\\.jar)']);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

export { isAlive } from '../../infra/stack/process.js';
