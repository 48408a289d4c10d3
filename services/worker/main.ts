/**
 * Worker process: one per silo. Loads its shard of MNIST, picks the fastest TF.js backend that
 * loads, and serves training tasks until SIGINT/SIGTERM.
 */
import { modelLayout } from '../../lib/core/fedbuff/layout.js';
import { createKafka } from '../../lib/kafka/client.js';
import { createLogger } from '../../lib/log.js';
import { architecture } from '../../lib/ml/architectures.js';
import { loadTf } from '../../lib/ml/backend.js';
import { mnistSplit, workerShard } from '../../lib/ml/mnist.js';
import { ModelRunner } from '../../lib/ml/train.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { loadConfigOrExit } from '../../lib/config.js';
import { loadWorkerConfig } from './config.js';
import { WorkerRunner, type Trainer } from './runner.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit(loadWorkerConfig);
  const log = createLogger({ component: 'worker', workerId: config.workerId, jobId: config.jobId });
  const arch = architecture(config.architectureId);
  const { tf, backend, skipped } = await loadTf({
    needsConvGradients: arch.needsConvGradients,
    prefer: config.backend ?? undefined,
  });
  log.info('backend-selected', { backend, skipped });
  const layout = modelLayout(arch.id, arch.tensors);
  const runner = new ModelRunner(tf, arch, layout);
  const data = workerShard(
    mnistSplit(config.dataSeed),
    config.shardIndex,
    config.shardCount,
    config.partition,
    config.dataSeed,
  );

  const trainer: Trainer = {
    layout,
    backend,
    numExamples: data.count,
    train: (start, task, shouldStop) =>
      runner.train(
        start,
        data,
        {
          epochs: task.hyperparameters.localEpochs,
          steps: task.hyperparameters.localSteps,
          batchSize: task.hyperparameters.batchSize,
          learningRate: task.hyperparameters.learningRate,
          proximalMu: task.hyperparameters.proximalMu,
          seed: config.seed ^ task.baseVersion,
        },
        { shouldStop },
      ),
  };
  const kafka = createKafka({
    brokers: config.brokers,
    clientId: `tributary-worker-${config.workerId}`,
    logger: log,
  });
  const worker = new WorkerRunner(config, kafka, AvroSerde.forUrl(config.registryUrl), trainer, log);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutdown', { signal });
    void worker.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  await worker.start();
}

main().catch((error: unknown) => {
  console.error(
    JSON.stringify({
      level: 'error',
      component: 'worker',
      event: 'fatal',
      message: (error as Error).message,
    }),
  );
  process.exit(1);
});
