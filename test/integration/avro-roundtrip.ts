/** One Avro message through the registry and the broker: register, encode, produce, consume, decode. */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { createKafka } from '../../lib/kafka/client.js';
import { uniqueName } from './helpers.js';

const PROBE_SCHEMA = JSON.stringify({
  type: 'record',
  name: 'StackProbe',
  namespace: 'dev.tributary.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'values', type: { type: 'array', items: 'float' } },
  ],
});

export interface RoundTrip {
  readonly schemaId: number;
  readonly sent: { id: string; values: number[] };
  readonly received: unknown;
  readonly magicByte: number;
}

export async function avroRoundTrip(brokers: string[], registryUrl: string): Promise<RoundTrip> {
  const topic = uniqueName('probe');
  const kafka = createKafka({ brokers, clientId: 'avro-roundtrip' });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: uniqueName('probe-group') });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    const registry = new SchemaRegistry({ host: registryUrl });
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: PROBE_SCHEMA },
      { subject: `${topic}-value` },
    );
    const sent = { id: uniqueName('msg'), values: [1.5, -2.25, 3] };
    const encoded = await registry.encode(id, sent);

    await producer.connect();
    await producer.send({ topic, messages: [{ key: sent.id, value: encoded }] });

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const value = await new Promise<Buffer>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            if (message.value) resolve(message.value);
          },
        })
        .catch(reject);
    });
    return { schemaId: id, sent, received: await registry.decode(value), magicByte: value[0] ?? -1 };
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
