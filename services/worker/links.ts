/**
 * A worker process's Kafka links, shared by every worker it hosts: one process of one worker, or a
 * fleet simulator hosting many virtual workers (./fleet.ts). What a worker sends is its own (its
 * check-ins, its updates, its transactional id); what it reads is read once per process: the
 * global models (a broadcast) and its tasks, from the partitions its worker ids map to
 * (lib/kafka/keyed-partitions.ts), so a worker never reads the rest of the fleet's tasks.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { LARGE_RECORD_CONSUMER } from '../../lib/kafka/client.js';
import { ownPartitionsAssigner, partitionsOfKeys } from '../../lib/kafka/keyed-partitions.js';
import { fetchOffsetsSettled, ReadPosition, topicPartitionsSettled } from '../../lib/kafka/read.js';
import { claimTransactionalId } from '../../lib/kafka/fencing.js';
import { renewingProducer } from '../../lib/kafka/renewing-producer.js';
import type { RecordSender } from '../../lib/kafka/sender.js';
import { topicName, waitForTopics, WORKER_TOPIC_KINDS } from '../../lib/kafka/topics.js';
import type { Logger } from '../../lib/log.js';
import { joinFlat, type ModelLayout } from '../../lib/core/fedbuff/layout.js';
import { TRANSACTION_TIMEOUT_MS } from '../../lib/core/limits.js';
import { firstLayoutMismatch, LayoutMismatchError } from '../../lib/task/layout.js';
import { ModelAssembler, type ModelAssembly } from '../../lib/wire/model-assembly.js';
import { tensorsOf } from '../../lib/wire/records.js';
import type { EvaluationTask, TrainTask } from '../../lib/wire/schemas.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import { ModelCache } from './model-cache.js';

/** A global model version a worker cannot use; `fatal` when no version of the job can be (another model). */
export interface ModelProblem {
  readonly version: number;
  readonly code: string;
  readonly message: string;
  readonly fatal: boolean;
}

/** The partition count of `topic`, from the cluster's metadata once it lists them. */
async function partitionCount(admin: Admin, topic: string): Promise<number> {
  return (await topicPartitionsSettled(admin, topic)).length;
}

type KeyedMessage = 'TrainTask' | 'EvaluationTask';
type KeyedRecord<N extends KeyedMessage> = N extends 'TrainTask' ? TrainTask : EvaluationTask;

/**
 * Records addressed to workers by key (tasks, evaluation requests), read from the partitions of the
 * keys given and handed to each key's handler; a record whose key, worker id or job is not one of
 * them is ignored, an unreadable one logged.
 */
export class KeyedFeed<N extends KeyedMessage> {
  private readonly handlers = new Map<string, (record: KeyedRecord<N>) => void>();
  private consumer: Consumer | undefined;
  readonly stats = { read: 0, addressed: 0 };

  constructor(
    private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly log: Logger,
    private readonly options: {
      jobId: string;
      topic: string;
      groupId: string;
      message: N;
      keys: readonly string[];
    },
  ) {}

  on(key: string, handler: (record: KeyedRecord<N>) => void): void {
    if (!this.options.keys.includes(key)) throw new Error(`${key} is not one of this feed's keys`);
    this.handlers.set(key, handler);
  }

  /** Joins the feed's group and resolves once its partitions are assigned (nothing sent before is read). */
  async start(admin: Admin): Promise<void> {
    const { topic, groupId, keys, message: name, jobId } = this.options;
    const partitions = partitionsOfKeys(keys, await partitionCount(admin, topic));
    const consumer = this.kafka.consumer({
      groupId,
      partitionAssigners: [ownPartitionsAssigner(partitions)],
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        this.stats.read += 1;
        const key = message.key?.toString() ?? '';
        const handler = this.handlers.get(key);
        if (!handler) return;
        try {
          const record = (await this.serde.decode(name, message.value)) as KeyedRecord<N>;
          if (record.workerId !== key || record.jobId !== jobId) return;
          this.stats.addressed += 1;
          handler(record);
        } catch (error) {
          this.log.warn('addressed-record-unreadable', { topic, error, offset: message.offset });
        }
      },
    });
    await joined;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** The job's global models, read once per process into one cache; problems go to every listener. */
export class ModelFeed {
  readonly cache: ModelCache;
  private readonly listeners = new Set<(problem: ModelProblem) => void>();
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly log: Logger,
    private readonly options: { jobId: string; groupId: string; layout: ModelLayout; cacheBytes: number },
  ) {
    this.cache = new ModelCache(options.cacheBytes);
  }

  onProblem(listener: (problem: ModelProblem) => void): void {
    this.listeners.add(listener);
  }

  /**
   * Reads the job's models from the beginning, and resolves once those there were at the start are
   * read, or the first once there is one (or after `readyWithinMs`): a worker checks in holding
   * them, so a task leased in answer is not held up behind the group join and the first fetch
   * (~0.1 s in round 1, measured).
   */
  async start(admin: Admin, readyWithinMs = 30_000): Promise<void> {
    const assembler = new ModelAssembler(this.options.layout.size * 4);
    const topic = topicName(this.options.jobId, 'models');
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      readUncommitted: false,
      ...LARGE_RECORD_CONSUMER,
    });
    this.consumer = consumer;
    const position = new ReadPosition(consumer, topic);
    let ends = await fetchOffsetsSettled(admin, topic);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        try {
          const record = await this.serde.decode('GlobalModel', message.value);
          const { outcome, ended } = assembler.accept(record);
          if (ended) this.onModel(ended);
          this.onModel(outcome);
        } catch (error) {
          this.log.warn('model-record-unreadable', { error, offset: message.offset });
        }
      },
    });
    const deadline = Date.now() + readyWithinMs;
    // No model yet (a coordinator still starting): the first task names version 0, so it is
    // waited for as the rest are.
    const empty = () => ends.every(({ high }) => Number(high) === 0);
    if (empty()) this.log.info('waiting-for-first-model', { jobId: this.options.jobId });
    while (empty() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ends = await fetchOffsetsSettled(admin, topic);
    }
    const read = () => ends.every(({ partition, high }) => position.caughtUp(partition, Number(high)));
    while (!read() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    if (!read()) this.log.warn('models-not-read-before-check-in', { jobId: this.options.jobId });
  }

  private onModel(assembly: ModelAssembly): void {
    if (assembly.kind === 'whole') {
      const mismatch = firstLayoutMismatch(this.options.layout, assembly.model.manifest);
      if (mismatch) {
        const error = new LayoutMismatchError(mismatch);
        return this.problem({
          version: assembly.model.version,
          code: error.code,
          message: error.message,
          fatal: true,
        });
      }
      try {
        this.cache.put(assembly.model.version, joinFlat(this.options.layout, tensorsOf(assembly.model)));
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'TRIB_PAYLOAD_CORRUPT';
        this.problem({
          version: assembly.model.version,
          code,
          message: String((error as Error).message ?? error),
          fatal: false,
        });
      }
    } else if (assembly.kind === 'broken') {
      this.problem({
        version: assembly.version,
        code: assembly.error.code,
        message: assembly.error.message,
        fatal: false,
      });
    } else if (assembly.kind === 'skipped') {
      this.log.debug('model-tail-skipped', { version: assembly.version });
    }
  }

  private problem(problem: ModelProblem): void {
    this.cache.fail(problem.version, problem);
    this.log.error('model-unreadable', {
      version: problem.version,
      code: problem.code,
      message: problem.message,
    });
    for (const listener of this.listeners) listener(problem);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

export interface LinkOptions {
  readonly jobId: string;
  /** The process's own id: its groups are named after it (a fleet's gateway id, or the worker's id). */
  readonly processId: string;
  /** The ids of the workers this process hosts. */
  readonly workerIds: readonly string[];
  readonly layout: ModelLayout;
  readonly modelCacheBytes: number;
  /**
   * Connect each worker's transactional producer at start (a real worker: it fences what a killed
   * predecessor left open at once; virtual workers whose every update is chunked) or on its first
   * multi-record update (other virtual workers).
   */
  readonly eagerTransactions: boolean;
}

/** The shared links of one worker process; `start()` once every hosted worker has attached its handlers. */
export class WorkerLinks {
  readonly models: ModelFeed;
  readonly tasks: KeyedFeed<'TrainTask'>;
  readonly schemaIds = { checkIn: 0, update: 0 };
  private readonly transactionalProducers = new Map<string, Promise<Producer>>();
  private started: Promise<void> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly log: Logger,
    private readonly options: LinkOptions,
    /** What the hosted workers send on their own through: check-ins, single-record updates, reports. */
    readonly sender: RecordSender,
  ) {
    const { jobId, processId } = options;
    this.models = new ModelFeed(kafka, serde, log, {
      jobId,
      groupId: `tributary.${jobId}.worker.${processId}.models.${randomUUID()}`,
      layout: options.layout,
      cacheBytes: options.modelCacheBytes,
    });
    this.tasks = new KeyedFeed(kafka, serde, log, {
      jobId,
      topic: topicName(jobId, 'tasks'),
      groupId: `tributary.${jobId}.worker.${processId}`,
      message: 'TrainTask',
      keys: options.workerIds,
    });
  }

  /** The transactional producer of `workerId` (its id `tributary.<job>.worker.<workerId>`). */
  transactional(workerId: string): Promise<Producer> {
    let producer = this.transactionalProducers.get(workerId);
    if (!producer) {
      const created = renewingProducer(
        () =>
          this.kafka.producer({
            transactionalId: `tributary.${this.options.jobId}.worker.${workerId}`,
            transactionTimeout: TRANSACTION_TIMEOUT_MS,
            idempotent: true,
            maxInFlightRequests: 1,
          }),
        (error) => this.log.warn('producer-renewed', { workerId, error }),
      );
      // Claimed at once (lib/kafka/fencing.ts): a killed predecessor's open transaction would hold
      // back the coordinator's read_committed view of its updates partition until it timed out.
      producer = created
        .connect()
        .then(() => claimTransactionalId(created))
        .then(() => created);
      producer.catch(() => this.transactionalProducers.delete(workerId));
      this.transactionalProducers.set(workerId, producer);
    }
    return producer;
  }

  /** Waits for the job's topics, registers the schemas, connects, and joins the feeds (once). */
  start(): Promise<void> {
    this.started ??= this.connect();
    return this.started;
  }

  private async connect(): Promise<void> {
    const { jobId } = this.options;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      let waited = false;
      await waitForTopics(admin, jobId, 10 * 60_000, WORKER_TOPIC_KINDS, () => {
        if (!waited) this.log.info('waiting-for-topics', { jobId });
        waited = true;
      });
      this.schemaIds.checkIn = await this.serde.register('WorkerCheckIn', topicName(jobId, 'checkins'));
      this.schemaIds.update = await this.serde.register('ModelUpdate', topicName(jobId, 'updates'));
      // The coordinator registered these at its start: fetched now, a first task is not decoded
      // behind a registry call.
      await Promise.all(
        (['tasks', 'models', 'evaluation-tasks'] as const).map((kind) =>
          this.serde.prefetchLatest(topicName(jobId, kind)),
        ),
      );
      await this.sender.connect();
      if (this.options.eagerTransactions)
        await Promise.all(this.options.workerIds.map((id) => this.transactional(id)));
      await this.models.start(admin);
      await this.tasks.start(admin);
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    const transactional = await Promise.allSettled(this.transactionalProducers.values());
    await Promise.allSettled([
      this.tasks.stop(),
      this.models.stop(),
      this.sender.disconnect(),
      ...transactional.map((p) => (p.status === 'fulfilled' ? p.value.disconnect() : undefined)),
    ]);
  }
}
