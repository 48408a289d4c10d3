/**
 * Training speed of the MNIST MLP and the small CNN on each TF.js backend, in one run (one process:
 * native TensorFlow via tfjs-node when installed, WebAssembly, and pure-JS cpu), with the same
 * custom training loop the workers use. WebAssembly has no convolution gradients, so it trains
 * only the MLP; pure-JS is given fewer CNN steps because it manages only a few samples per second.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Tf } from '../lib/ml/backend.js';
import { loadTask } from '../lib/task/load.js';
import { TaskModel } from '../lib/task/model.js';
import { machine, MNIST_TASK, table, writeResult } from './common.js';

const require = createRequire(import.meta.url);

async function backends(): Promise<{ tf: Tf; available: string[]; nativeError: string | null }> {
  let tf: Tf;
  let nativeError: string | null = null;
  try {
    const moduleName = '@tensorflow/tfjs-node';
    tf = (await import(moduleName)) as Tf;
  } catch (error) {
    nativeError = (error as Error).message.split('\n')[0] ?? 'unknown';
    tf = await import('@tensorflow/tfjs');
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(
    `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`,
  );
  const available = ['tensorflow', 'wasm', 'cpu'].filter(
    (b) => tf.findBackendFactory(b) !== null || tf.findBackend(b) !== null,
  );
  return { tf, available, nativeError };
}

export async function runBackends(): Promise<void> {
  const { tf, available, nativeError } = await backends();
  const { task } = await loadTask(MNIST_TASK, { env: {} });
  const rows: {
    backend: string;
    model: string;
    samples: number;
    seconds: number;
    samplesPerSecond: number | null;
    note: string;
  }[] = [];
  for (const backend of ['tensorflow', 'wasm', 'cpu']) {
    if (!available.includes(backend) || !(await tf.setBackend(backend))) {
      rows.push({
        backend,
        model: 'both',
        samples: 0,
        seconds: 0,
        samplesPerSecond: null,
        note: backend === 'tensorflow' ? `not installed: ${nativeError}` : 'failed to initialise',
      });
      continue;
    }
    await tf.ready();
    for (const id of ['mlp', 'cnn']) {
      const config = { ...task.config, model: id };
      const model = new TaskModel(tf, task, config);
      const silo = { tf, config, silo: 's', workerId: 'w', shard: { index: 0, count: 1 } };
      const batches = (steps: number) => ({
        epochs: 1,
        steps,
        batchSize: 32,
        learningRate: 0.05,
        proximalMu: null,
      });
      const data = (epoch: number) =>
        task.data.train?.({ ...silo, partition: { kind: 'iid' }, seed: 1, epoch, batchSize: 32 }) ?? [];
      if (backend === 'wasm' && model.needsConvGradients) {
        rows.push({
          backend,
          model: id,
          samples: 0,
          seconds: 0,
          samplesPerSecond: null,
          note: 'no convolution gradient kernels',
        });
        continue;
      }
      const steps = backend === 'cpu' && model.needsConvGradients ? 4 : 60;
      await model.train(model.initialWeights(1), batches(2), data); // warm-up: kernels, JIT
      const result = await model.train(model.initialWeights(1), batches(steps), data);
      model.model.dispose();
      if (!result) throw new Error('training stopped');
      rows.push({
        backend,
        model: id,
        samples: result.samples,
        seconds: result.seconds,
        samplesPerSecond: result.samples / result.seconds,
        note: '',
      });
      console.log(
        JSON.stringify({
          bench: 'backends',
          backend,
          model: id,
          samplesPerSecond: Math.round(result.samples / result.seconds),
        }),
      );
    }
  }
  const speed = (b: string, m: string) =>
    rows.find((r) => r.backend === b && r.model === m)?.samplesPerSecond ?? null;
  const ratio = (a: number | null, b: number | null) => (a && b ? `${(a / b).toFixed(1)}×` : 'n/a');
  const md = [
    '# Training speed by TF.js backend',
    '',
    `Machine: ${JSON.stringify(machine())}. Batch 32, SGD, the workers' training loop; MLP 101,770 parameters, CNN 2×conv5×5 + dense.`,
    '',
    table(
      ['backend', 'model', 'samples', 'seconds', 'samples/s', 'note'],
      rows.map((r) => [
        r.backend,
        r.model,
        r.samples,
        r.seconds.toFixed(2),
        r.samplesPerSecond === null ? '—' : Math.round(r.samplesPerSecond),
        r.note,
      ]),
    ),
    '',
    `Native vs pure-JS: MLP ${ratio(speed('tensorflow', 'mlp'), speed('cpu', 'mlp'))}, CNN ${ratio(speed('tensorflow', 'cnn'), speed('cpu', 'cnn'))}; native vs WebAssembly (MLP): ${ratio(speed('tensorflow', 'mlp'), speed('wasm', 'mlp'))}.`,
    '',
  ].join('\n');
  const files = writeResult(
    'backends',
    { bench: 'backends', machine: machine(), tfjs: tf.version, rows },
    md,
  );
  console.log(md);
  console.log(JSON.stringify({ bench: 'backends', written: files }));
}
