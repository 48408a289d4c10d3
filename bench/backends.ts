/**
 * Training speed of the MNIST MLP and the small CNN on each TF.js backend, in one run (one process:
 * native TensorFlow via tfjs-node when installed, WebAssembly, and pure-JS cpu), with the same
 * custom training loop the workers use; the MLP three ways: through the layers engine and the
 * gradient tape, as a Dense chain (lib/task/dense-chain.ts) on the tape, and as a Dense chain with
 * hand-derived gradients (lib/task/dense-sgd.ts, the default). WebAssembly has no convolution
 * gradients, so it trains only the MLP; pure-JS is given fewer CNN steps because it manages only a
 * few samples per second.
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
    /** How training ran the model: forward path + gradient path (layers + tape, dense-chain + tape, …). */
    path: string;
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
        path: '—',
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
      const pathOf = (model: TaskModel) => `${model.forwardPath} + ${model.gradientPath}`;
      // Every path the model has (lib/task/dense-chain.ts, dense-sgd.ts), taken in turn three times
      // each so drift on a shared machine falls on all; the median pass counts.
      const models = [
        { denseChain: false },
        { denseChain: true, derivedGradients: false },
        { denseChain: true, derivedGradients: true },
      ]
        .map((options) => new TaskModel(tf, task, config, options))
        // A model without a Dense chain takes the same path three times: once is enough.
        .filter((model, i, all) => all.findIndex((m) => pathOf(m) === pathOf(model)) === i);
      if (backend === 'wasm' && models[0]?.needsConvGradients) {
        rows.push({
          backend,
          model: id,
          path: 'layers + tape',
          samples: 0,
          seconds: 0,
          samplesPerSecond: null,
          note: 'no convolution gradient kernels',
        });
        continue;
      }
      const steps = backend === 'cpu' && models[0]?.needsConvGradients ? 4 : 60;
      const passes = new Map<TaskModel, { samples: number; seconds: number }[]>();
      for (const model of models) await model.train(model.initialWeights(1), batches(2), data); // warm-up
      for (let turn = 0; turn < 3; turn++)
        for (const model of models) {
          const result = await model.train(model.initialWeights(1), batches(steps), data);
          if (!result) throw new Error('training stopped');
          passes.set(model, [...(passes.get(model) ?? []), result]);
        }
      for (const model of models) {
        const sorted = (passes.get(model) ?? []).sort((a, b) => a.seconds - b.seconds);
        const median = sorted[1] ?? { samples: 0, seconds: 0 };
        model.model.dispose();
        rows.push({
          backend,
          model: id,
          path: pathOf(model),
          samples: median.samples,
          seconds: median.seconds,
          samplesPerSecond: median.samples / median.seconds,
          note: '',
        });
        console.log(
          JSON.stringify({
            bench: 'backends',
            backend,
            model: id,
            path: pathOf(model),
            samplesPerSecond: Math.round(median.samples / median.seconds),
          }),
        );
      }
    }
  }
  const speed = (b: string, m: string, path = 'layers + tape') =>
    rows.find((r) => r.backend === b && r.model === m && r.path === path)?.samplesPerSecond ?? null;
  const ratio = (a: number | null, b: number | null) => (a && b ? `${(a / b).toFixed(1)}×` : 'n/a');
  const md = [
    '# Training speed by TF.js backend',
    '',
    `Machine: ${JSON.stringify(machine())}. Batch 32, SGD, the workers' training loop; MLP 101,770 parameters, CNN 2×conv5×5 + dense.`,
    '',
    table(
      ['backend', 'model', 'forward + gradient path', 'samples', 'seconds', 'samples/s', 'note'],
      rows.map((r) => [
        r.backend,
        r.model,
        r.path,
        r.samples,
        r.seconds.toFixed(2),
        r.samplesPerSecond === null ? '—' : Math.round(r.samplesPerSecond),
        r.note,
      ]),
    ),
    '',
    ...[
      ['dense-chain + tape', 'The Dense chain on the tape'],
      ['dense-chain + derived', 'The Dense chain with derived gradients'],
    ].map(
      ([path, name]) =>
        `${name} against the layers engine and the tape (MLP, same run): native ${ratio(speed('tensorflow', 'mlp', path), speed('tensorflow', 'mlp'))}, WebAssembly ${ratio(speed('wasm', 'mlp', path), speed('wasm', 'mlp'))}, pure-JS ${ratio(speed('cpu', 'mlp', path), speed('cpu', 'mlp'))}.`,
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
