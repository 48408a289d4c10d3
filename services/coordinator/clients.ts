/** The coordinator's Kafka clients, configured in one place: producers and the two consumers. */
import { randomUUID } from 'node:crypto';
import kafkajs, { type Consumer, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { LARGE_RECORD_CONSUMER } from '../../lib/kafka/client.js';
import { topicName } from '../../lib/kafka/topics.js';

const { Partitioners } = kafkajs;

/** An idempotent producer for tasks and events, and the transactional one for server steps. */
export async function connectProducers(
  kafka: Kafka,
  jobId: string,
  transactionTimeoutMs: number,
): Promise<{ producer: Producer; txProducer: Producer }> {
  // Tasks and evaluation requests are keyed by worker and must land on the partition each worker
  // reads: Kafka's default (murmur2) partitioner, pinned here (lib/kafka/keyed-partitions.ts).
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const txProducer = kafka.producer({
    transactionalId: `tributary.${jobId}.coordinator`,
    transactionTimeout: transactionTimeoutMs,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await Promise.all([producer.connect(), txProducer.connect()]);
  return { producer, txProducer };
}

/** Every check-in from the beginning, in a group of this process's own (no offsets to keep). */
export async function consumeCheckIns(
  kafka: Kafka,
  jobId: string,
  onMessage: (message: KafkaMessage) => Promise<void>,
): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId: `tributary.${jobId}.coordinator.checkins.${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: topicName(jobId, 'checkins'), fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => onMessage(message) });
  return consumer;
}

/** Updates read_committed in the job's coordinator group; offsets are committed only with steps. */
export async function consumeUpdates(
  kafka: Kafka,
  jobId: string,
  sessionTimeoutMs: number,
  onMessage: (partition: number, message: KafkaMessage) => Promise<void>,
): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId: `tributary.${jobId}.coordinator`,
    readUncommitted: false,
    // A coordinator that died outright still holds its group membership until this expires, so it
    // bounds how long a restarted coordinator waits before it can read updates again.
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 4)),
    ...LARGE_RECORD_CONSUMER,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: topicName(jobId, 'updates'), fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => onMessage(partition, message),
  });
  return consumer;
}

/** Waits for every disconnect, but no longer than `ms`: a client of a dead broker may never answer. */
export async function settled(all: (Promise<void> | undefined)[], ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(all), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
