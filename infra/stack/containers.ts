/**
 * The stack in containers through testcontainers: Kafka and Apicurio images built locally from the
 * same Maven artifacts (infra/docker/build-images.sh), or the official images with
 * TRIBUTARY_IMAGES=official. Ryuk (testcontainers' reaper) cannot be pulled here, so this module
 * disposes its own containers: on stop(), on process exit, and (for containers whose owner was
 * killed outright) at the next start.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { StackError } from '../../lib/core/errors.js';
import { pinnedVersions } from './artifacts.js';
import { freePort, LOOPBACK } from './ports.js';
import { isAlive } from './process.js';
import { setDefaultCompatibility, waitForKafka, waitForRegistry } from './readiness.js';
import { CCOMPAT_PATH } from '../registry/local.js';
import { randomClusterId, readinessSecurity } from '../kafka/local.js';
import type { StackSecurity } from '../security/stack.js';

const OWNER_LABEL = 'dev.tributary.owner-pid';

export interface ContainerImages {
  readonly kafka: string;
  readonly registry: string;
  readonly flavour: 'local' | 'official';
}

export function containerImages(env: NodeJS.ProcessEnv = process.env): ContainerImages {
  const versions = pinnedVersions();
  if (env.TRIBUTARY_IMAGES === 'official') {
    return {
      kafka: `apache/kafka:${versions.kafka}`,
      registry: `apicurio/apicurio-registry:${versions.apicurio}`,
      flavour: 'official',
    };
  }
  return {
    kafka: `tributary/kafka:${versions.kafka}`,
    registry: `tributary/apicurio-registry:${versions.apicurio}`,
    flavour: 'local',
  };
}

function docker(args: string[]): string {
  return execFileSync('docker', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20_000,
  });
}

/** True when a Docker engine answers and both images are present locally (nothing can be pulled here). */
export function containersAvailable(images: ContainerImages = containerImages()): {
  ok: boolean;
  reason: string;
} {
  try {
    // An optional peer dependency of the installed package: without it, the local path.
    createRequire(import.meta.url).resolve('testcontainers');
  } catch {
    return { ok: false, reason: 'the testcontainers package is not installed' };
  }
  try {
    docker(['version', '--format', '{{.Server.Version}}']);
  } catch {
    return { ok: false, reason: 'no Docker engine answered' };
  }
  if (images.flavour === 'official') return { ok: true, reason: 'official images (pulled on demand)' };
  for (const image of [images.kafka, images.registry]) {
    try {
      docker(['image', 'inspect', '--format', '{{.Id}}', image]);
    } catch {
      return { ok: false, reason: `image ${image} is not built (run infra/docker/build-images.sh)` };
    }
  }
  return { ok: true, reason: 'local images present' };
}

/** Removes stack containers left by a process that was killed before it could remove them. */
function removeOrphans(): void {
  const rows = docker([
    'ps',
    '-a',
    '--filter',
    `label=${OWNER_LABEL}`,
    '--format',
    `{{.ID}} {{.Label "${OWNER_LABEL}"}}`,
  ]);
  const orphans = rows
    .split('\n')
    .map((row) => row.trim().split(' '))
    .filter(([id, pid]) => id && pid && !isAlive(Number(pid)))
    .map(([id]) => id as string);
  if (orphans.length > 0) docker(['rm', '-f', ...orphans]);
}

const liveContainers = new Set<string>();
let exitHookInstalled = false;
function trackContainer(id: string): void {
  liveContainers.add(id);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    if (liveContainers.size === 0) return;
    try {
      execFileSync('docker', ['rm', '-f', ...liveContainers], { stdio: 'ignore', timeout: 20_000 });
    } catch {
      // best effort: removeOrphans() catches the rest next time
    }
  });
}

export interface ContainerStack {
  readonly brokers: string[];
  readonly registryUrl: string;
  /** The Kafka containers, to kill one (SIGKILL) and start it again on its own data. */
  readonly kafkaNodes: {
    readonly count: number;
    kill(index: number): void;
    restart(index: number): Promise<void>;
  };
  stop(): Promise<void>;
}

/**
 * Environment of node i of an n-node cluster: every node on the host's network (so each one's
 * advertised 127.0.0.1 address is the one clients and the other nodes dial), one static quorum.
 */
function clusterNodeEnv(
  i: number,
  ports: readonly { broker: number; controller: number }[],
  clusterId: string,
): Record<string, string> {
  return {
    KAFKA_PORT: String(ports[i]!.broker),
    KAFKA_CONTROLLER_PORT: String(ports[i]!.controller),
    KAFKA_LISTEN_HOST: LOOPBACK,
    KAFKA_NODE_ID: String(i + 1),
    KAFKA_QUORUM_VOTERS: ports.map((p, n) => `${n + 1}@${LOOPBACK}:${p.controller}`).join(','),
    KAFKA_CLUSTER_ID: clusterId,
    KAFKA_REPLICAS: String(Math.min(3, ports.length)),
  };
}

export async function startContainerStack(
  options: {
    readyTimeoutMs?: number;
    images?: ContainerImages;
    security?: StackSecurity | null;
    /** Kafka nodes: 1, or 3 (replication 3, min.insync.replicas 2; locally built images only). */
    nodes?: number;
  } = {},
): Promise<ContainerStack> {
  const security = options.security ?? null;
  const nodes = options.nodes ?? 1;
  // Ryuk's image cannot be pulled here; we remove our containers ourselves.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  const { GenericContainer, Wait } = await import('testcontainers');
  const images = options.images ?? containerImages();
  const timeout = options.readyTimeoutMs ?? 180_000;
  removeOrphans();

  // Kafka advertises the address clients dial, so the host port must equal the container port.
  const kafkaPort = await freePort();
  const labels = { [OWNER_LABEL]: String(process.pid) };
  const kafkaEnv: Record<string, string> =
    images.flavour === 'official'
      ? {
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${kafkaPort},CONTROLLER://127.0.0.1:9093`,
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${LOOPBACK}:${kafkaPort}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@127.0.0.1:9093',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_MESSAGE_MAX_BYTES: '16777216',
          KAFKA_REPLICA_FETCH_MAX_BYTES: '16777216',
          KAFKA_TRANSACTION_MAX_TIMEOUT_MS: '30000',
          KAFKA_TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS: '5000',
        }
      : {
          KAFKA_PORT: String(kafkaPort),
          KAFKA_ADVERTISED: LOOPBACK,
          KAFKA_SECURITY: security ? 'on' : 'off',
        };
  if (nodes > 1 && images.flavour === 'official')
    throw new StackError(
      'TRIB_CONFIG_INVALID',
      'a 3-node cluster needs the locally built images, not TRIBUTARY_IMAGES=official',
    );
  if (security && images.flavour === 'official')
    throw new StackError(
      'TRIB_CONFIG_INVALID',
      'the secured stack needs the locally built images, not TRIBUTARY_IMAGES=official',
    );
  // The password goes in as a file (mode 600), not the environment, where `docker inspect` shows it.
  const securityFiles = security
    ? [
        {
          source: security.broker.keyStoreFile,
          target: '/opt/kafka/security/server-keystore.pem',
          mode: 0o600,
        },
        { source: security.caFile, target: '/opt/kafka/security/ca.pem', mode: 0o644 },
      ]
    : [];
  const securityContent = security
    ? [{ content: security.broker.adminPassword, target: '/opt/kafka/security/admin-password', mode: 0o600 }]
    : [];

  const started: { stop(options?: { remove?: boolean }): Promise<unknown>; getId(): string }[] = [];
  const stop = async () => {
    await Promise.allSettled(started.map((container) => container.stop({ remove: true })));
    for (const container of started) liveContainers.delete(container.getId());
  };
  try {
    // Both containers boot together; each is tracked as soon as it exists so nothing leaks.
    const track = <T extends { getId(): string; stop(options?: { remove?: boolean }): Promise<unknown> }>(
      c: T,
    ) => {
      started.push(c);
      trackContainer(c.getId());
      return c;
    };
    const kafkaNode = (env: Record<string, string>) => {
      const node = new GenericContainer(images.kafka)
        .withEnvironment(env)
        .withCopyFilesToContainer(securityFiles)
        .withCopyContentToContainer(securityContent)
        .withLabels(labels)
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .withStartupTimeout(timeout);
      return nodes === 1
        ? node.withExposedPorts({ container: kafkaPort, host: kafkaPort })
        : node.withNetworkMode('host');
    };
    const ports = [{ broker: kafkaPort, controller: 0 }];
    if (nodes > 1) {
      ports.length = 0;
      for (let i = 0; i < nodes; i++) ports.push({ broker: await freePort(), controller: await freePort() });
    }
    const clusterId = randomClusterId();
    const envs =
      nodes === 1
        ? [kafkaEnv]
        : ports.map((_, i) => ({ ...kafkaEnv, ...clusterNodeEnv(i, ports, clusterId) }));
    const [registry, ...kafka] = await Promise.allSettled([
      new GenericContainer(images.registry)
        .withEnvironment({ QUARKUS_HTTP_HOST: '0.0.0.0', QUARKUS_HTTP_PORT: '8080' })
        .withLabels(labels)
        .withExposedPorts(8080)
        .withWaitStrategy(Wait.forHttp(`${CCOMPAT_PATH}/config`, 8080).forStatusCode(200))
        .withStartupTimeout(timeout)
        .start()
        .then(track),
      ...envs.map((env) => kafkaNode(env).start().then(track)),
    ]);
    for (const node of kafka) if (node.status === 'rejected') throw node.reason;
    if (registry!.status === 'rejected') throw registry!.reason;
    const kafkaIds = kafka.map((node) => (node as PromiseFulfilledResult<{ getId(): string }>).value.getId());

    const brokers = ports.map((p) => `${LOOPBACK}:${p.broker}`);
    const registryUrl = `http://${LOOPBACK}:${registry.value.getMappedPort(8080)}${CCOMPAT_PATH}`;
    await waitForKafka(brokers, timeout, () => '', readinessSecurity(security?.broker), nodes);
    await waitForRegistry(registryUrl, timeout);
    await setDefaultCompatibility(registryUrl);
    const kafkaNodes = {
      count: kafkaIds.length,
      kill: (index: number) => void docker(['kill', '--signal', 'KILL', kafkaIds[index]!]),
      // The container keeps its data: the entrypoint finds it formatted and the node rejoins.
      restart: async (index: number) => void docker(['start', kafkaIds[index]!]),
    };
    return { brokers, registryUrl, kafkaNodes, stop };
  } catch (error) {
    await stop();
    if (error instanceof StackError) throw error;
    throw new StackError('TRIB_PROCESS_EXITED', `container stack failed to start: ${String(error)}`, {
      cause: error,
    });
  }
}
