/**
 * Worker process: one per silo. Loads the task (model, data, training), picks the fastest TF.js
 * backend the model can train on, and serves training tasks until SIGINT/SIGTERM.
 */
import { createKafka } from '../../lib/kafka/client.js';
import { createLogger } from '../../lib/log.js';
import { loadTf } from '../../lib/ml/backend.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { loadConfigOrExit } from '../../lib/config.js';
import { loadTask } from '../../lib/task/load.js';
import { TaskModel } from '../../lib/task/model.js';
import { mixSeed } from '../../lib/core/random.js';
import { loadWorkerConfig } from './config.js';
import { WorkerRunner, type Trainer } from './runner.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit(loadWorkerConfig);
  const log = createLogger({ component: 'worker', workerId: config.workerId, jobId: config.jobId });
  const { task, file, config: taskConfig } = await loadTask(config.taskSpec);
  // The fastest backend that loads; WebAssembly has no convolution gradients, so a model with
  // convolutions falls back from it to pure JS (native TensorFlow has them).
  const loaded = await loadTf({ needsConvGradients: false, prefer: config.backend ?? undefined });
  const { tf } = loaded;
  let backend = loaded.backend;
  const skipped = [...loaded.skipped];
  let model = new TaskModel(tf, task, taskConfig);
  if (backend === 'wasm' && model.needsConvGradients) {
    model.model.dispose();
    await tf.setBackend('cpu');
    await tf.ready();
    backend = 'cpu';
    skipped.push('wasm: no convolution gradient kernels');
    model = new TaskModel(tf, task, taskConfig);
  }
  log.info('task-loaded', { taskId: task.id, file, backend, skipped });
  const silo = {
    tf,
    config: taskConfig,
    silo: config.silo,
    workerId: config.workerId,
    shard: { index: config.shardIndex, count: config.shardCount },
    partition: config.partition,
  };

  const trainer: Trainer = {
    layout: model.layout,
    backend,
    train: (start, work, shouldStop) => {
      const h = {
        epochs: work.hyperparameters.localEpochs,
        steps: work.hyperparameters.localSteps,
        batchSize: work.hyperparameters.batchSize,
        learningRate: work.hyperparameters.learningRate,
        proximalMu: work.hyperparameters.proximalMu,
      };
      return model.train(
        start,
        h,
        (epoch) =>
          task.data.train({
            ...silo,
            seed: mixSeed(config.seed, work.baseVersion, epoch),
            epoch,
            batchSize: h.batchSize,
          }),
        shouldStop,
      );
    },
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
  const failure = await worker.failed;
  log.error('cannot-take-part', { code: failure.code, message: failure.message });
  await worker.stop();
  process.exit(1);
}

main().catch((error: unknown) => {
  console.error(
    JSON.stringify({
      level: 'error',
      component: 'worker',
      event: 'fatal',
      code: (error as { code?: string }).code,
      message: (error as Error).message,
    }),
  );
  process.exit(1);
});
