/**
 * How a process authenticates to the cluster: Kafka SASL (PLAIN, SCRAM-SHA-256/512) and TLS (a CA
 * bundle; a client certificate and key for mutual TLS), and the schema registry's basic auth or
 * bearer token. Read from the environment (and a credentials bundle) once at start-up, with one
 * problem line per bad field. Passwords and tokens live only here and in the Kafka client: they are
 * never put in a log line, an event or an error message (`describeSecurity` is what may be logged).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { EnvReader } from '../config.js';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface KafkaSecurity {
  readonly sasl: {
    readonly mechanism: SaslMechanism;
    readonly username: string;
    readonly password: string;
  } | null;
  /** null: plaintext. Files are PEM; caFile null trusts the system's CAs. */
  readonly tls: {
    readonly caFile: string | null;
    readonly certFile: string | null;
    readonly keyFile: string | null;
  } | null;
}

export type RegistryAuth =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string };

export interface ClientSecurity {
  readonly kafka: KafkaSecurity;
  readonly registry: RegistryAuth | null;
}

export const OPEN: ClientSecurity = Object.freeze({ kafka: { sasl: null, tls: null }, registry: null });

/** The file a credentials bundle holds its settings in (`tributary provision` writes it). */
export const BUNDLE_ENV_FILE = 'tributary.env';

/** Every variable this module reads; the secret ones are never echoed. */
export const SECURITY_ENV = {
  mechanism: 'KAFKA_SASL_MECHANISM',
  username: 'KAFKA_SASL_USERNAME',
  password: 'KAFKA_SASL_PASSWORD',
  tls: 'KAFKA_TLS',
  caFile: 'KAFKA_TLS_CA_FILE',
  certFile: 'KAFKA_TLS_CERT_FILE',
  keyFile: 'KAFKA_TLS_KEY_FILE',
  registryUsername: 'SCHEMA_REGISTRY_USERNAME',
  registryPassword: 'SCHEMA_REGISTRY_PASSWORD',
  registryToken: 'SCHEMA_REGISTRY_TOKEN',
} as const;
export const SECRET_ENV_NAMES: readonly string[] = [
  SECURITY_ENV.password,
  SECURITY_ENV.registryPassword,
  SECURITY_ENV.registryToken,
];

/**
 * Parses a bundle's `KEY=VALUE` lines (blank lines and `#` comments skipped; no quoting, no
 * expansion: values are taken literally). Relative paths in `*_FILE` values are resolved against
 * the bundle directory so a bundle can be moved as a whole.
 */
export function parseBundleEnv(text: string, dir: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const name = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    values[name] = name.endsWith('_FILE') && value !== '' && !isAbsolute(value) ? resolve(dir, value) : value;
  }
  return values;
}

/**
 * The environment with a credentials bundle's settings under it (TRIBUTARY_CREDENTIALS=dir): the
 * bundle fills what the environment leaves unset; an explicit variable wins.
 */
export function withCredentials(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const dir = env.TRIBUTARY_CREDENTIALS;
  if (!dir) return env;
  const file = join(dir, BUNDLE_ENV_FILE);
  if (!existsSync(file)) {
    throw new Error(`invalid configuration:\n  - TRIBUTARY_CREDENTIALS: ${file} does not exist`);
  }
  const bundle = parseBundleEnv(readFileSync(file, 'utf8'), resolve(dir));
  const merged: NodeJS.ProcessEnv = { ...bundle };
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && value !== '') merged[name] = value;
  return merged;
}

function readableFile(r: EnvReader, name: string, value: string | null): string | null {
  if (value === null) return null;
  r.require(existsSync(value), `${name}: file ${value} does not exist`);
  return value;
}

/** Reads the security settings, recording a problem per bad field in `r`. */
export function readClientSecurity(r: EnvReader, env: NodeJS.ProcessEnv): ClientSecurity {
  const E = SECURITY_ENV;
  const mechanismRaw = r.optionalString(E.mechanism);
  const mechanism = mechanismRaw?.toUpperCase() ?? null;
  let sasl: KafkaSecurity['sasl'] = null;
  if (mechanism !== null) {
    const known = (SASL_MECHANISMS as readonly string[]).includes(mechanism);
    r.require(known, `${E.mechanism}: must be one of ${SASL_MECHANISMS.join(', ')}, got "${mechanismRaw}"`);
    const username = r.optionalString(E.username);
    const password = r.optionalString(E.password);
    r.require(username !== null, `${E.username}: required with ${E.mechanism}`);
    r.require(password !== null, `${E.password}: required with ${E.mechanism} (its value is never shown)`);
    if (known && username !== null && password !== null)
      sasl = { mechanism: mechanism as SaslMechanism, username, password };
  } else {
    r.require(
      env[E.username] === undefined && env[E.password] === undefined,
      `${E.mechanism}: required when ${E.username} or ${E.password} is set`,
    );
  }
  const caFile = readableFile(r, E.caFile, r.optionalString(E.caFile));
  const certFile = readableFile(r, E.certFile, r.optionalString(E.certFile));
  const keyFile = readableFile(r, E.keyFile, r.optionalString(E.keyFile));
  r.require(
    (certFile === null) === (keyFile === null),
    `${E.certFile} and ${E.keyFile}: give both or neither`,
  );
  const tlsFlag = r.oneOf(E.tls, ['true', 'false', 'auto'] as const, 'auto');
  // TLS is on when asked, or when any TLS file is given; a SASL password never goes out in plaintext
  // unless KAFKA_TLS=false says so explicitly (a cluster inside a trusted network).
  const tlsOn =
    tlsFlag === 'true' || (tlsFlag === 'auto' && (caFile !== null || certFile !== null || sasl !== null));
  r.require(
    !(tlsFlag === 'false' && (caFile !== null || certFile !== null)),
    `${E.tls}: false, but TLS files are set`,
  );
  const tls = tlsOn ? { caFile, certFile, keyFile } : null;

  const registryUsername = r.optionalString(E.registryUsername);
  const registryPassword = r.optionalString(E.registryPassword);
  const registryToken = r.optionalString(E.registryToken);
  r.require(
    (registryUsername === null) === (registryPassword === null),
    `${E.registryUsername} and ${E.registryPassword}: give both or neither`,
  );
  r.require(
    registryToken === null || registryUsername === null,
    `${E.registryToken}: give a token or a username and password, not both`,
  );
  const registry: RegistryAuth | null =
    registryToken !== null
      ? { kind: 'bearer', token: registryToken }
      : registryUsername !== null && registryPassword !== null
        ? { kind: 'basic', username: registryUsername, password: registryPassword }
        : null;
  return { kafka: { sasl, tls }, registry };
}

/** Parses security settings alone (the CLI and tools), throwing ConfigError on a bad field. */
export function loadClientSecurity(env: NodeJS.ProcessEnv = process.env): ClientSecurity {
  const r = new EnvReader(env);
  const security = readClientSecurity(r, env);
  return r.done(security);
}

/** kafkajs's `ssl` and `sasl` options; the PEM files are read here. */
export function kafkaSecurityOptions(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (security.tls) {
    const { caFile, certFile, keyFile } = security.tls;
    options.ssl =
      caFile === null && certFile === null
        ? true
        : {
            ...(caFile ? { ca: [readFileSync(caFile, 'utf8')] } : {}),
            ...(certFile ? { cert: readFileSync(certFile, 'utf8') } : {}),
            ...(keyFile ? { key: readFileSync(keyFile, 'utf8') } : {}),
          };
  }
  if (security.sasl) {
    const { mechanism, username, password } = security.sasl;
    options.sasl = { mechanism: mechanism.toLowerCase(), username, password } as SASLOptions;
  }
  return options;
}

/** The HTTP headers the registry's authentication needs. */
export function registryHeaders(auth: RegistryAuth | null): Record<string, string> {
  if (auth === null) return {};
  if (auth.kind === 'bearer') return { Authorization: `Bearer ${auth.token}` };
  return { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
}

/** The environment a child process needs to connect as the same principal. */
export function securityEnv(security: ClientSecurity): Record<string, string> {
  const E = SECURITY_ENV;
  const env: Record<string, string> = {};
  const { sasl, tls } = security.kafka;
  if (sasl)
    Object.assign(env, {
      [E.mechanism]: sasl.mechanism,
      [E.username]: sasl.username,
      [E.password]: sasl.password,
    });
  if (tls) {
    env[E.tls] = 'true';
    if (tls.caFile) env[E.caFile] = tls.caFile;
    if (tls.certFile) env[E.certFile] = tls.certFile;
    if (tls.keyFile) env[E.keyFile] = tls.keyFile;
  } else if (sasl) env[E.tls] = 'false';
  const auth = security.registry;
  if (auth?.kind === 'bearer') env[E.registryToken] = auth.token;
  if (auth?.kind === 'basic')
    Object.assign(env, { [E.registryUsername]: auth.username, [E.registryPassword]: auth.password });
  return env;
}

export function isSecured(security: ClientSecurity): boolean {
  return security.kafka.sasl !== null || security.kafka.tls !== null;
}

/** What may be logged about the settings: mechanisms, user names and files, never a secret. */
export function describeSecurity(security: ClientSecurity): Record<string, string | boolean | null> {
  const { sasl, tls } = security.kafka;
  return {
    sasl: sasl ? `${sasl.mechanism} as ${sasl.username}` : null,
    tls: tls !== null,
    tlsCa: tls?.caFile ?? null,
    mutualTls: tls?.certFile != null,
    registryAuth: security.registry?.kind ?? null,
  };
}
