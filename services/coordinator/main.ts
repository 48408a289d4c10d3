/**
 * Coordinator process: owns the global model of one job. Runs until a stop condition (target
 * accuracy, maximum versions, maximum wall time) or SIGINT/SIGTERM, then writes its report.
 */
import { join } from 'node:path';
import { createKafka, explainKafkaError } from '../../lib/kafka/client.js';
import { createLogger } from '../../lib/log.js';
import { loadTf } from '../../lib/ml/backend.js';
import { defaultTaskSpec, loadTask } from '../../lib/task/load.js';
import { TaskModel } from '../../lib/task/model.js';
import { runDefaultsAsEnv } from '../../lib/task/defaults.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { loadConfigOrExit } from '../../lib/config.js';
import { describeSecurity, withCredentials } from '../../lib/security/client.js';
import { loadCoordinatorConfig } from './config.js';
import { stopWithParent } from '../../lib/run/parent.js';
import { taskEvaluator, type Evaluator } from './evaluator.js';
import { EvaluationThread, threadedEvaluator } from './threaded-evaluator.js';
import { serveStatus } from './http.js';
import { buildReport, writeReport } from './report.js';
import { RestartBudget } from './restarts.js';
import { jobOpening, openJob } from './opening.js';
import { DeferredEvaluator } from './deferred-evaluator.js';
import { checkpointLayout } from '../../lib/core/fedbuff/state.js';
import { CoordinatorRunner, type StopReason } from './runner.js';

/**
 * How long after opening a restored job the model is loaded if no evaluation asked for it first:
 * past the first versions after a failover, soon enough to check the task's layout early.
 */
const MODEL_LOAD_AFTER_MS = 1_500;

async function main(): Promise<void> {
  // Seconds since the process began, at each step of start-up (logged once started: where a
  // replacement coordinator's time goes).
  const startup: Record<string, number> = { modulesLoaded: process.uptime() };
  // The task comes first: its run defaults sit under the environment in the config.
  const spec = process.env.TRIBUTARY_TASK || defaultTaskSpec();
  if (!spec) {
    console.error('invalid configuration:\n  - TRIBUTARY_TASK: required (a task file or directory)');
    process.exit(2);
  }
  const loaded = await loadTask(spec).catch((error: unknown) => {
    console.error((error as Error).message);
    process.exit(2);
  });
  startup.taskLoaded = process.uptime();
  // A task with holdout data is evaluated federatedly every 5 versions unless it or the user says otherwise.
  const federatedDefault: Record<string, string> = loaded.task.data.holdout
    ? { TRIBUTARY_FEDERATED_EVALUATE_EVERY: '5' }
    : {};
  const config = loadConfigOrExit(() =>
    loadCoordinatorConfig(withCredentials(process.env), {
      ...federatedDefault,
      ...runDefaultsAsEnv(loaded.task.defaults),
    }),
  );
  const log = createLogger({
    component: 'coordinator',
    jobId: config.aggregation.jobId,
    runId: config.runId,
  });
  stopWithParent(config.parentPid, log);
  const kafka = createKafka({
    brokers: config.brokers,
    clientId: `tributary-coordinator-${config.aggregation.jobId}`,
    logger: log,
    security: config.security.kafka,
  });
  const serde = AvroSerde.forUrl(config.registryUrl, config.security.registry);
  const evaluates = Boolean(loaded.task.data.evaluation); // as taskEvaluator decides it
  if (!evaluates && config.federatedEvaluation.every === 0 && config.targetAccuracy !== null) {
    console.error(
      'invalid configuration:\n  - TRIBUTARY_TARGET_ACCURACY: the task has no evaluation data (data.evaluation) and federated evaluation is off, so no accuracy to reach',
    );
    process.exit(2);
  }
  // Before connecting: a refused login or TLS handshake is then read beside what was tried.
  log.info('security', {
    ...describeSecurity(config.security),
    signaturesRequired: config.signatures.required,
    siloKeys: [...config.signatures.keys.keys()],
  });
  // The job is opened on Kafka (topics, schemas, fencing, the checkpoint read) before TensorFlow
  // loads: a restored job steps from its checkpoint and loads the model once it has resumed
  // (./deferred-evaluator.ts); only a new job needs the model for its first version.
  const opened = await openJob(kafka, serde, jobOpening(config, log));
  startup.jobOpened = process.uptime();
  const evaluationThread = config.evaluationThread
    ? new EvaluationThread(
        { taskFile: loaded.file, taskConfig: loaded.config, tfThreads: config.tfThreads },
        log,
      )
    : null;
  const loadModel = async (): Promise<Evaluator> => {
    const { tf, backend, skipped } = await loadTf({ needsConvGradients: false, threads: config.tfThreads });
    startup.tensorflowLoaded = process.uptime();
    const model = new TaskModel(tf, loaded.task, loaded.config);
    log.info('task-loaded', {
      taskId: loaded.task.id,
      file: loaded.file,
      backend,
      skipped,
      tfThreads: config.tfThreads,
      // After the job resumed, on a restore (./deferred-evaluator.ts); before it, on a new job.
      loadedAtSeconds: startup.tensorflowLoaded,
    });
    const inline = taskEvaluator(model, backend, config.modelSeed, config.evaluationSliceMs);
    return evaluationThread ? threadedEvaluator(inline, evaluationThread) : inline;
  };
  const evaluator: Evaluator = opened.checkpoint
    ? new DeferredEvaluator(
        {
          layout: checkpointLayout(opened.checkpoint.bytes),
          evaluates,
          classNames: loaded.task.classNames ?? [],
        },
        {
          load: loadModel,
          loadAfterMs: MODEL_LOAD_AFTER_MS,
          onFatal: (error) => {
            log.error('model-load-failed', { error });
            process.exit(1);
          },
        },
      )
    : await loadModel();
  // Crash-only, supervised in-process: a step that fails to commit (a broker lost mid-transaction,
  // the transaction coordinator moved) leaves this runner ahead of Kafka, so it is dropped and a new
  // one restores the last committed checkpoint and fences the old transaction, as a restarted
  // process would, but without waiting out a consumer session or reloading the task.
  const restarts = new RestartBudget();
  const newRunner = (): CoordinatorRunner =>
    new CoordinatorRunner(config, kafka, serde, evaluator, log, Date.now, (error) => void restart(error));
  let coordinator = newRunner();
  let restarting = false;
  const restart = async (error: unknown): Promise<void> => {
    if (restarting || finishing) return;
    restarting = true;
    const delayMs = restarts.next(Date.now());
    if (delayMs === null) {
      log.error('coordinator-giving-up', { error, restarts: restarts.count });
      process.exit(1);
    }
    log.warn('coordinator-restarting', { error, attempt: restarts.count, delayMs });
    await coordinator.abandon();
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    coordinator = newRunner();
    try {
      await coordinator.start();
    } catch (startError) {
      restarting = false;
      return restart(startError);
    }
    restarting = false;
    log.info('coordinator-restarted', { version: coordinator.version, attempt: restarts.count });
    void coordinator.finished.then((reason) => finish(reason));
  };

  const live = () => ({
    version: coordinator.version,
    bufferCount: coordinator.bufferCount,
    leases: coordinator.leaseBook.leases.size,
    workers: [...coordinator.leaseBook.workers.values()],
  });
  const http = await serveStatus(config.httpPort, {
    status: () => coordinator.metrics.status(Date.now(), live()),
    metrics: () =>
      coordinator.metrics.prometheus(Date.now(), { ...live(), workers: coordinator.leaseBook.workers.size }),
  });
  log.info('http-listening', { port: http.port, status: `http://127.0.0.1:${http.port}/status` });

  let finishing: Promise<void> | undefined;
  const finish = (reason: StopReason) =>
    (finishing ??= (async () => {
      await coordinator.stop(reason);
      const workers = [...coordinator.leaseBook.workers.values()].map((w) => ({
        workerId: w.workerId,
        silo: w.silo,
        numExamples: w.numExamples,
        backend: w.backend,
      }));
      const report = buildReport(
        config,
        coordinator.metrics,
        Date.now(),
        evaluator.backend,
        workers,
        coordinator.version,
      );
      const dir = config.runDir ?? join(process.cwd(), 'runs', config.runId);
      const files = writeReport(dir, report);
      log.info('report-written', {
        ...files,
        reason,
        finalAccuracy: report.finalAccuracy,
        versions: report.versions,
      });
      http.server.close();
      await evaluationThread?.close();
      process.exit(0);
    })());
  process.on('SIGINT', () => void finish('stopped'));
  process.on('SIGTERM', () => void finish('stopped'));
  await coordinator.start(opened);
  startup.started = process.uptime();
  log.info('startup-timing', { seconds: startup, openingSteps: opened.seconds });
  void coordinator.finished.then((reason) => finish(reason));
}

main().catch((thrown: unknown) => {
  // Refused credentials, a failed TLS handshake or a missing ACL: said as such, with a code.
  const error = explainKafkaError(thrown);
  console.error(
    JSON.stringify({
      level: 'error',
      component: 'coordinator',
      event: 'fatal',
      message: (error as Error).message,
      code: (error as { code?: string }).code,
    }),
  );
  process.exit(1);
});
