/**
 * `tributary/testing`: the kit for integration tests of a task on a real Kafka and schema registry.
 *
 *   const stack = await startStack();              // containers when Docker answers, else local JVMs
 *   const federation = await startFederation({ stack, task: './task.ts', workers: 3 });
 *   await federation.waitForMetric('accuracy', (a) => a >= 0.9);
 *   await federation.stop(); await stack.stop();
 */
export { startStack, type Stack, type StackMode, type StackOptions } from '../../infra/stack/index.js';
export { Federation, startFederation, type FederationOptions, type ReadableTopic } from './federation.js';
export { ServiceProcess, waitFor } from './process.js';
export type { RunReport } from '../../services/coordinator/report.js';
export type { FederatedEvaluationPoint, SiloStaleness } from '../../services/coordinator/silo-metrics.js';
export type { EvaluationAggregate } from '../core/evaluation.js';
/** Charts of run results: PNG and self-contained HTML. */
export { writeLineChart, type LineChart, type Series } from '../chart.js';
