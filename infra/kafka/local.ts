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
  readonly process: ManagedProcess;
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
  const brokerPort = await portFor(options.port, 'Kafka broker listener');
  const controllerPort = await portFor(undefined, 'Kafka controller listener');
  const dataDir = join(options.workDir, 'kafka-data');
  mkdirSync(dataDir, { recursive: true });
  const propertiesFile = join(options.workDir, 'server.properties');
  writeFileSync(
    propertiesFile,
    brokerProperties(
      {
        CONTROLLER_HOST: LOOPBACK,
        CONTROLLER_PORT: controllerPort,
        LISTEN_HOST: LOOPBACK,
        ADVERTISED_HOST: LOOPBACK,
        BROKER_PORT: brokerPort,
        DATA_DIR: dataDir,
      },
      options.security,
    ),
    // With security on it holds the super-user's password.
    { mode: 0o600 },
  );
  const logFile = join(options.workDir, 'kafka.log');
  const jvmArgs = [`-Dlog4j2.configurationFile=${join(CONFIG_DIR, 'log4j2.yaml')}`, '-cp', options.classpath];

  try {
    await run(options.java.path, [
      ...jvmArgs,
      'kafka.tools.StorageTool',
      'format',
      '--standalone',
      '-t',
      randomClusterId(),
      '-c',
      propertiesFile,
      ...scramBootstrapArgs(options.security),
    ]);
  } catch (cause) {
    const output = cause as { stdout?: string; stderr?: string };
    throw new StackError('TRIB_PROCESS_EXITED', 'formatting Kafka storage failed', {
      cause,
      logTail: `${output.stdout ?? ''}${output.stderr ?? ''}`.slice(-3000),
    });
  }

  const child = new ManagedProcess({
    name: 'kafka',
    command: options.java.path,
    args: [`-Xmx${options.heap ?? '768m'}`, ...jvmArgs, 'kafka.Kafka', propertiesFile],
    logFile,
  });
  const brokers = [`${LOOPBACK}:${brokerPort}`];
  try {
    await Promise.race([
      waitForKafka(
        brokers,
        options.readyTimeoutMs ?? 90_000,
        () => child.logTail(),
        readinessSecurity(options.security),
      ),
      child.failOnExit(),
    ]);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { brokers, process: child };
}
