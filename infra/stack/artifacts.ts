/**
 * Stack artifacts from Maven Central: Kafka's jars and the Apicurio Registry distribution, resolved by
 * the pinned Maven project in infra/maven/pom.xml into a git-ignored cache, so a warm start needs no
 * network. A mirror (for air-gapped sites) is one setting: TRIBUTARY_MAVEN_MIRROR.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackError } from '../../lib/core/errors.js';

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const POM = join(PROJECT_ROOT, 'infra', 'maven', 'pom.xml');

/** The versions pinned in the pom, read from it so there is one place to change them. */
export function pinnedVersions(): { kafka: string; apicurio: string } {
  const pom = readFileSync(POM, 'utf8');
  const read = (name: string): string => {
    const match = new RegExp(`<${name}>([^<]+)</${name}>`).exec(pom);
    if (!match?.[1]) throw new Error(`infra/maven/pom.xml lacks <${name}>`);
    return match[1];
  };
  return { kafka: read('kafka.version'), apicurio: read('apicurio.version') };
}

export interface ArtifactOptions {
  /** Where artifacts are cached; default `<project>/.cache/stack` or $TRIBUTARY_CACHE_DIR. */
  readonly cacheDir?: string;
  /** A Maven repository URL that replaces Maven Central (a mirror or proxy). */
  readonly mavenMirrorUrl?: string;
  /** Maven's local repository; default Maven's own (~/.m2/repository). */
  readonly mavenRepoLocal?: string;
  readonly onProgress?: (message: string) => void;
}

export interface StackArtifacts {
  readonly kafkaClasspath: string;
  readonly apicurioDir: string;
  readonly versions: { kafka: string; apicurio: string };
}

/** A clone keeps its cache beside the code; an installed package shares one per user. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRIBUTARY_CACHE_DIR) return env.TRIBUTARY_CACHE_DIR;
  return existsSync(join(PROJECT_ROOT, 'package.json'))
    ? join(PROJECT_ROOT, '.cache', 'stack')
    : join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tributary', 'stack');
}

function layout(cacheDir: string, versions: { kafka: string; apicurio: string }) {
  const kafkaDir = join(cacheDir, `kafka-${versions.kafka}`);
  const apicurioDir = join(cacheDir, `apicurio-${versions.apicurio}`);
  return {
    kafkaLibs: join(kafkaDir, 'libs'),
    kafkaMarker: join(kafkaDir, '.complete'),
    apicurioDir,
    apicurioMarker: join(apicurioDir, '.complete'),
  };
}

/** A Maven settings file that sends every download to `url`, in a directory of its own to remove. */
function mirrorSettings(url: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-mvn-'));
  const file = join(dir, 'settings.xml');
  writeFileSync(
    file,
    `<settings><mirrors><mirror><id>tributary-mirror</id><mirrorOf>*</mirrorOf><url>${url}</url></mirror></mirrors></settings>\n`,
  );
  return { dir, file };
}

function runMaven(args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolvePromise) => {
    execFile('mvn', args, { maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 }, (error, stdout, stderr) => {
      resolvePromise({ ok: error === null, output: `${stdout}${stderr}` });
    });
  });
}

/** Returns the cached artifacts, downloading them first when the cache is cold. */
export async function ensureArtifacts(options: ArtifactOptions = {}): Promise<StackArtifacts> {
  const versions = pinnedVersions();
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const paths = layout(cacheDir, versions);
  const result = {
    kafkaClasspath: `${paths.kafkaLibs}/*`,
    apicurioDir: paths.apicurioDir,
    versions,
  };
  if (existsSync(paths.kafkaMarker) && existsSync(paths.apicurioMarker)) return result;

  mkdirSync(cacheDir, { recursive: true });
  options.onProgress?.(
    `fetching Kafka ${versions.kafka} and Apicurio Registry ${versions.apicurio} from Maven into ${cacheDir}`,
  );
  const args = ['-B', '-q', '-f', POM, 'generate-resources', `-Dstack.cache=${cacheDir}`];
  const mirror = options.mavenMirrorUrl ?? process.env.TRIBUTARY_MAVEN_MIRROR;
  const settings = mirror ? mirrorSettings(mirror) : null;
  if (settings) args.push('-s', settings.file);
  if (options.mavenRepoLocal) args.push(`-Dmaven.repo.local=${options.mavenRepoLocal}`);
  const { ok, output } = await runMaven(args).finally(
    () => settings && rmSync(settings.dir, { recursive: true, force: true }),
  );
  if (!ok || !existsSync(join(paths.apicurioDir, 'quarkus-run.jar'))) {
    throw new StackError(
      'TRIB_ARTIFACTS_UNAVAILABLE',
      `the stack artifacts are not in ${cacheDir} and Maven could not fetch them` +
        (mirror ? ` from ${mirror}` : ' from Maven Central') +
        '; check network access or set TRIBUTARY_MAVEN_MIRROR to a reachable Maven repository',
      { logTail: output.slice(-3000), details: { cacheDir, mirror } },
    );
  }
  writeFileSync(paths.kafkaMarker, `${versions.kafka}\n`);
  writeFileSync(paths.apicurioMarker, `${versions.apicurio}\n`);
  return result;
}
