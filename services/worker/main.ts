/**
 * Worker process: one per silo. Loads the task (model, data, training), picks the fastest TF.js
 * backend the model can train on, and serves training tasks until SIGINT/SIGTERM.
 */
import { createKafka, explainKafkaError } from '../../lib/kafka/client.js';
import { createRecordSender } from '../../lib/kafka/sender.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { loadTf } from '../../lib/ml/backend.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { loadConfigOrExit } from '../../lib/config.js';
import { describeSecurity, withCredentials } from '../../lib/security/client.js';
import { DEFAULT_LOCAL_SGD } from '../../lib/task/defaults.js';
import { loadTask } from '../../lib/task/load.js';
import { TaskModel } from '../../lib/task/model.js';
import { mixSeed } from '../../lib/core/random.js';
import { StreamSource } from '../../lib/data/stream.js';
import { batchesOf } from '../../lib/task/batches.js';
import { loadWorkerConfig } from './config.js';
import { stopWithParent } from '../../lib/run/parent.js';
import { WorkerRunner, type Trainer } from './runner.js';
import { WorkerLinks } from './links.js';
import { VirtualFleet } from './fleet.js';
import { syntheticTarget, syntheticTrainer } from './synthetic.js';
import { warmUpTraining } from './warm-up.js';
import type { TributaryError } from '../../lib/core/errors.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadWorkerConfig(withCredentials(process.env)));
  const log = createLogger({ component: 'worker', workerId: config.workerId, jobId: config.jobId });
  stopWithParent(config.parentPid, log);
  const { task, file, config: taskConfig } = await loadTask(config.taskSpec);
  // The fastest backend that loads; WebAssembly has no convolution gradients, so a model with
  // convolutions falls back from it to pure JS (native TensorFlow has them).
  const loaded = await loadTf({
    needsConvGradients: false,
    prefer: config.backend ?? undefined,
    threads: config.tfThreads,
  });
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
  log.info('task-loaded', {
    taskId: task.id,
    file,
    backend,
    forwardPath: model.forwardPath,
    gradientPath: model.gradientPath,
    skipped,
    tfThreads: config.tfThreads,
  });
  const silo = {
    tf,
    config: taskConfig,
    silo: config.silo,
    workerId: config.workerId,
    shard: { index: config.shardIndex, count: config.shardCount },
    partition: config.partition,
  };

  log.info('security', { ...describeSecurity(config.security), signing: config.signingKey !== null });
  const kafka = createKafka({
    brokers: config.brokers,
    clientId: `tributary-worker-${config.workerId}`,
    logger: log,
    security: config.security.kafka,
  });
  const { sender, version, fallback } = createRecordSender({
    choice: config.kafkaClient,
    kafka,
    brokers: config.brokers,
    clientId: `tributary-worker-${config.workerId}`,
    security: config.security.kafka,
    logger: log,
  });
  log.info('kafka-client', { sender: sender.client, librdkafka: version, fallback });
  const serde = AvroSerde.forUrl(config.registryUrl, config.security.registry);
  const stream = task.data.stream
    ? new StreamSource(
        task.data.stream,
        { silo: config.silo, workerId: config.workerId, config: taskConfig },
        kafka,
        serde,
        `tributary.${config.jobId}.data.${config.workerId}`,
        log,
      )
    : null;
  const trainData = task.data.train;
  const holdout = task.data.holdout;
  if (config.virtualWorkers > 0) {
    log.info('fleet', { virtualWorkers: config.virtualWorkers, trainMs: config.syntheticTrainMs });
    return serve(new VirtualFleet(config, kafka, serde, model.layout, log, sender), log);
  }

  const taskTrainer: Trainer = {
    layout: model.layout,
    backend,
    train: async (start, work, shouldStop) => {
      const h = {
        epochs: work.hyperparameters.localEpochs,
        steps: work.hyperparameters.localSteps,
        batchSize: work.hyperparameters.batchSize,
        learningRate: work.hyperparameters.learningRate,
        proximalMu: work.hyperparameters.proximalMu,
      };
      const seed = (epoch: number) => mixSeed(config.seed, work.baseVersion, epoch);
      if (stream) {
        // The window as it stands when the task starts; an empty window waits for data.
        while (stream.window.size === 0 && !shouldStop() && Date.now() < work.deadlineMs)
          await new Promise((resolve) => setTimeout(resolve, 200));
        const stats = stream.stats();
        const passes = stream.batchesOf(tf, stream.window.snapshot());
        const result = await model.train(start, h, (epoch) => passes(h.batchSize, seed(epoch)), shouldStop);
        if (!result) return null;
        const window = {
          windowRecords: stats.size,
          windowFromMs: stats.fromMs ?? 0,
          windowToMs: stats.toMs ?? 0,
          recordsSkipped: stats.skippedDecode + stats.skippedMap + stats.skippedTooOld,
        };
        log.info('trained-on-window', { taskId: work.taskId, ...window, consumed: stats.consumed });
        return { ...result, metrics: { ...window, ...result.metrics } };
      }
      if (!trainData) throw new Error('the task gives neither data.train nor data.stream');
      return model.train(
        start,
        h,
        (epoch) => trainData({ ...silo, seed: seed(epoch), epoch, batchSize: h.batchSize }),
        shouldStop,
      );
    },
  };
  const links = new WorkerLinks(
    kafka,
    serde,
    log,
    {
      jobId: config.jobId,
      processId: config.workerId,
      workerIds: [config.workerId],
      layout: model.layout,
      modelCacheBytes: config.modelCacheBytes,
      eagerTransactions: true,
    },
    sender,
  );
  const trainer: Trainer =
    config.trainer === 'synthetic'
      ? syntheticTrainer(
          model.layout,
          config.syntheticTrainMs,
          config.seed,
          syntheticTarget(model.layout.size),
        )
      : taskTrainer;
  const worker = new WorkerRunner(
    config,
    kafka,
    serde,
    holdout && config.trainer === 'task'
      ? {
          ...trainer,
          evaluate: (weights, version) =>
            model.evaluate(
              weights,
              holdout({
                tf,
                config: taskConfig,
                silo: config.silo,
                workerId: config.workerId,
                shard: silo.shard,
                version,
                batchSize: 256,
              }),
            ),
        }
      : trainer,
    log,
    links,
  );

  const synthetic = config.trainer === 'synthetic';
  // The tasks' batch size is the coordinator's to set; the task's default is the likeliest.
  const batchSize = task.defaults?.batchSize ?? DEFAULT_LOCAL_SGD.batchSize;
  await serve(
    {
      start: async () => {
        if (trainData && !synthetic && config.warmUp.steps > 0) {
          // Warm the engine (and the task's data: a lazy load, a file to open) before taking tasks,
          // so the first tasks do not pay for a cold start.
          const defaults = task.defaults ?? {};
          const warmed = await warmUpTraining(
            model,
            model.initialWeights(config.seed),
            (epoch) => trainData({ ...silo, seed: mixSeed(config.seed, -1, epoch), epoch, batchSize }),
            config.warmUp,
            {
              batchSize,
              learningRate: defaults.learningRate ?? DEFAULT_LOCAL_SGD.learningRate,
              proximalMu: defaults.proximalMu ?? null,
            },
          );
          log.info('engine-warmed', {
            steps: warmed.steps,
            ms: Math.round(warmed.ms),
            cpuMs: Math.round(warmed.cpuMs),
            stoppedBy: warmed.stoppedBy,
          });
        } else if (trainData && !synthetic) {
          // Prime the task's data (a lazy load, a file to open) before taking tasks, so the first
          // task does not pay for it: one batch, dropped.
          const began = performance.now();
          const first = await batchesOf(
            trainData({ ...silo, seed: config.seed, epoch: 0, batchSize }),
          ).next();
          if (!first.done) tf.dispose([first.value.xs, first.value.ys]);
          log.info('data-primed', { ms: Math.round(performance.now() - began) });
        }
        if (stream && !synthetic) {
          await stream.start();
          log.info('stream-started', { topics: stream.topics, window: task.data.stream?.window });
        }
        await worker.start();
      },
      stop: async () => {
        await Promise.allSettled([worker.stop(), stream?.stop()]);
        await links.close();
      },
      failed: worker.failed,
    },
    log,
  );
}

/** Runs a worker (or a fleet of virtual ones) until SIGINT/SIGTERM, or until it cannot take part. */
async function serve(
  served: { start(): Promise<void>; stop(): Promise<void>; failed: Promise<TributaryError> },
  log: Logger,
): Promise<void> {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutdown', { signal });
    void served.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  await served.start();
  const failure = await served.failed;
  log.error('cannot-take-part', { code: failure.code, message: failure.message });
  await served.stop();
  process.exit(1);
}

main().catch((thrown: unknown) => {
  // Refused credentials, a failed TLS handshake or a missing ACL: said as such, with a code.
  const error = explainKafkaError(thrown);
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
