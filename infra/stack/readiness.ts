/** Readiness probes shared by every stack path: the admin API for Kafka, HTTP for the registry. */
import { Kafka, logLevel } from 'kafkajs';
import { StackError } from '../../lib/core/errors.js';
import { kafkaSecurityOptions, type KafkaSecurity } from '../../lib/security/client.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once the broker answers DescribeCluster through kafkajs's admin client. */
export async function waitForKafka(
  brokers: readonly string[],
  timeoutMs: number,
  logTail: () => string = () => '',
  security?: KafkaSecurity,
  nodes = 1,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({
    ...(security ? kafkaSecurityOptions(security) : {}),
    clientId: 'tributary-readiness',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 2_000,
  });
  let lastError: unknown;
  while (Date.now() < deadline) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length >= nodes && cluster.controller !== null) return;
    } catch (error) {
      lastError = error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(250);
  }
  throw new StackError(
    'TRIB_BROKER_UNHEALTHY',
    `Kafka at ${brokers.join(',')} not ready after ${timeoutMs} ms`,
    {
      cause: lastError,
      logTail: logTail(),
      details: { brokers },
    },
  );
}

/** Resolves once the Confluent-compatible API answers GET /config with 200. */
export async function waitForRegistry(
  registryUrl: string,
  timeoutMs: number,
  logTail: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${registryUrl}/config`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
      lastError = new Error(`HTTP ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await sleep(250);
  }
  throw new StackError(
    'TRIB_REGISTRY_UNHEALTHY',
    `schema registry at ${registryUrl} not healthy after ${timeoutMs} ms`,
    {
      cause: lastError,
      logTail: logTail(),
      details: { registryUrl },
    },
  );
}

/** Default compatibility for a registry we started: old workers may still run old schemas. */
export async function setDefaultCompatibility(
  registryUrl: string,
  level = 'BACKWARD_TRANSITIVE',
): Promise<void> {
  const response = await fetch(`${registryUrl}/config`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: level }),
  });
  if (!response.ok) {
    throw new StackError(
      'TRIB_REGISTRY_UNHEALTHY',
      `could not set compatibility ${level}: HTTP ${response.status}`,
      {
        logTail: await response.text(),
      },
    );
  }
}
