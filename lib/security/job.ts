/**
 * A whole job on a secured cluster in one call: provision its coordinator and silos with the
 * administrator's settings, and give back each process's environment (its credentials bundle).
 * `tributary run` and the test kit use this when the stack is secured.
 */
import { join } from 'node:path';
import { createKafka } from '../kafka/client.js';
import { siloWorkerPrefix } from './acls.js';
import type { ClientSecurity } from './client.js';
import { COORDINATOR_BUNDLE, provision } from './provision.js';

export interface SecuredCluster {
  readonly brokers: readonly string[];
  readonly registryUrl: string;
  /** The administrator's settings (a secured Stack's clientSecurity). */
  readonly clientSecurity: ClientSecurity;
}

export interface JobCredentials {
  readonly coordinatorEnv: Record<string, string>;
  /** Worker `name` of `silo`: its bundle and a worker id its ACLs cover (`<silo>.<name>`). */
  workerEnv(silo: string, name: string): Record<string, string>;
}

export async function provisionJob(
  cluster: SecuredCluster,
  jobId: string,
  silos: readonly string[],
  outDir: string,
): Promise<JobCredentials> {
  const kafka = createKafka({
    brokers: cluster.brokers,
    clientId: 'tributary-provision',
    security: cluster.clientSecurity.kafka,
  });
  await provision(kafka, {
    jobId,
    silos: [...new Set(silos)],
    revoke: [],
    outDir,
    brokers: cluster.brokers,
    registryUrl: cluster.registryUrl,
    admin: cluster.clientSecurity,
  });
  return {
    coordinatorEnv: { TRIBUTARY_CREDENTIALS: join(outDir, COORDINATOR_BUNDLE) },
    workerEnv: (silo, name) => ({
      TRIBUTARY_CREDENTIALS: join(outDir, silo),
      TRIBUTARY_SILO: silo,
      TRIBUTARY_WORKER_ID: `${siloWorkerPrefix(silo)}${name}`,
    }),
  };
}
