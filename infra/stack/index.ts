/**
 * startStack(): one Kafka broker and one Confluent-compatible schema registry, for the demo, the
 * tests and the benchmarks alike. Order:
 *   1. an existing cluster named by KAFKA_BROKERS and SCHEMA_REGISTRY_URL;
 *   2. containers through testcontainers, when a Docker engine answers and the images exist;
 *   3. child JVMs from Maven Central artifacts cached in .cache/stack.
 * TRIBUTARY_STACK=external|containers|local forces one path.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StackError } from '../../lib/core/errors.js';
import { startLocalKafka } from '../kafka/local.js';
import { loadClientSecurity, OPEN, withCredentials, type ClientSecurity } from '../../lib/security/client.js';
import { prepareStackSecurity, recordStackAddresses, type StackSecurity } from '../security/stack.js';
import { APICURIO_MIN_JAVA, startLocalRegistry } from '../registry/local.js';
import { type ArtifactOptions, defaultCacheDir, ensureArtifacts } from './artifacts.js';
import { containersAvailable, startContainerStack } from './containers.js';
import { makeRunDir, removeAbandonedRunDirs } from './run-dirs.js';
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
  /** How to connect as the stack's administrator (open: no SASL, no TLS). */
  readonly clientSecurity: ClientSecurity;
  /** Set when the stack was started secured: its CA, super-user and credentials bundle. */
  readonly security: StackSecurity | null;
  /** The Kafka nodes (local and container paths), to kill one and restart it (a broker lost mid-run). */
  readonly kafkaNodes?: {
    readonly count: number;
    kill(index: number): void;
    restart(index: number): Promise<void>;
  };
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
  /** SASL_SSL, ACLs and a super-user (docs/security.md); default TRIBUTARY_SECURITY=on|off. */
  readonly secure?: boolean;
  /**
   * Kafka nodes (local path): 1, or 3 for replication factor 3 and min.insync.replicas 2
   * (default TRIBUTARY_BROKERS, else 1).
   */
  readonly brokers?: number;
}

/** Kafka nodes asked for: `brokers`, else TRIBUTARY_BROKERS, else 1; only 1 or 3. */
export function brokersWanted(options: StackOptions, env: NodeJS.ProcessEnv): number {
  const raw = options.brokers ?? env.TRIBUTARY_BROKERS ?? 1;
  const nodes = Number(raw);
  if (nodes !== 1 && nodes !== 3)
    throw new StackError('TRIB_CONFIG_INVALID', `TRIBUTARY_BROKERS must be 1 or 3, not "${String(raw)}"`);
  return nodes;
}

export function securityWanted(options: StackOptions, env: NodeJS.ProcessEnv): boolean {
  if (options.secure !== undefined) return options.secure;
  const raw = env.TRIBUTARY_SECURITY ?? 'off';
  if (raw !== 'on' && raw !== 'off')
    throw new StackError('TRIB_CONFIG_INVALID', `TRIBUTARY_SECURITY must be on or off, not "${raw}"`);
  return raw === 'on';
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
  return {
    brokers,
    registryUrl,
    mode: 'external',
    startupMs: Date.now() - startedAt,
    clientSecurity: loadClientSecurity(env),
    security: null,
    stop: async () => {},
  };
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
  const abandoned = removeAbandonedRunDirs(runsDir);
  if (abandoned.length > 0) log(`removed ${abandoned.length} work dir(s) of stacks whose launcher is gone`);
  const workDir = makeRunDir(runsDir);
  log(`starting Kafka ${artifacts.versions.kafka} and Apicurio ${artifacts.versions.apicurio} in ${workDir}`);
  const security = securityWanted(options, options.env ?? process.env)
    ? await prepareStackSecurity(join(workDir, 'security'), ['localhost', '127.0.0.1'])
    : null;
  // Both JVMs start together: on two cores that still saves the registry's few seconds of boot.
  const [kafka, registry] = await Promise.allSettled([
    startLocalKafka({
      nodes: brokersWanted(options, options.env ?? process.env),
      java: kafkaJava,
      classpath: artifacts.kafkaClasspath,
      workDir,
      port: options.kafkaPort,
      readyTimeoutMs: options.kafkaReadyTimeoutMs,
      security: security?.broker,
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
    if (kafka.status === 'fulfilled') await Promise.all(kafka.value.processes.map((p) => p.stop()));
    if (registry.status === 'fulfilled') await registry.value.process.stop();
    // The error carries the logs' tails; the directory would only pile up, one per failed start.
    if (!options.keepWorkDir) rmSync(workDir, { recursive: true, force: true });
    throw kafka.status === 'rejected' ? kafka.reason : (registry as PromiseRejectedResult).reason;
  }
  if (security) recordStackAddresses(security, kafka.value.brokers, registry.value.registryUrl);
  let stopped = false;
  return {
    brokers: kafka.value.brokers,
    registryUrl: registry.value.registryUrl,
    mode: 'local',
    startupMs: Date.now() - startedAt,
    workDir,
    clientSecurity: security ? security.admin : OPEN,
    security,
    kafkaNodes: {
      count: kafka.value.processes.length,
      kill: (index) => kafka.value.processes[index]?.killHard(),
      restart: async (index) => void (await kafka.value.restart(index)),
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await Promise.all([registry.value.process.stop(), ...kafka.value.processes.map((p) => p.stop())]);
      if (!options.keepWorkDir) rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  // A credentials bundle (TRIBUTARY_CREDENTIALS) can name the cluster as well as the principal.
  const env = withCredentials(options.env ?? process.env);
  const startedAt = Date.now();
  const log = options.onProgress ?? (() => {});
  const brokers = brokersWanted(options, env);
  // Asked for no path in particular, three nodes run as child JVMs (lighter than three containers).
  const { mode, reason } =
    brokers > 1 && (options.mode ?? env.TRIBUTARY_STACK ?? 'auto') === 'auto' && !env.KAFKA_BROKERS
      ? { mode: 'local' as const, reason: `${brokers} brokers run as child JVMs` }
      : chooseMode(options, env);
  log(`stack path: ${mode} (${reason})`);
  if (mode === 'external') return externalStack(env, startedAt);
  if (mode === 'containers') {
    // Certificates name localhost and 127.0.0.1: the container publishes its port there.
    const security = securityWanted(options, env)
      ? await prepareStackSecurity(mkdtempSync(join(tmpdir(), 'tributary-security-')), [
          'localhost',
          '127.0.0.1',
        ])
      : null;
    const containers = await startContainerStack({
      readyTimeoutMs: options.kafkaReadyTimeoutMs,
      security,
      nodes: brokers,
    });
    if (security) recordStackAddresses(security, containers.brokers, containers.registryUrl);
    return {
      ...containers,
      mode,
      startupMs: Date.now() - startedAt,
      clientSecurity: security ? security.admin : OPEN,
      security,
      stop: async () => {
        await containers.stop();
        if (security) rmSync(join(security.caFile, '..'), { recursive: true, force: true });
      },
    };
  }
  return localStack(options, startedAt, log);
}
