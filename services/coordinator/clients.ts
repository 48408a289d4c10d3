/** The coordinator's Kafka clients, configured in one place: producers and the two consumers. */
import { randomUUID } from 'node:crypto';
import kafkajs, { type Consumer, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { LARGE_RECORD_CONSUMER } from '../../lib/kafka/client.js';
import { librdkafkaTransactionalProducer } from '../../lib/kafka/librdkafka-transactions.js';
import { librdkafkaSender } from '../../lib/kafka/librdkafka.js';
import {
  librdkafkaFor,
  type KafkaClientChoice,
  type KafkaClientName,
  type RecordSender,
} from '../../lib/kafka/sender.js';
import type { Logger } from '../../lib/log.js';
import type { KafkaSecurity } from '../../lib/security/client.js';
import { seekOnEveryJoin, settledAnswer, topicPartitionsSettled } from '../../lib/kafka/read.js';
import { renewingProducer } from '../../lib/kafka/renewing-producer.js';
import { spacedTransactions } from '../../lib/kafka/spaced-transactions.js';
import { TOPIC_SPECS, topicName } from '../../lib/kafka/topics.js';
import { claimTransactionalId } from '../../lib/kafka/fencing.js';
import { sendKeyed } from '../../lib/kafka/publish.js';
import { ownPartitionsAssigner } from '../../lib/kafka/keyed-partitions.js';
import { WORKER_MEMORY } from './leases.js';

const { Partitioners } = kafkajs;

/** Who writes server steps: librdkafka's transactional producer or kafkajs's (TRIBUTARY_KAFKA_CLIENT). */
export interface StepClientOptions {
  readonly choice: KafkaClientChoice;
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly security?: KafkaSecurity;
  readonly logger?: Logger;
}

/** Which client writes the steps: its name, librdkafka's version, and why `auto` fell back to kafkajs. */
export interface StepClient {
  readonly client: KafkaClientName;
  readonly librdkafka: string | null;
  readonly fallback: string | null;
}

/** The coordinator's consumer group on `updates`, whose offsets every step commits; also its transactional id. */
export const coordinatorGroupId = (jobId: string) => `tributary.${jobId}.coordinator`;

/**
 * The least time from one step's commit to the next step's begin (lib/kafka/spaced-transactions.ts):
 * enough for a local broker to write the last one's markers.
 */
export const STEP_GAP_MS = 5;

/**
 * How long start-up asks again while the step producer's connect fails with a retriable error.
 * On a fresh cluster the broker creates `__transaction_state` on the first transactional id it
 * is asked for, and until then answers COORDINATOR_NOT_AVAILABLE: kafkajs asks again inside its
 * connect, but librdkafka's gives up after 5 s with a timeout it marks retriable ("retry call to
 * resume"), and a coordinator on a loaded machine died of it at start-up in a benchmark.
 */
export const STEP_PRODUCER_START_MS = 60_000;

/** Connects the step producer, asking again while its answer is retriable (STEP_PRODUCER_START_MS). */
export function connectStepProducer(
  producer: Pick<Producer, 'connect'>,
  timeoutMs = STEP_PRODUCER_START_MS,
  pauseMs = 200,
): Promise<void> {
  return settledAnswer(() => producer.connect(), timeoutMs, pauseMs);
}

/**
 * An idempotent producer for events, the transactional one for server steps, and the tasks' sender:
 * kafkajs's, or librdkafka's when `stepClient` takes it (shorter steps; docs/native-kafka.md has
 * the figures). Tasks go out right after a step, on the next round's path: on librdkafka they
 * neither queue behind a batch of events nor pay kafkajs's protocol work in the coordinator's thread.
 */
export async function connectProducers(
  kafka: Kafka,
  jobId: string,
  transactionTimeoutMs: number,
  stepClient: StepClientOptions,
  stepGapMs = STEP_GAP_MS,
): Promise<{ producer: Producer; txProducer: Producer; taskSender: RecordSender; stepClient: StepClient }> {
  // Tasks and evaluation requests are keyed by worker and must land on the partition each worker
  // reads: Kafka's default (murmur2) partitioner, pinned here (lib/kafka/keyed-partitions.ts).
  const producer = renewingProducer(() =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    }),
  );
  const transactionalId = coordinatorGroupId(jobId);
  const { native, fallback } = librdkafkaFor(stepClient.choice);
  const stepProducer = native
    ? librdkafkaTransactionalProducer(native, {
        ...stepClient,
        transactionalId,
        transactionTimeoutMs,
        offsetsGroupId: coordinatorGroupId(jobId),
      })
    : renewingProducer(() =>
        kafka.producer({
          transactionalId,
          transactionTimeout: transactionTimeoutMs,
          idempotent: true,
          maxInFlightRequests: 1,
        }),
      );
  const txProducer = spacedTransactions(stepProducer, stepGapMs);
  const taskSender = native ? librdkafkaSender(native, stepClient) : kafkajsTaskSender(producer);
  await Promise.all([producer.connect(), connectStepProducer(txProducer), taskSender.connect()]);
  // Before anything is read: the checkpoint and the committed offsets are final only once no
  // predecessor can commit a step behind them (lib/kafka/fencing.ts).
  if (!native) await claimTransactionalId(txProducer);
  return {
    producer,
    txProducer,
    taskSender,
    stepClient: { client: native ? 'librdkafka' : 'kafkajs', librdkafka: native?.version ?? null, fallback },
  };
}

/**
 * `producer` as the sender of tasks, each to its worker's partition and sent again if kafkajs left
 * it out (sendKeyed); it is connected and disconnected with the producer itself.
 */
function kafkajsTaskSender(producer: Producer): RecordSender {
  return {
    client: 'kafkajs',
    connect: async () => undefined,
    send: async (topic, records) => {
      await sendKeyed(producer, topic, records, TOPIC_SPECS.tasks.partitions);
    },
    disconnect: async () => undefined,
  };
}

/**
 * The check-ins of the last ten minutes (what the lease book remembers a quiet worker for) and on,
 * in a group of this process's own (no offsets to keep): a restarted coordinator relearns the fleet
 * without reading a day of check-ins first.
 */
export async function consumeCheckIns(
  kafka: Kafka,
  jobId: string,
  onMessage: (message: KafkaMessage) => Promise<void>,
  lookBackMs = WORKER_MEMORY.forgetAfterMs,
): Promise<Consumer> {
  const topic = topicName(jobId, 'checkins');
  const admin = kafka.admin();
  await admin.connect();
  // The topic may be moments old: its partitions can still answer "not the leader" (a CI run's
  // coordinator died of it at start-up).
  const from = await settledAnswer(() =>
    admin.fetchTopicOffsetsByTimestamp(topic, Date.now() - lookBackMs),
  ).finally(() => admin.disconnect());
  const consumer = kafka.consumer({ groupId: `tributary.${jobId}.coordinator.checkins.${randomUUID()}` });
  // The first join starts ten minutes back; a rejoin resumes after what this process has read.
  // Nothing is committed: kafkajs commits after every batch, and a fleet's check-ins each cost the
  // broker an offset commit (three a version in a ten-worker MNIST run) for a group nobody resumes.
  const next = new Map<number, string>(
    from.filter(({ offset }) => Number(offset) >= 0).map(({ partition, offset }) => [partition, offset]),
  );
  seekOnEveryJoin(consumer, topic, () => [...next].map(([partition, offset]) => ({ partition, offset })));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      next.set(partition, String(BigInt(message.offset) + 1n));
      await onMessage(message);
    },
  });
  return consumer;
}

/**
 * Updates read_committed from where the last committed step left them; offsets are committed only
 * with steps, into the job's coordinator group `tributary.<job>.coordinator`.
 *
 * The reading is done in a group of this incarnation's own, holding every partition, seeked to the
 * job group's committed offsets. Joining the job group itself would wait for the member a killed
 * coordinator left there until its session expired (kafkajs has neither static membership nor
 * manual assignment), holding a restarted coordinator back by the session timeout. Exactly once is
 * unchanged: the step transaction still commits the offsets to the job group with the checkpoint,
 * and the transactional id fences any coordinator still alive.
 */
export async function consumeUpdates(
  kafka: Kafka,
  jobId: string,
  sessionTimeoutMs: number,
  /** The next offset of each partition this process has already handled (a rejoin resumes there). */
  handled: ReadonlyMap<number, number>,
  onMessage: (partition: number, message: KafkaMessage) => Promise<void>,
): Promise<Consumer> {
  const topic = topicName(jobId, 'updates');
  const admin = kafka.admin();
  await admin.connect();
  let committed: { partition: number; offset: string }[];
  let partitions: number[];
  try {
    partitions = (await topicPartitionsSettled(admin, topic)).map((p) => p.partitionId);
    // Asked again while the group's coordinator is still loading or moving (NOT_COORDINATOR ended
    // a CI run's coordinator at start-up, on a broker just started).
    const [offsets] = await settledAnswer(() =>
      admin.fetchOffsets({ groupId: coordinatorGroupId(jobId), topics: [topic] }),
    );
    committed = offsets?.partitions ?? [];
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({
    groupId: `tributary.${jobId}.coordinator.reader.${randomUUID()}`,
    partitionAssigners: [ownPartitionsAssigner(partitions)],
    readUncommitted: false,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 4)),
    ...LARGE_RECORD_CONSUMER,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const startOf = new Map(
    committed.filter((c) => Number(c.offset) >= 0).map((c) => [c.partition, BigInt(c.offset)]),
  );
  // A partition with no committed offset starts at the beginning. After a rejoin (the group keeps
  // no offsets), reading resumes after what this process handled, not at the committed offsets.
  seekOnEveryJoin(consumer, topic, () =>
    partitions.flatMap((partition) => {
      const committed = startOf.get(partition);
      const next = handled.get(partition);
      const at =
        next !== undefined && (committed === undefined || BigInt(next) > committed)
          ? BigInt(next)
          : committed;
      return at === undefined ? [] : [{ partition, offset: String(at) }];
    }),
  );
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      // Below the committed offset: handled by a committed step (only read if a fetch won the race
      // with the seeks).
      if (BigInt(message.offset) < (startOf.get(partition) ?? 0n)) return;
      await onMessage(partition, message);
    },
  });
  return consumer;
}

/** Waits for every disconnect, but no longer than `ms`: a client of a dead broker may never answer. */
export async function settled(all: (Promise<void> | undefined)[], ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(all), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
