/**
 * Apache Kafka as a child JVM: a single-node KRaft cluster on 127.0.0.1, storage formatted in a fresh
 * data directory, readiness awaited through the admin API, log in `<workDir>/kafka.log`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StackError } from '../../lib/core/errors.js';
import { PROJECT_ROOT } from '../stack/artifacts.js';
import type { JavaRuntime } from '../stack/java.js';
import { LOOPBACK, portFor } from '../stack/ports.js';
import { ManagedProcess } from '../stack/process.js';
import { waitForKafka } from '../stack/readiness.js';
import type { KafkaSecurity } from '../../lib/security/client.js';

/** How the readiness probe signs in to a secured broker: as the super-user, trusting the stack's CA. */
export function readinessSecurity(security?: BrokerSecurity): KafkaSecurity | undefined {
  if (!security) return undefined;
  return {
    sasl: { mechanism: 'SCRAM-SHA-512', username: security.adminUser, password: security.adminPassword },
    tls: { caFile: security.caFile, certFile: null, keyFile: null },
  };
}

const run = promisify(execFile);
const CONFIG_DIR = join(PROJECT_ROOT, 'infra', 'kafka');

export interface LocalKafkaOptions {
  /** KRaft nodes, each a combined broker and controller (default 1). Three give replication 3, min ISR 2. */
  readonly nodes?: number;
  readonly java: JavaRuntime;
  readonly classpath: string;
  readonly workDir: string;
  readonly port?: number;
  readonly heap?: string;
  readonly readyTimeoutMs?: number;
  /** SASL_SSL with a super-user and deny-by-default ACLs (infra/kafka/security.properties). */
  readonly security?: BrokerSecurity;
}

export interface BrokerSecurity {
  readonly adminUser: string;
  readonly adminPassword: string;
  /** PEM key store (key then certificate) and the CA that signed it. */
  readonly keyStoreFile: string;
  readonly caFile: string;
}

export interface LocalKafka {
  readonly brokers: string[];
  /** The first node's process (all of them are in `processes`). */
  readonly process: ManagedProcess;
  readonly processes: ManagedProcess[];
  /** Starts node `index` again after it was stopped or killed (same ports, same data). */
  restart(index: number): Promise<ManagedProcess>;
}

/** Sets `key=value` in a properties text: the key's line replaced where it exists, else appended. */
export function withProperties(text: string, values: Record<string, string | number>): string {
  let out = text;
  for (const [key, value] of Object.entries(values)) {
    const line = new RegExp(`^${key.replace(/\./g, '\\.')}=.*$`, 'm');
    out = line.test(out) ? out.replace(line, `${key}=${value}`) : `${out.trimEnd()}\n${key}=${value}\n`;
  }
  return out;
}

/** Settings of node `id` of an n-node cluster with a static controller quorum. */
export function clusterProperties(
  id: number,
  voters: readonly { id: number; port: number }[],
): Record<string, string | number> {
  const replicas = Math.min(3, voters.length);
  const minIsr = Math.max(1, replicas - 1);
  return {
    'node.id': id,
    'controller.quorum.voters': voters.map((v) => `${v.id}@${LOOPBACK}:${v.port}`).join(','),
    'offsets.topic.replication.factor': replicas,
    'transaction.state.log.replication.factor': replicas,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': replicas,
    'share.coordinator.state.topic.min.isr': minIsr,
    'default.replication.factor': replicas,
    'min.insync.replicas': minIsr,
    // Kafka's default: a cluster fails a stalled broker over to the others (server.properties
    // lengthens it for one node, which has none).
    'broker.session.timeout.ms': 9000,
  };
}

/** server.properties, with the secured listener's settings appended when `security` is given. */
export function brokerProperties(values: Record<string, string | number>, security?: BrokerSecurity): string {
  const open = readFileSync(join(CONFIG_DIR, 'server.properties'), 'utf8');
  if (!security) return renderTemplate(open, values);
  const secured = readFileSync(join(CONFIG_DIR, 'security.properties'), 'utf8');
  return renderTemplate(`${open}\n${secured}`, {
    ...values,
    ADMIN_USER: security.adminUser,
    ADMIN_PASSWORD: security.adminPassword,
    TLS_KEYSTORE: security.keyStoreFile,
    TLS_CA: security.caFile,
  });
}

/** The StorageTool flag that writes the super-user's SCRAM credential into the bootstrap metadata. */
export function scramBootstrapArgs(security?: BrokerSecurity): string[] {
  if (!security) return [];
  return ['--add-scram', `SCRAM-SHA-512=[name=${security.adminUser},password=${security.adminPassword}]`];
}

/** Fills `${NAME}` placeholders; an unfilled one is a bug in the caller, so it throws. */
export function renderTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template placeholder \${${name}} has no value`);
    return String(value);
  });
}

/** A KRaft cluster id: 16 random bytes, base64url without padding, as Kafka's Uuid prints them. */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export async function startLocalKafka(options: LocalKafkaOptions): Promise<LocalKafka> {
  const nodes = options.nodes ?? 1;
  const clusterId = randomClusterId();
  const ports = [];
  for (let i = 0; i < nodes; i++)
    ports.push({
      broker: await portFor(i === 0 ? options.port : undefined, 'Kafka broker listener'),
      controller: await portFor(undefined, 'Kafka controller listener'),
    });
  const voters = ports.map((p, i) => ({ id: i + 1, port: p.controller }));
  const jvmArgs = [`-Dlog4j2.configurationFile=${join(CONFIG_DIR, 'log4j2.yaml')}`, '-cp', options.classpath];
  const suffix = (i: number) => (nodes === 1 ? '' : `-${i + 1}`);

  const propertiesFiles = ports.map((p, i) => {
    const dataDir = join(options.workDir, `kafka-data${suffix(i)}`);
    mkdirSync(dataDir, { recursive: true });
    const file = join(options.workDir, `server${suffix(i)}.properties`);
    const rendered = brokerProperties(
      {
        CONTROLLER_HOST: LOOPBACK,
        CONTROLLER_PORT: p.controller,
        LISTEN_HOST: LOOPBACK,
        ADVERTISED_HOST: LOOPBACK,
        BROKER_PORT: p.broker,
        DATA_DIR: dataDir,
      },
      options.security,
    );
    // One node keeps the template's dynamic single-voter quorum; a cluster gets a static one.
    const text =
      nodes === 1
        ? rendered
        : withProperties(
            rendered.replace(/^controller\.quorum\.bootstrap\.servers=.*$/m, ''),
            clusterProperties(i + 1, voters),
          );
    // With security on it holds the super-user's password.
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  });

  for (const file of propertiesFiles) {
    try {
      await run(options.java.path, [
        ...jvmArgs,
        'kafka.tools.StorageTool',
        'format',
        ...(nodes === 1 ? ['--standalone'] : []),
        '-t',
        clusterId,
        '-c',
        file,
        ...scramBootstrapArgs(options.security),
      ]);
    } catch (cause) {
      const output = cause as { stdout?: string; stderr?: string };
      throw new StackError('TRIB_PROCESS_EXITED', 'formatting Kafka storage failed', {
        cause,
        logTail: `${output.stdout ?? ''}${output.stderr ?? ''}`.slice(-3000),
      });
    }
  }

  const launch = (i: number) =>
    new ManagedProcess({
      name: `kafka${suffix(i)}`,
      command: options.java.path,
      args: [`-Xmx${options.heap ?? '768m'}`, ...jvmArgs, 'kafka.Kafka', propertiesFiles[i] as string],
      logFile: join(options.workDir, `kafka${suffix(i)}.log`),
    });
  const processes = ports.map((_, i) => launch(i));
  const brokers = ports.map((p) => `${LOOPBACK}:${p.broker}`);
  try {
    await Promise.race([
      waitForKafka(
        brokers,
        options.readyTimeoutMs ?? 90_000,
        () => processes.map((c) => c.logTail()).join('\n'),
        readinessSecurity(options.security),
        nodes,
      ),
      ...processes.map((c) => c.failOnExit()),
    ]);
  } catch (error) {
    await Promise.all(processes.map((c) => c.stop()));
    throw error;
  }
  return {
    brokers,
    process: processes[0] as ManagedProcess,
    processes,
    restart: async (index) => {
      await processes[index]?.stop();
      const child = launch(index);
      processes[index] = child;
      return child;
    },
  };
}
