import { describe, expect, it } from 'vitest';
import { librdkafkaSecurity } from './librdkafka.js';

const sasl = { mechanism: 'SCRAM-SHA-512', username: 'silo-a', password: 's3cret' } as const;
const tls = { caFile: '/ca.pem', certFile: null, keyFile: null };

describe("librdkafka's names for the client security settings", () => {
  it('says nothing for an open cluster', () => {
    expect(librdkafkaSecurity(undefined)).toEqual({});
    expect(librdkafkaSecurity({ sasl: null, tls: null })).toEqual({});
  });

  it('SASL over TLS: the mechanism, the credentials and the CA bundle', () => {
    expect(librdkafkaSecurity({ sasl, tls })).toEqual({
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'silo-a',
      'sasl.password': 's3cret',
      'ssl.ca.location': '/ca.pem',
    });
  });

  it('SASL without TLS is sasl_plaintext', () => {
    expect(librdkafkaSecurity({ sasl, tls: null })['security.protocol']).toBe('sasl_plaintext');
  });

  it("mutual TLS: the client's certificate and key; the system's CAs when no bundle is named", () => {
    expect(
      librdkafkaSecurity({ sasl: null, tls: { caFile: null, certFile: '/c.pem', keyFile: '/k.pem' } }),
    ).toEqual({
      'security.protocol': 'ssl',
      'ssl.certificate.location': '/c.pem',
      'ssl.key.location': '/k.pem',
    });
  });
});
