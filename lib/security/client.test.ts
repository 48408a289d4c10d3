import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { EnvReader } from '../config.js';
import {
  describeSecurity,
  kafkaSecurityOptions,
  parseBundleEnv,
  readClientSecurity,
  registryHeaders,
  securityEnv,
  withCredentials,
} from './client.js';

const dir = mkdtempSync(join(tmpdir(), 'client-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

function read(env: NodeJS.ProcessEnv) {
  const r = new EnvReader(env);
  const security = readClientSecurity(r, env);
  return { security, problems: r.problems };
}

describe('client security settings', () => {
  it('open by default', () => {
    const { security, problems } = read({});
    expect(problems).toEqual([]);
    expect(security).toEqual({ kafka: { sasl: null, tls: null }, registry: null });
  });

  it('SASL turns TLS on unless KAFKA_TLS=false says otherwise', () => {
    const sasl = {
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
    };
    expect(read(sasl).security.kafka).toEqual({
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' },
      tls: { caFile: null, certFile: null, keyFile: null },
    });
    expect(read({ ...sasl, KAFKA_TLS: 'false' }).security.kafka.tls).toBeNull();
    expect(read({ ...sasl, KAFKA_TLS_CA_FILE: ca }).security.kafka.tls?.caFile).toBe(ca);
  });

  it('reports every bad field at once, one line each, and never echoes a secret', () => {
    const { problems } = read({
      KAFKA_SASL_MECHANISM: 'GSSAPI',
      KAFKA_SASL_PASSWORD: 'hunter2-secret',
      KAFKA_TLS_CA_FILE: join(dir, 'missing.pem'),
      KAFKA_TLS_CERT_FILE: ca,
      KAFKA_TLS: 'maybe',
      SCHEMA_REGISTRY_USERNAME: 'reg',
      SCHEMA_REGISTRY_TOKEN: 'token-secret',
    });
    expect(problems).toEqual([
      'KAFKA_SASL_MECHANISM: must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, got "GSSAPI"',
      'KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM',
      `KAFKA_TLS_CA_FILE: file ${join(dir, 'missing.pem')} does not exist`,
      'KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE: give both or neither',
      'KAFKA_TLS: must be one of true, false, auto, got "maybe"',
      'SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD: give both or neither',
      'SCHEMA_REGISTRY_TOKEN: give a token or a username and password, not both',
    ]);
    expect(problems.join('\n')).not.toMatch(/hunter2|token-secret/);
  });

  it('a password without a mechanism is a problem, not silently ignored', () => {
    expect(read({ KAFKA_SASL_PASSWORD: 'x' }).problems).toEqual([
      'KAFKA_SASL_MECHANISM: required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set',
    ]);
  });

  it('what may be logged carries no secret', () => {
    const { security } = read({
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_SASL_USERNAME: 'alice',
      KAFKA_SASL_PASSWORD: 'pw-secret',
      SCHEMA_REGISTRY_USERNAME: 'reg',
      SCHEMA_REGISTRY_PASSWORD: 'reg-secret',
    });
    const logged = JSON.stringify(describeSecurity(security));
    expect(logged).toContain('PLAIN as alice');
    expect(logged).not.toMatch(/secret/);
  });

  it('kafkajs options: SASL mechanism in its spelling, PEM files read', () => {
    const options = kafkaSecurityOptions({
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' },
      tls: { caFile: ca, certFile: null, keyFile: null },
    });
    expect(options.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'u', password: 'p' });
    expect(options.ssl).toEqual({ ca: [expect.stringContaining('BEGIN CERTIFICATE')] });
    expect(
      kafkaSecurityOptions({ sasl: null, tls: { caFile: null, certFile: null, keyFile: null } }).ssl,
    ).toBe(true);
  });

  it('registry headers: basic and bearer', () => {
    expect(registryHeaders(null)).toEqual({});
    expect(registryHeaders({ kind: 'basic', username: 'u', password: 'p' })).toEqual({
      Authorization: 'Basic dTpw',
    });
    expect(registryHeaders({ kind: 'bearer', token: 't' })).toEqual({ Authorization: 'Bearer t' });
  });

  it('settings survive the trip through a child process environment', () => {
    const env = {
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
      KAFKA_TLS_CA_FILE: ca,
      SCHEMA_REGISTRY_TOKEN: 't',
    };
    const { security } = read(env);
    expect(read(securityEnv(security)).security).toEqual(security);
    const plain = read({ ...env, KAFKA_TLS: 'false', KAFKA_TLS_CA_FILE: '' }).security;
    expect(read(securityEnv(plain)).security).toEqual(plain);
  });
});

describe('credentials bundles', () => {
  it('parses KEY=VALUE lines literally, resolving *_FILE paths against the bundle', () => {
    expect(
      parseBundleEnv(
        '# comment\n\nKAFKA_SASL_PASSWORD=a=b#c\nKAFKA_TLS_CA_FILE=ca.pem\nX_FILE=/abs\nnoise\n',
        '/b',
      ),
    ).toEqual({ KAFKA_SASL_PASSWORD: 'a=b#c', KAFKA_TLS_CA_FILE: '/b/ca.pem', X_FILE: '/abs' });
  });

  it('sits under the environment: an explicit variable wins', () => {
    const bundle = scratchDir('bundle');
    writeFileSync(join(bundle, 'tributary.env'), 'KAFKA_SASL_USERNAME=from-bundle\nTRIBUTARY_SILO=a\n');
    const env = withCredentials({ TRIBUTARY_CREDENTIALS: bundle, TRIBUTARY_SILO: 'explicit', EMPTY: '' });
    expect(env.KAFKA_SASL_USERNAME).toBe('from-bundle');
    expect(env.TRIBUTARY_SILO).toBe('explicit');
    expect(() => withCredentials({ TRIBUTARY_CREDENTIALS: join(bundle, 'nope') })).toThrow(
      /TRIBUTARY_CREDENTIALS: .*nope\/tributary.env does not exist/,
    );
    expect(withCredentials({ A: '1' })).toEqual({ A: '1' });
  });
});
