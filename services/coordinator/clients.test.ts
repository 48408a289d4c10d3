import { describe, expect, it } from 'vitest';
import { connectStepProducer } from './clients.js';

/**
 * librdkafka's answer when init_transactions outlasts its 5 s: its KafkaJS-style connect() rejects
 * with librdkafka's own error (a LibrdKafkaError, which says `isRetriable`), not a converted one.
 */
const initTimedOut = () =>
  Object.assign(new Error('Timed out waiting for operation to finish, retry call to resume'), {
    code: -185,
    isRetriable: true,
  });

/** A producer whose first `failures` connects fail with `error()`. */
function producerFailing(failures: number, error: () => Error) {
  const producer = {
    connects: 0,
    connect: async () => {
      producer.connects += 1;
      if (producer.connects <= failures) throw error();
    },
  };
  return producer;
}

describe('connectStepProducer', () => {
  it('connects again after retriable failures (a transaction coordinator not yet up)', async () => {
    const producer = producerFailing(2, initTimedOut);
    await expect(connectStepProducer(producer, 5000, 1)).resolves.toBeUndefined();
    expect(producer.connects).toBe(3);
  });

  it('gives up at once on an error that is not retriable', async () => {
    const refused = new Error('Transactional Id authorization failed');
    const producer = producerFailing(1, () => refused);
    await expect(connectStepProducer(producer, 5000, 1)).rejects.toBe(refused);
    expect(producer.connects).toBe(1);
  });

  it('gives up on a retriable error once its time has passed', async () => {
    const producer = producerFailing(Number.POSITIVE_INFINITY, initTimedOut);
    await expect(connectStepProducer(producer, 30, 5)).rejects.toMatchObject({ code: -185 });
    expect(producer.connects).toBeGreaterThan(1);
  });
});
