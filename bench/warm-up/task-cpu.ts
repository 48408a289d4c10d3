/**
 * One fresh process of bench warm-up: the worker's warm-up (services/worker/warm-up.ts) with
 * BENCH_WARM_UP_STEPS steps, then BENCH_WARM_UP_TASKS tasks of one local epoch each on an MNIST
 * shard, as a worker trains them; prints one JSON line of CPU times.
 */
import { loadTf } from '../../lib/ml/backend.js';
import { loadTask } from '../../lib/task/load.js';
import { TaskModel } from '../../lib/task/model.js';
import { mixSeed } from '../../lib/core/random.js';
import { warmUpTraining } from '../../services/worker/warm-up.js';

const STEPS = Number(process.env.BENCH_WARM_UP_STEPS ?? 300);
const TASKS = Number(process.env.BENCH_WARM_UP_TASKS ?? 40);
const SHARD = Number(process.env.BENCH_WARM_UP_SHARD ?? 3);

const { task, config } = await loadTask('examples/mnist', { env: {} });
const train = task.data.train;
if (!train) throw new Error('the MNIST task has no data.train');
const { tf, backend } = await loadTf({ needsConvGradients: false, prefer: 'tensorflow', threads: 1 });
const model = new TaskModel(tf, task, config);
const silo = {
  tf,
  config,
  silo: 'bench',
  workerId: 'bench',
  shard: { index: SHARD, count: 10 },
  partition: { kind: 'dirichlet', alpha: 0.5 } as const,
};
const h = { batchSize: 32, learningRate: 0.1, proximalMu: null };
const start = model.initialWeights(1);
const warmUp = await warmUpTraining(
  model,
  start,
  (epoch) => train({ ...silo, seed: mixSeed(1, -1, epoch), epoch, batchSize: h.batchSize }),
  { steps: STEPS, maxCpuMs: Number.POSITIVE_INFINITY },
  h,
);
const tasks: number[] = [];
let samples = 0;
for (let t = 0; t < TASKS; t++) {
  const result = await model.train(start, { ...h, epochs: 1, steps: null }, (epoch) =>
    train({ ...silo, seed: mixSeed(1, t, epoch), epoch, batchSize: h.batchSize }),
  );
  if (!result) throw new Error('training stopped');
  tasks.push(result.cpuSeconds * 1000);
  samples = result.samples;
}
console.log(
  JSON.stringify({
    steps: warmUp.steps,
    warmUpCpuMs: warmUp.cpuMs,
    warmUpMs: warmUp.ms,
    backend,
    samples,
    tasks,
  }),
);
