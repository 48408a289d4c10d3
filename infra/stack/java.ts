/**
 * Finds a Java runtime new enough for a stack component. Kafka 4.x needs 17+, Apicurio Registry 3.3
 * needs 21+, so each component asks for its own minimum and the first candidate that meets it wins.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StackError } from '../../lib/core/errors.js';

const run = promisify(execFile);

export interface JavaRuntime {
  readonly path: string;
  readonly major: number;
  readonly versionLine: string;
}

/** Candidates in preference order: $TRIBUTARY_JAVA, $JAVA_HOME, `java` on PATH, then /usr/lib/jvm/*. */
export function defaultJavaCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates: string[] = [];
  if (env.TRIBUTARY_JAVA) candidates.push(env.TRIBUTARY_JAVA);
  if (env.JAVA_HOME) candidates.push(join(env.JAVA_HOME, 'bin', 'java'));
  candidates.push('java');
  const jvmRoot = '/usr/lib/jvm';
  if (existsSync(jvmRoot)) {
    for (const entry of readdirSync(jvmRoot).sort().reverse()) {
      const bin = join(jvmRoot, entry, 'bin', 'java');
      if (existsSync(bin)) candidates.push(bin);
    }
  }
  return [...new Set(candidates)];
}

/** Parses the major version out of `java -version` output ("17.0.15", "1.8.0_402", "25"). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

async function probe(path: string): Promise<JavaRuntime | undefined> {
  try {
    const { stderr, stdout } = await run(path, ['-version'], { timeout: 15_000 });
    const text = `${stderr}${stdout}`;
    const major = parseJavaMajor(text);
    return major === undefined ? undefined : { path, major, versionLine: text.split('\n')[0] ?? '' };
  } catch {
    return undefined;
  }
}

export async function findJava(
  minMajor: number,
  component: string,
  candidates: readonly string[] = defaultJavaCandidates(),
): Promise<JavaRuntime> {
  const found: JavaRuntime[] = [];
  for (const candidate of candidates) {
    const runtime = await probe(candidate);
    if (runtime === undefined) continue;
    if (runtime.major >= minMajor) return runtime;
    found.push(runtime);
  }
  if (found.length === 0) {
    throw new StackError(
      'TRIB_JAVA_MISSING',
      `${component} needs Java ${minMajor}+ but no Java runtime was found (tried: ${candidates.join(', ')}); ` +
        `install one (Debian: apt-get install openjdk-${Math.max(minMajor, 17)}-jre-headless) or set TRIBUTARY_JAVA`,
      { details: { component, minMajor, candidates } },
    );
  }
  throw new StackError(
    'TRIB_JAVA_TOO_OLD',
    `${component} needs Java ${minMajor}+ but only found ${found.map((r) => `${r.path} (${r.major})`).join(', ')}; ` +
      `set TRIBUTARY_JAVA to a newer java binary`,
    { details: { component, minMajor, found } },
  );
}
