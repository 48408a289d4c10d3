/**
 * Apicurio Registry 3.x as a child JVM (Quarkus fast-jar from Maven Central's `all` distribution),
 * in-memory storage, HTTP on 127.0.0.1, reached through its Confluent-compatible API.
 */
import { join } from 'node:path';
import type { JavaRuntime } from '../stack/java.js';
import { LOOPBACK, portFor } from '../stack/ports.js';
import { ManagedProcess } from '../stack/process.js';
import { setDefaultCompatibility, waitForRegistry } from '../stack/readiness.js';

/** Apicurio 3.3 is compiled for Java 21. */
export const APICURIO_MIN_JAVA = 21;
export const CCOMPAT_PATH = '/apis/ccompat/v7';

export interface LocalRegistryOptions {
  readonly java: JavaRuntime;
  readonly apicurioDir: string;
  readonly workDir: string;
  readonly port?: number;
  readonly heap?: string;
  readonly readyTimeoutMs?: number;
  /** Extra -D flags; the tests use this to break the registry on purpose. */
  readonly extraSystemProperties?: Readonly<Record<string, string>>;
}

export interface LocalRegistry {
  readonly registryUrl: string;
  readonly process: ManagedProcess;
}

/** The -D flags both the child JVM and (as environment) the container use. */
export function registrySystemProperties(httpPort: number, managementPort: number): Record<string, string> {
  return {
    'quarkus.http.host': LOOPBACK,
    'quarkus.http.port': String(httpPort),
    'quarkus.management.host': LOOPBACK,
    'quarkus.management.port': String(managementPort),
    'quarkus.log.console.json': 'false',
    // Confluent clients expect globally unique ids that they can fetch back by id.
    'apicurio.ccompat.legacy-id-mode.enabled': 'false',
  };
}

export async function startLocalRegistry(options: LocalRegistryOptions): Promise<LocalRegistry> {
  const httpPort = await portFor(options.port, 'schema registry HTTP');
  const managementPort = await portFor(undefined, 'schema registry management');
  const properties = {
    ...registrySystemProperties(httpPort, managementPort),
    ...options.extraSystemProperties,
  };
  const child = new ManagedProcess({
    name: 'schema-registry',
    command: options.java.path,
    args: [
      `-Xmx${options.heap ?? '512m'}`,
      ...Object.entries(properties).map(([key, value]) => `-D${key}=${value}`),
      '-jar',
      join(options.apicurioDir, 'quarkus-run.jar'),
    ],
    cwd: options.workDir,
    logFile: join(options.workDir, 'registry.log'),
  });
  const registryUrl = `http://${LOOPBACK}:${httpPort}${CCOMPAT_PATH}`;
  try {
    await Promise.race([
      waitForRegistry(registryUrl, options.readyTimeoutMs ?? 120_000, () => child.logTail()),
      child.failOnExit(),
    ]);
    await setDefaultCompatibility(registryUrl);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { registryUrl, process: child };
}
