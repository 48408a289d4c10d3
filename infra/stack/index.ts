/**
 * startStack(): one Kafka broker and one Confluent-compatible schema registry, for the demo, the
 * tests and the benchmarks alike. Order:
 *   1. an existing cluster named by KAFKA_BROKERS and SCHEMA_REGISTRY_URL;
 *   2. containers through testcontainers, when a Docker engine answers and the images exist;
 *   3. child JVMs from Maven Central artifacts cached in .cache/stack.
 * TRIBUTARY_STACK=external|containers|local forces one path.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from '../../lib/core/errors.js';
import { startLocalKafka } from '../kafka/local.js';
import { APICURIO_MIN_JAVA, startLocalRegistry } from '../registry/local.js';
import { type ArtifactOptions, defaultCacheDir, ensureArtifacts } from './artifacts.js';
import { containersAvailable, startContainerStack } from './containers.js';
import { defaultJavaCandidates, findJava } from './java.js';

export const KAFKA_MIN_JAVA = 17;

export type StackMode = 'external' | 'containers' | 'local';

export interface Stack {
  readonly brokers: string[];
  readonly registryUrl: string;
  readonly mode: StackMode;
  /** Milliseconds from startStack() to ready. */
  readonly startupMs: number;
  /** Where the local path keeps its logs and data (undefined for the other paths). */
  readonly workDir?: string;
  stop(): Promise<void>;
}

export interface StackOptions extends ArtifactOptions {
  readonly mode?: StackMode | 'auto';
  readonly env?: NodeJS.ProcessEnv;
  readonly kafkaPort?: number;
  readonly registryPort?: number;
  readonly javaCandidates?: readonly string[];
  readonly kafkaReadyTimeoutMs?: number;
  readonly registryReadyTimeoutMs?: number;
  readonly registrySystemProperties?: Readonly<Record<string, string>>;
  /** Keep the local work directory (logs, data) after stop(); default: keep only on failure. */
  readonly keepWorkDir?: boolean;
}

function chooseMode(options: StackOptions, env: NodeJS.ProcessEnv): { mode: StackMode; reason: string } {
  const forced = options.mode ?? (env.TRIBUTARY_STACK as StackMode | 'auto' | undefined) ?? 'auto';
  if (forced !== 'auto') {
    if (!['external', 'containers', 'local'].includes(forced)) {
      throw new StackError(
        'TRIB_CONFIG_INVALID',
        `TRIBUTARY_STACK must be auto, external, containers or local, not "${forced}"`,
      );
    }
    return { mode: forced, reason: 'forced' };
  }
  if (env.KAFKA_BROKERS && env.SCHEMA_REGISTRY_URL) return { mode: 'external', reason: 'KAFKA_BROKERS set' };
  const containers = containersAvailable();
  if (containers.ok) return { mode: 'containers', reason: containers.reason };
  return { mode: 'local', reason: containers.reason };
}

function externalStack(env: NodeJS.ProcessEnv, startedAt: number): Stack {
  const brokers = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const registryUrl = (env.SCHEMA_REGISTRY_URL ?? '').replace(/\/+$/, '');
  if (brokers.length === 0 || registryUrl === '') {
    throw new StackError(
      'TRIB_CONFIG_INVALID',
      'the external stack needs both KAFKA_BROKERS and SCHEMA_REGISTRY_URL',
    );
  }
  return { brokers, registryUrl, mode: 'external', startupMs: Date.now() - startedAt, stop: async () => {} };
}

async function localStack(
  options: StackOptions,
  startedAt: number,
  log: (m: string) => void,
): Promise<Stack> {
  const candidates = options.javaCandidates ?? defaultJavaCandidates(options.env ?? process.env);
  const kafkaJava = await findJava(KAFKA_MIN_JAVA, 'Kafka', candidates);
  const registryJava = await findJava(APICURIO_MIN_JAVA, 'Apicurio Registry', candidates);
  const artifacts = await ensureArtifacts({ ...options, onProgress: options.onProgress ?? log });
  const runsDir = join(options.cacheDir ?? defaultCacheDir(), '..', 'stack-runs');
  mkdirSync(runsDir, { recursive: true });
  const workDir = mkdtempSync(join(runsDir, 'run-'));
  log(`starting Kafka ${artifacts.versions.kafka} and Apicurio ${artifacts.versions.apicurio} in ${workDir}`);
  // Both JVMs start together: on two cores that still saves the registry's few seconds of boot.
  const [kafka, registry] = await Promise.allSettled([
    startLocalKafka({
      java: kafkaJava,
      classpath: artifacts.kafkaClasspath,
      workDir,
      port: options.kafkaPort,
      readyTimeoutMs: options.kafkaReadyTimeoutMs,
    }),
    startLocalRegistry({
      java: registryJava,
      apicurioDir: artifacts.apicurioDir,
      workDir,
      port: options.registryPort,
      readyTimeoutMs: options.registryReadyTimeoutMs,
      extraSystemProperties: options.registrySystemProperties,
    }),
  ]);
  if (kafka.status === 'rejected' || registry.status === 'rejected') {
    if (kafka.status === 'fulfilled') await kafka.value.process.stop();
    if (registry.status === 'fulfilled') await registry.value.process.stop();
    throw kafka.status === 'rejected' ? kafka.reason : (registry as PromiseRejectedResult).reason;
  }
  let stopped = false;
  return {
    brokers: kafka.value.brokers,
    registryUrl: registry.value.registryUrl,
    mode: 'local',
    startupMs: Date.now() - startedAt,
    workDir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await Promise.all([registry.value.process.stop(), kafka.value.process.stop()]);
      if (!options.keepWorkDir) rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const env = options.env ?? process.env;
  const startedAt = Date.now();
  const log = options.onProgress ?? (() => {});
  const { mode, reason } = chooseMode(options, env);
  log(`stack path: ${mode} (${reason})`);
  if (mode === 'external') return externalStack(env, startedAt);
  if (mode === 'containers') {
    const containers = await startContainerStack({ readyTimeoutMs: options.kafkaReadyTimeoutMs });
    return { ...containers, mode, startupMs: Date.now() - startedAt };
  }
  return localStack(options, startedAt, log);
}
