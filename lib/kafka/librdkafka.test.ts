import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadLibrdkafka, librdkafkaSecurity } from './librdkafka.js';

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

describe('the loaded librdkafka client', () => {
  // `npm test` builds it before the unit tests (infra/kafka-native/ensure-native.sh).
  it('maps COORDINATOR_NOT_AVAILABLE (15) to an error instead of throwing a TypeError', () => {
    const { native, problem } = loadLibrdkafka();
    expect(native, problem).not.toBeNull();
    const load = createRequire(native?.from ?? '');
    const common = load('@confluentinc/kafka-javascript/lib/kafkajs/_common.js') as {
      createKafkaJsErrorFromLibRdKafkaError(e: { code: number; message: string }): Error;
    };
    const errors = load('@confluentinc/kafka-javascript/lib/kafkajs/_error.js') as Record<
      string,
      new (...args: never[]) => Error
    >;
    const mapped = common.createKafkaJsErrorFromLibRdKafkaError({
      code: 15,
      message: 'coordinator not available',
    });
    expect(mapped).toBeInstanceOf(errors.KafkaJSGroupCoordinatorNotFound);
    expect(mapped.message).toContain('coordinator not available');
  });
});
