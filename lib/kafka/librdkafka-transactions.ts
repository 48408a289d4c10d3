/**
 * librdkafka's transactional producer behind the part of kafkajs's Producer a server step uses
 * (services/coordinator/step.ts): transaction(), and in it send, sendBatch, sendOffsets, commit and
 * abort. librdkafka encodes and checksums records in C, where kafkajs spends ~7 ms a MB in
 * JavaScript: a step of the MNIST model (0.8 MB) takes a third of kafkajs's time in `bench step`,
 * two thirds inside a job (docs/native-kafka.md).
 *
 * Exactly-once is Kafka's, as with kafkajs: connect() initialises the transactional id (fencing any
 * predecessor and aborting what it left open), and a failed step renews the producer
 * (./renewing-producer.ts). Offsets go into a transaction through a consumer of the group that never
 * joins it: librdkafka takes a consumer's group metadata, and one that is no member commits without
 * a member id or generation (-1), as kafkajs's TxnOffsetCommit (v0–v1, which has neither) does.
 *
 * Every call has a deadline past librdkafka's own timeouts (CALL_DEADLINE_MS; a send's is the
 * message timeout's). A call that neither succeeds nor fails by then fails the step, which renews
 * the producer, as any failure does: librdkafka's send_offsets_to_transaction ignores its timeout
 * and can wait for good once the group coordinator's broker is gone (librdkafka#5456, #5511).
 */
import type { Message, Producer, RecordMetadata, TopicOffsets, Transaction } from 'kafkajs';
import { settleWithin } from '../core/deadline.js';
import { TributaryError } from '../core/errors.js';
import { MAX_RECORD_BYTES } from '../core/limits.js';
import {
  librdkafkaClient,
  librdkafkaSecurity,
  type LibrdkafkaSenderOptions,
  type NativeKafka,
} from './librdkafka.js';
import { renewingProducer } from './renewing-producer.js';

/** The members of librdkafka's KafkaJS-style transactional producer used here. */
interface RdTransactionalProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  transaction(): Promise<unknown>;
  send(record: { topic: string; messages: Message[] }): Promise<RecordMetadata[]>;
  sendBatch(batch: { topicMessages: { topic: string; messages: Message[] }[] }): Promise<RecordMetadata[]>;
  sendOffsets(offsets: { consumer: RdConsumer; topics: TopicOffsets[] }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  isActive(): boolean;
}
interface RdConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}
/** The same client as ./librdkafka.ts makes, seen with the producer and consumer members used here. */
interface RdTransactionalKafka {
  producer(config: Record<string, unknown>): RdTransactionalProducer;
  consumer(config: Record<string, unknown>): RdConsumer;
}

export interface TransactionalOptions extends LibrdkafkaSenderOptions {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  /**
   * The group whose offsets steps will send, if known: its client then connects with the producer,
   * not in the first step's sendOffsets (which that added 63–74 ms to, against 2–5 ms).
   */
  readonly offsetsGroupId?: string;
}

/**
 * The longest a transactional call other than a send may take: librdkafka's commit, abort, offsets
 * and transaction initialisation give up after 5 s each (the KafkaJS-style API's timeouts), and
 * connecting also finds a broker first.
 */
export const CALL_DEADLINE_MS = 15_000;

/** librdkafka's transactional producer as a kafkajs Producer for steps; a new one after any failure. */
export function librdkafkaTransactionalProducer(
  native: NativeKafka,
  options: TransactionalOptions,
): Producer {
  const kafka = librdkafkaClient(native, options) as unknown as RdTransactionalKafka;
  return renewingProducer(
    () => stepProducer(kafka, options),
    (error) => options.logger?.warn('producer-renewed', { client: 'librdkafka', transactional: true, error }),
    false,
  );
}

function stepProducer(kafka: RdTransactionalKafka, options: TransactionalOptions): Producer {
  const security = librdkafkaSecurity(options.security);
  const producer = kafka.producer({
    ...security,
    'transactional.id': options.transactionalId,
    'transaction.timeout.ms': options.transactionTimeoutMs,
    // A message may not outlive the transaction that holds it.
    'message.timeout.ms': options.transactionTimeoutMs,
    'enable.idempotence': true,
    acks: -1,
    // A step awaits each write before the next: waiting for company only adds latency.
    'linger.ms': 0,
    // Asked again this soon after CONCURRENT_TRANSACTIONS, the answer to a step's AddOffsetsToTxn
    // while the last step's markers are being written (./spaced-transactions.ts), rather than after
    // librdkafka's 100 ms, doubling to 1000: 4-KB steps back to back took 88 ms at the median (p90
    // 123) with those, 9 (30) with these.
    'retry.backoff.ms': 5,
    'retry.backoff.max.ms': 100,
    partitioner: 'murmur2_random',
    'message.max.bytes': MAX_RECORD_BYTES,
  });
  const groups = new Map<string, Promise<RdConsumer>>();
  const groupMember = (groupId: string): Promise<RdConsumer> => {
    let member = groups.get(groupId);
    if (!member) {
      const consumer = kafka.consumer({ ...security, kafkaJS: { groupId } });
      member = consumer.connect().then(() => consumer);
      groups.set(groupId, member);
    }
    return member;
  };
  const sendDeadlineMs = options.transactionTimeoutMs + 5000; // past message.timeout.ms
  // The next transaction, begun as soon as the last one committed. Beginning one is local to the
  // client (the broker hears of a transaction only when a partition is added to it), yet it is a
  // round trip through libuv's thread pool that took a step 1.1–2.5 ms (medians, NumPy workers).
  let begunAhead: Promise<unknown> | null = null;
  const beginAhead = () => {
    begunAhead = call('transaction', producer.transaction());
    // Awaited by the next step, which fails (and renews the producer) if beginning failed.
    begunAhead.catch(() => undefined);
  };
  const call = <T>(name: string, work: Promise<T>, ms = CALL_DEADLINE_MS): Promise<T> =>
    settleWithin(work, ms, () => {
      options.logger?.warn('librdkafka-call-timeout', { call: name, ms });
      const message = `librdkafka's ${name} did not settle in ${ms} ms`;
      return new TributaryError('TRIB_KAFKA_CALL_TIMEOUT', message, { details: { call: name, ms } });
    });
  const served: Pick<Producer, 'connect' | 'disconnect' | 'transaction' | 'isIdempotent'> = {
    connect: async () => {
      // The offsets client connects beside the producer but is not waited for: if it cannot, the
      // first step's sendOffsets fails and renews the producer, as before, rather than the start.
      if (options.offsetsGroupId !== undefined) groupMember(options.offsetsGroupId).catch(() => undefined);
      await call('connect', producer.connect());
    },
    disconnect: async () => {
      const members = [...groups.values()].map(async (member) => (await member).disconnect());
      // Given up on after its deadline (logged): a client that cannot close must not hold up a stop.
      await call('disconnect', Promise.allSettled([...members, producer.disconnect()])).catch(
        () => undefined,
      );
    },
    isIdempotent: () => true,
    transaction: async (): Promise<Transaction> => {
      const begun = begunAhead ?? call('transaction', producer.transaction());
      begunAhead = null;
      await begun;
      return {
        send: (record) =>
          call('send', producer.send({ topic: record.topic, messages: record.messages }), sendDeadlineMs),
        sendBatch: (batch) =>
          call(
            'sendBatch',
            producer.sendBatch({
              topicMessages: (batch.topicMessages ?? []).map(({ topic, messages }) => ({ topic, messages })),
            }),
            sendDeadlineMs,
          ),
        sendOffsets: async ({ consumerGroupId, topics }) =>
          call(
            'sendOffsets',
            groupMember(consumerGroupId).then((consumer) => producer.sendOffsets({ consumer, topics })),
          ),
        commit: async () => {
          await call('commit', producer.commit());
          beginAhead();
        },
        abort: () => call('abort', producer.abort()),
        isActive: () => producer.isActive(),
      };
    },
  };
  // Steps use only what `served` has; a plain send outside a transaction is not one of them.
  const unserved = (name: string) => () => {
    throw new Error(`the librdkafka step producer does not serve ${name}`);
  };
  return {
    ...served,
    send: unserved('send'),
    sendBatch: unserved('sendBatch'),
    on: unserved('on'),
    logger: unserved('logger'),
    events: {},
  } as unknown as Producer;
}
