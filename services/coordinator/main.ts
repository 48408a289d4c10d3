/**
 * Coordinator process: owns the global model of one job. Runs until a stop condition (target
 * accuracy, maximum versions, maximum wall time) or SIGINT/SIGTERM, then writes its report.
 */
import { join } from 'node:path';
import { modelLayout } from '../../lib/core/fedbuff/layout.js';
import { createKafka } from '../../lib/kafka/client.js';
import { createLogger } from '../../lib/log.js';
import { architecture } from '../../lib/ml/architectures.js';
import { loadTf } from '../../lib/ml/backend.js';
import { mnistSplit } from '../../lib/ml/mnist.js';
import { ModelRunner } from '../../lib/ml/train.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { PROJECT_ROOT } from '../../infra/stack/artifacts.js';
import { loadConfigOrExit } from '../../lib/config.js';
import { loadCoordinatorConfig } from './config.js';
import { mnistEvaluator } from './evaluator.js';
import { serveStatus } from './http.js';
import { buildReport, writeReport } from './report.js';
import { CoordinatorRunner, type StopReason } from './runner.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit(loadCoordinatorConfig);
  const log = createLogger({
    component: 'coordinator',
    jobId: config.aggregation.jobId,
    runId: config.runId,
  });
  const arch = architecture(config.architectureId);
  const { tf, backend, skipped } = await loadTf({ needsConvGradients: false });
  log.info('backend-selected', { backend, skipped });
  const runner = new ModelRunner(tf, arch, modelLayout(arch.id, arch.tensors));
  const evaluator = mnistEvaluator(runner, mnistSplit(config.dataSeed).test, backend, config.modelSeed);
  const kafka = createKafka({
    brokers: config.brokers,
    clientId: `tributary-coordinator-${config.aggregation.jobId}`,
    logger: log,
  });
  const coordinator = new CoordinatorRunner(
    config,
    kafka,
    AvroSerde.forUrl(config.registryUrl),
    evaluator,
    log,
  );

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
        backend,
        workers,
        coordinator.version,
      );
      const dir = config.runDir ?? join(PROJECT_ROOT, 'runs', config.runId);
      const files = writeReport(dir, report);
      log.info('report-written', {
        ...files,
        reason,
        finalAccuracy: report.finalAccuracy,
        versions: report.versions,
      });
      http.server.close();
      process.exit(0);
    })());
  process.on('SIGINT', () => void finish('stopped'));
  process.on('SIGTERM', () => void finish('stopped'));
  await coordinator.start();
  void finish(await coordinator.finished);
}

main().catch((error: unknown) => {
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
