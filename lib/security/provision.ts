/**
 * `tributary provision`: for one job, a SCRAM principal per silo and one for the coordinator, the
 * ACLs of ./acls.ts, an Ed25519 signing key per silo, and a credentials bundle per principal
 * (a directory: `tributary.env`, the CA, key material) that `--credentials DIR` uses as is.
 *
 * Idempotent: a principal whose bundle exists keeps its password and key (the credential and ACLs
 * are written again, which Kafka treats as no change). `revoke` removes a silo's ACLs, credential,
 * public key and bundle.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import kafkajs, { type AclEntry, type Kafka } from 'kafkajs';
import { alterScramCredentials, scramUpsertion } from '../kafka/scram.js';
import {
  checkName,
  coordinatorPrincipal,
  coordinatorRules,
  defaultDataPrefix,
  siloPrincipal,
  siloRules,
  siloWorkerPrefix,
  type AclRule,
} from './acls.js';
import { BUNDLE_ENV_FILE, parseBundleEnv, type ClientSecurity } from './client.js';
import { generateSiloKeyPair } from './signing.js';

// kafkajs's CommonJS exports of its ACL enums are not visible to a named ESM import.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

export const COORDINATOR_BUNDLE = 'coordinator';
export const SILO_KEYS_FILE = 'silo-keys.json';

export interface ProvisionRequest {
  readonly jobId: string;
  readonly silos: readonly string[];
  readonly revoke: readonly string[];
  readonly outDir: string;
  readonly brokers: readonly string[];
  readonly registryUrl: string;
  /** The administrator's settings: whether bundles use TLS, and which CA they get. */
  readonly admin: ClientSecurity;
  /** Per silo, the prefix of the data topics it may read (default `<silo>.`). */
  readonly dataPrefixes?: Readonly<Record<string, string>>;
}

export interface ProvisionSummary {
  readonly principals: { readonly name: string; readonly bundle: string; readonly created: boolean }[];
  readonly revoked: string[];
  readonly rules: AclRule[];
}

/** Problems with the request's names, one line each (empty when it is fine). */
export function provisionProblems(request: Pick<ProvisionRequest, 'jobId' | 'silos' | 'revoke'>): string[] {
  const problems = [
    checkName('job', request.jobId),
    ...[...request.silos, ...request.revoke].map((s) => checkName('silo', s)),
  ];
  const both = request.silos.filter((s) => request.revoke.includes(s));
  if (both.length > 0) problems.push(`silo ${both.join(', ')}: both provisioned and revoked`);
  if (request.silos.length === 0 && request.revoke.length === 0)
    problems.push('--silos or --revoke: give at least one silo');
  return problems.filter((p): p is string => p !== null);
}

const OPERATIONS: Record<AclRule['operation'], number> = {
  ALL: AclOperationTypes.ALL,
  READ: AclOperationTypes.READ,
  WRITE: AclOperationTypes.WRITE,
  DESCRIBE: AclOperationTypes.DESCRIBE,
  CREATE: AclOperationTypes.CREATE,
};
const RESOURCES: Record<AclRule['resource'], number> = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  'transactional-id': AclResourceTypes.TRANSACTIONAL_ID,
};

export function aclEntry(rule: AclRule): AclEntry {
  return {
    principal: rule.principal,
    host: '*',
    resourceType: RESOURCES[rule.resource],
    resourceName: rule.name,
    resourcePatternType:
      rule.pattern === 'prefixed' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
    operation: OPERATIONS[rule.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
}

interface Principal {
  readonly name: string;
  readonly bundle: string;
  readonly password: string;
  readonly created: boolean;
}

function principalFor(bundle: string, name: string): Principal {
  const file = join(bundle, BUNDLE_ENV_FILE);
  if (existsSync(file)) {
    const env = parseBundleEnv(readFileSync(file, 'utf8'), bundle);
    if (env.KAFKA_SASL_USERNAME === name && env.KAFKA_SASL_PASSWORD)
      return { name, bundle, password: env.KAFKA_SASL_PASSWORD, created: false };
  }
  return { name, bundle, password: randomBytes(24).toString('base64url'), created: true };
}

function bundleLines(request: ProvisionRequest, principal: Principal, caCopied: boolean): string[] {
  const tls = request.admin.kafka.tls !== null;
  return [
    `# Tributary credentials: ${principal.name} (tributary provision). Keep this directory private.`,
    `KAFKA_BROKERS=${request.brokers.join(',')}`,
    `SCHEMA_REGISTRY_URL=${request.registryUrl}`,
    'KAFKA_SASL_MECHANISM=SCRAM-SHA-512',
    `KAFKA_SASL_USERNAME=${principal.name}`,
    `KAFKA_SASL_PASSWORD=${principal.password}`,
    `KAFKA_TLS=${tls}`,
    ...(caCopied ? ['KAFKA_TLS_CA_FILE=ca.pem'] : []),
    `TRIBUTARY_JOB_ID=${request.jobId}`,
  ];
}

function writeBundle(request: ProvisionRequest, principal: Principal, extra: string[]): void {
  mkdirSync(principal.bundle, { recursive: true, mode: 0o700 });
  const ca = request.admin.kafka.tls?.caFile ?? null;
  if (ca) copyFileSync(ca, join(principal.bundle, 'ca.pem'));
  writeFileSync(
    join(principal.bundle, BUNDLE_ENV_FILE),
    [...bundleLines(request, principal, ca !== null), ...extra, ''].join('\n'),
    { mode: 0o600 },
  );
}

function readSiloKeys(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
}

export async function provision(kafka: Kafka, request: ProvisionRequest): Promise<ProvisionSummary> {
  const { jobId, outDir } = request;
  const silos = request.silos.map((silo) => ({
    silo,
    principal: principalFor(join(outDir, silo), siloPrincipal(jobId, silo)),
  }));
  const coordinator = principalFor(join(outDir, COORDINATOR_BUNDLE), coordinatorPrincipal(jobId));
  const rules = [
    ...coordinatorRules(jobId),
    ...silos.flatMap(({ silo }) =>
      siloRules(jobId, silo, request.dataPrefixes?.[silo] ?? defaultDataPrefix(silo)),
    ),
  ];

  await alterScramCredentials(kafka, {
    upsert: [coordinator, ...silos.map((s) => s.principal)].map((p) => scramUpsertion(p.name, p.password)),
    remove: request.revoke.map((silo) => ({
      user: siloPrincipal(jobId, silo),
      mechanism: 'SCRAM-SHA-512' as const,
    })),
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createAcls({ acl: rules.map(aclEntry) });
    for (const silo of request.revoke) {
      await admin.deleteAcls({
        filters: [
          {
            principal: `User:${siloPrincipal(jobId, silo)}`,
            resourceType: AclResourceTypes.ANY,
            resourcePatternType: ResourcePatternTypes.ANY,
            host: '*',
            operation: AclOperationTypes.ANY,
            permissionType: AclPermissionTypes.ANY,
          },
        ],
      });
    }
  } finally {
    await admin.disconnect();
  }

  // Key material and bundles last: a bundle on disk means its principal works.
  const keysFile = join(coordinator.bundle, SILO_KEYS_FILE);
  const publicKeys = readSiloKeys(keysFile);
  for (const { silo, principal } of silos) {
    const privateFile = join(principal.bundle, 'signing-key.pem');
    const publicFile = join(principal.bundle, 'signing-key.pub.pem');
    if (!existsSync(privateFile) || !existsSync(publicFile)) {
      const pair = generateSiloKeyPair();
      mkdirSync(principal.bundle, { recursive: true, mode: 0o700 });
      writeFileSync(privateFile, pair.privateKeyPem, { mode: 0o600 });
      writeFileSync(publicFile, pair.publicKeyPem);
    }
    publicKeys[silo] = readFileSync(publicFile, 'utf8');
    writeBundle(request, principal, [
      `TRIBUTARY_SILO=${silo}`,
      `TRIBUTARY_WORKER_ID_PREFIX=${siloWorkerPrefix(silo)}`,
      'TRIBUTARY_SIGNING_KEY_FILE=signing-key.pem',
    ]);
  }
  for (const silo of request.revoke) {
    delete publicKeys[silo];
    rmSync(join(outDir, silo), { recursive: true, force: true });
  }
  writeBundle(request, coordinator, [
    `TRIBUTARY_SILO_KEYS_FILE=${SILO_KEYS_FILE}`,
    'TRIBUTARY_REQUIRE_SIGNATURES=true',
  ]);
  writeFileSync(keysFile, `${JSON.stringify(publicKeys, null, 2)}\n`);

  return {
    principals: [coordinator, ...silos.map((s) => s.principal)].map((p) => ({
      name: p.name,
      bundle: p.bundle,
      created: p.created,
    })),
    revoked: [...request.revoke],
    rules,
  };
}
