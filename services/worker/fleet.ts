/**
 * The fleet simulator: one process hosting many virtual workers (TRIBUTARY_VIRTUAL_WORKERS). Each is
 * a WorkerRunner of its own, with its own worker id, check-ins, leases, updates and (for a chunked
 * update) transactional id, exactly as one worker process would be; what they share is what a
 * device gateway shares: the process's links (one producer, one model feed, one task reader over
 * the partitions of their ids). The coordinator cannot tell them from worker processes.
 */
import type { Kafka } from 'kafkajs';
import type { ModelLayout } from '../../lib/core/fedbuff/layout.js';
import type { TributaryError } from '../../lib/core/errors.js';
import { mixSeed } from '../../lib/core/random.js';
import { encodedBytes } from '../../lib/core/tensors.js';
import type { Logger } from '../../lib/log.js';
import type { RecordSender } from '../../lib/kafka/sender.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import type { WorkerConfig } from './config.js';
import { WorkerLinks } from './links.js';
import { WorkerRunner } from './runner.js';
import { syntheticTarget, syntheticTrainer } from './synthetic.js';

/** Virtual worker i of a fleet process `fleetId`. */
export const virtualWorkerId = (fleetId: string, index: number) =>
  `${fleetId}-${String(index).padStart(4, '0')}`;

/** Workers started at once: a burst of group joins and check-ins no larger than a rolling start. */
const START_BATCH = 50;

export class VirtualFleet {
  readonly links: WorkerLinks;
  readonly workers: WorkerRunner[];
  /** Settles with the first worker that cannot take part (another model than the job's). */
  readonly failed: Promise<TributaryError>;

  constructor(
    config: WorkerConfig,
    kafka: Kafka,
    serde: AvroSerde,
    layout: ModelLayout,
    private readonly log: Logger,
    sender: RecordSender,
  ) {
    const ids = Array.from({ length: config.virtualWorkers }, (_, i) => virtualWorkerId(config.workerId, i));
    this.links = new WorkerLinks(
      kafka,
      serde,
      log,
      {
        jobId: config.jobId,
        processId: config.workerId,
        workerIds: ids,
        layout,
        modelCacheBytes: config.modelCacheBytes,
        // At start when every update is chunked (a real worker always connects at start): 100
        // virtual workers connecting on their first updates, all at once, took over 9 s (the
        // fleet test's whole job). A fleet of single-record updates never needs one.
        eagerTransactions: encodedBytes(layout.size, config.encoding) > config.maxChunkBytes,
      },
      sender,
    );
    const target = syntheticTarget(layout.size);
    this.workers = ids.map((workerId, i) => {
      const seed = mixSeed(config.seed, i);
      const own: WorkerConfig = { ...config, workerId, seed, virtualWorkers: 0 };
      const trainer = syntheticTrainer(layout, config.syntheticTrainMs, seed, target);
      return new WorkerRunner(own, kafka, serde, trainer, log.child({ workerId }), this.links);
    });
    this.failed = Promise.race(this.workers.map((w) => w.failed));
  }

  async start(): Promise<void> {
    for (const worker of this.workers) worker.attach();
    await this.links.start();
    for (let i = 0; i < this.workers.length; i += START_BATCH)
      await Promise.all(this.workers.slice(i, i + START_BATCH).map((w) => w.start()));
    this.log.info('fleet-started', { workers: this.workers.length, tasksRead: this.links.tasks.stats.read });
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.stop()));
    await this.links.close();
  }
}
