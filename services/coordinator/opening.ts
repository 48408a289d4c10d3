/**
 * Opening a job on Kafka: everything a coordinator needs from the cluster before it can rebuild its
 * state, none of which needs the model. Kept apart from the runner so that a starting process can
 * do it before TensorFlow loads: a replacement for a killed coordinator finds the checkpoint here,
 * steps from it, and loads the model once the job has resumed (./deferred-evaluator.ts).
 *
 * Order matters for exactly-once: the transactional producer connects and claims its transactional
 * id (fencing any predecessor and ending its open transaction; lib/kafka/fencing.ts) before the
 * checkpoint is read, so no older coordinator can commit a step after it, and every offset below
 * the checkpoint topic's end is decided. And for workers:
 * the schemas are registered before the topics are created, so a job whose topics exist has them.
 */
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { RecordSender } from '../../lib/kafka/sender.js';
import { ensureTopics, topicName } from '../../lib/kafka/topics.js';
import type { Logger } from '../../lib/log.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import { readLatestCheckpoint, type RestoredCheckpoint } from './checkpoints.js';
import { connectProducers, type StepClient, type StepClientOptions } from './clients.js';
import type { CoordinatorConfig } from './config.js';

/** What opening a job needs to know besides the clients. */
export interface JobOpening {
  readonly jobId: string;
  readonly transactionTimeoutMs: number;
  readonly stepClient: StepClientOptions;
}

/** The job opening `config` describes, logging through `log`. */
export function jobOpening(config: CoordinatorConfig, log: Logger): JobOpening {
  const jobId = config.aggregation.jobId;
  return {
    jobId,
    transactionTimeoutMs: config.transactionTimeoutMs,
    stepClient: {
      // Opt-in only: librdkafka's send_offsets_to_transaction can wait for good when the group
      // coordinator's broker dies (confluentinc/librdkafka#5456, #5511; 2 of 6 three-brokers runs).
      // The call's deadline recovers the job, but the wedged client can hold the process at exit.
      // kafkajs's steps pass that test, so `auto` keeps kafkajs here (docs/native-kafka.md).
      choice: config.kafkaClient === 'librdkafka' ? 'librdkafka' : 'kafkajs',
      brokers: config.brokers,
      clientId: `tributary-coordinator-${jobId}`,
      security: config.security.kafka,
      logger: log,
    },
  };
}

export interface OpenedJob {
  readonly admin: Admin;
  readonly producer: Producer;
  readonly txProducer: Producer;
  /** Where tasks are written: librdkafka beside librdkafka steps, else `producer` (./clients.ts). */
  readonly taskSender: RecordSender;
  /** Which client writes the steps. */
  readonly stepClient: StepClient;
  readonly schemaIds: { task: number; model: number; event: number; rejected: number };
  /** The newest committed checkpoint, read after fencing; null for a new job. */
  readonly checkpoint: RestoredCheckpoint | null;
  /** Seconds each step took: connected, schemas, topics, fenced (producers), checkpoint. */
  readonly seconds: Record<string, number>;
}

export async function openJob(
  kafka: Kafka,
  serde: AvroSerde,
  { jobId, transactionTimeoutMs, stepClient: stepClientOptions }: JobOpening,
  now: () => number = Date.now,
): Promise<OpenedJob> {
  const seconds: Record<string, number> = {};
  let at = now();
  const step = (name: string) => {
    seconds[name] = (now() - at) / 1000;
    at = now();
  };
  const admin = kafka.admin();
  await admin.connect();
  step('connected');
  try {
    const [task, model, event, rejected] = await Promise.all([
      serde.register('TrainTask', topicName(jobId, 'tasks')),
      serde.register('GlobalModel', topicName(jobId, 'models')),
      serde.register('CoordinatorEvent', topicName(jobId, 'events')),
      serde.register('RejectedUpdate', topicName(jobId, 'rejected')),
    ]);
    step('schemas');
    // Only now the topics: a worker that finds them fetches these schemas at once (both workers
    // do, so that a first task is not decoded behind a registry call). With the topics first, a
    // worker could look in the ~0.6 s before they were registered, find nothing, and then decode
    // its first task behind registry calls: the first version's "model ready" took 9-188 ms in 8
    // MNIST runs with NumPy workers, and 0-24 ms in this order.
    await ensureTopics(admin, jobId);
    step('topics');
    const { producer, txProducer, taskSender, stepClient } = await connectProducers(
      kafka,
      jobId,
      transactionTimeoutMs,
      stepClientOptions,
    );
    step('fenced');
    const checkpoint = await readLatestCheckpoint(kafka, topicName(jobId, 'checkpoints'), jobId, {
      now,
    }).catch(async (error: unknown) => {
      await Promise.allSettled([producer.disconnect(), txProducer.disconnect(), taskSender.disconnect()]);
      throw error;
    });
    step('checkpoint');
    const schemaIds = { task, model, event, rejected };
    return { admin, producer, txProducer, taskSender, stepClient, schemaIds, checkpoint, seconds };
  } catch (error) {
    await admin.disconnect().catch(() => undefined);
    throw error;
  }
}
