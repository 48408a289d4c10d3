/**
 * What a secured stack is made of: a throwaway CA and server certificate, a random super-user
 * password, and the super-user's credentials bundle (the same layout `tributary provision` writes
 * for a silo), so administration tools point TRIBUTARY_CREDENTIALS at it instead of seeing the
 * password.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrokerSecurity } from '../kafka/local.js';
import { BUNDLE_ENV_FILE, type ClientSecurity } from '../../lib/security/client.js';
import { createStackCertificates } from './certificates.js';

export const STACK_ADMIN_USER = 'tributary-admin';

export interface StackSecurity {
  readonly broker: BrokerSecurity;
  /** The CA clients trust (PEM). */
  readonly caFile: string;
  /** The super-user: for provisioning and administration only, never for a job's processes. */
  readonly admin: ClientSecurity;
  /** A credentials bundle (TRIBUTARY_CREDENTIALS) for the super-user. */
  readonly adminCredentialsDir: string;
  /** Files in the work directory that hold a secret (for the no-secret-in-logs checks). */
  readonly secrets: readonly string[];
}

export async function prepareStackSecurity(dir: string, hosts: readonly string[]): Promise<StackSecurity> {
  const certificates = await createStackCertificates(dir, hosts);
  const adminPassword = randomBytes(24).toString('base64url');
  const adminCredentialsDir = join(dir, 'admin');
  mkdirSync(adminCredentialsDir, { recursive: true, mode: 0o700 });
  writeFileSync(
    join(adminCredentialsDir, BUNDLE_ENV_FILE),
    [
      '# The secured stack super-user: provisioning and administration only.',
      'KAFKA_SASL_MECHANISM=SCRAM-SHA-512',
      `KAFKA_SASL_USERNAME=${STACK_ADMIN_USER}`,
      `KAFKA_SASL_PASSWORD=${adminPassword}`,
      'KAFKA_TLS=true',
      `KAFKA_TLS_CA_FILE=${certificates.caFile}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return {
    broker: {
      adminUser: STACK_ADMIN_USER,
      adminPassword,
      keyStoreFile: certificates.keyStoreFile,
      caFile: certificates.caFile,
    },
    caFile: certificates.caFile,
    admin: {
      kafka: {
        sasl: { mechanism: 'SCRAM-SHA-512', username: STACK_ADMIN_USER, password: adminPassword },
        tls: { caFile: certificates.caFile, certFile: null, keyFile: null },
      },
      registry: null,
    },
    adminCredentialsDir,
    secrets: [adminPassword],
  };
}

/** Once the stack is up: its addresses go into the super-user's bundle, so the bundle alone connects. */
export function recordStackAddresses(
  security: StackSecurity,
  brokers: readonly string[],
  registryUrl: string,
): void {
  appendFileSync(
    join(security.adminCredentialsDir, BUNDLE_ENV_FILE),
    `KAFKA_BROKERS=${brokers.join(',')}\nSCHEMA_REGISTRY_URL=${registryUrl}\n`,
  );
}
