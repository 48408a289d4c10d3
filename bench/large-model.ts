/**
 * A model far above one record, end to end over the real stack (issue #11): the 11.6 M-parameter
 * `mnist-mlp-wide-v1` (46.5 MB in FLOAT32), two workers, FedBuff K = 2, with FLOAT32 and with
 * FLOAT16 updates. Global models, updates and checkpoints are all chunked. The coordinator is
 * SIGKILLed once mid-run and restarted. Measures seconds per version, recovery time (restart to
 * the checkpoint restored, and to the next version), and the RSS of coordinator and workers
 * against the model's size, sampled every 250 ms. Writes bench/results/large-model.{json,md,png}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeArgs } from '../lib/run/processes.js';
import { startStack } from '../infra/stack/index.js';
import { freePort } from '../infra/stack/ports.js';
import { writeLineChart } from '../lib/chart.js';
import { loadTaskModel } from '../lib/task/load.js';
import { machine, median, MNIST_TASK, RESULTS_DIR, table, writeResult } from './common.js';

const ARCH = 'mlp-wide';
const VERSIONS = Number(process.env.BENCH_LARGE_VERSIONS ?? 8);
const KILL_AT = 3;

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  output: string;
}

function launch(name: string, script: string, env: Record<string, string>): Proc {
  const child = spawn(process.execPath, nodeArgs(script), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: Proc = { name, child, output: '' };
  const keep = (b: Buffer) => {
    proc.output = (proc.output + b.toString()).slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return proc;
}

function rssMiB(proc: Proc): number {
  try {
    const line = readFileSync(`/proc/${proc.child.pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

async function statusOf(port: number): Promise<{ version: number } | undefined> {
  const r = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(2000) }).catch(
    () => undefined,
  );
  return r?.ok ? ((await r.json()) as { version: number }) : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface EncodingRun {
  readonly encoding: string;
  readonly versionTimes: { version: number; seconds: number }[];
  readonly secondsPerVersion: number;
  readonly recovery: {
    toRestoredSeconds: number;
    toNextVersionSeconds: number;
    checkpointBytes: number;
    checkpointChunks: number;
  };
  readonly rss: { seconds: number; coordinator: number; worker: number }[];
  readonly peakRssMiB: { coordinator: number; worker: number };
}

async function runEncoding(
  brokers: string[],
  registryUrl: string,
  encoding: 'FLOAT32' | 'FLOAT16',
): Promise<EncodingRun> {
  const jobId = `large-${encoding.toLowerCase()}-${Date.now().toString(36)}`;
  const common = {
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: registryUrl,
    TRIBUTARY_JOB_ID: jobId,
    TRIBUTARY_TASK: MNIST_TASK,
    TRIBUTARY_TASK_CONFIG: JSON.stringify({ model: ARCH }),
  };
  const port = await freePort();
  const coordinatorEnv = {
    ...common,
    TRIBUTARY_HTTP_PORT: String(port),
    TRIBUTARY_CONCURRENCY: '2',
    TRIBUTARY_BUFFER_K: '2',
    TRIBUTARY_LOCAL_STEPS: '5',
    TRIBUTARY_CLIENT_LR: '0.05',
    TRIBUTARY_MAX_VERSIONS: String(VERSIONS),
    TRIBUTARY_EVALUATE_EVERY: '2',
    TRIBUTARY_TASK_DEADLINE_MS: '300000',
    TRIBUTARY_RUN_DIR: join(RESULTS_DIR, 'large-model-runs', jobId),
  };
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  let coordinator = launch('coordinator', 'services/coordinator/main.ts', coordinatorEnv);
  const workers = [0, 1].map((i) =>
    launch(`worker-${i}`, 'services/worker/main.ts', {
      ...common,
      TRIBUTARY_WORKER_ID: `w${i}`,
      TRIBUTARY_SHARD_INDEX: String(i),
      TRIBUTARY_SHARD_COUNT: '2',
      TRIBUTARY_PARTITION: 'iid',
      TRIBUTARY_ENCODING: encoding,
      TRIBUTARY_CHECKIN_INTERVAL_MS: '1000',
    }),
  );
  const rss: EncodingRun['rss'] = [];
  const sampler = setInterval(
    () =>
      rss.push({
        seconds: seconds(),
        coordinator: rssMiB(coordinator),
        worker: Math.max(...workers.map(rssMiB)),
      }),
    250,
  );
  const versionTimes: EncodingRun['versionTimes'] = [];
  let recovery: EncodingRun['recovery'] | undefined;
  try {
    let last = -1;
    let killed = false;
    const deadline = Date.now() + 30 * 60_000;
    while (Date.now() < deadline) {
      await sleep(250);
      const s = await statusOf(port);
      if (s && s.version > last) {
        last = s.version;
        versionTimes.push({ version: s.version, seconds: seconds() });
        console.log(
          JSON.stringify({ bench: 'large-model', encoding, version: s.version, seconds: seconds() }),
        );
      }
      if (!killed && last >= KILL_AT) {
        killed = true;
        coordinator.child.kill('SIGKILL');
        await new Promise((r) => coordinator.child.once('exit', r));
        const restartedAt = Date.now();
        coordinator = launch('coordinator', 'services/coordinator/main.ts', coordinatorEnv);
        let restoredAt = 0;
        let info: Record<string, number> = {};
        while (Date.now() < deadline) {
          await sleep(100);
          const line = coordinator.output.split('\n').find((l) => l.includes('"event":"recovered"'));
          if (line && !restoredAt) {
            restoredAt = Date.now();
            info = JSON.parse(line) as Record<string, number>;
          }
          const v = (await statusOf(port))?.version ?? -1;
          if (restoredAt && v > last) {
            recovery = {
              toRestoredSeconds: (restoredAt - restartedAt) / 1000,
              toNextVersionSeconds: (Date.now() - restartedAt) / 1000,
              checkpointBytes: info.checkpointBytes ?? 0,
              checkpointChunks: info.checkpointChunks ?? 0,
            };
            console.log(JSON.stringify({ bench: 'large-model', encoding, recovery }));
            break;
          }
        }
      }
      if (coordinator.child.exitCode !== null) break;
    }
    if (coordinator.child.exitCode !== 0)
      throw new Error(
        `coordinator ended with ${coordinator.child.exitCode}:\n${coordinator.output.slice(-3000)}`,
      );
  } finally {
    clearInterval(sampler);
    for (const p of [coordinator, ...workers]) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await sleep(2000);
    for (const p of [coordinator, ...workers]) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
  const gaps = versionTimes.slice(1).map((v, i) => v.seconds - (versionTimes[i]?.seconds ?? 0));
  return {
    encoding,
    versionTimes,
    secondsPerVersion: median(gaps),
    recovery: recovery ?? {
      toRestoredSeconds: NaN,
      toNextVersionSeconds: NaN,
      checkpointBytes: 0,
      checkpointChunks: 0,
    },
    rss,
    peakRssMiB: {
      coordinator: Math.max(...rss.map((r) => r.coordinator)),
      worker: Math.max(...rss.map((r) => r.worker)),
    },
  };
}

export async function runLargeModel(): Promise<void> {
  const model = await loadTaskModel(MNIST_TASK, { overrides: { model: ARCH } });
  const params = model.layout.size;
  model.model.dispose();
  const modelMiB = (params * 4) / 2 ** 20;
  const stack = await startStack({
    onProgress: (m) => console.log(JSON.stringify({ bench: 'large-model', stack: m })),
  });
  const runs: EncodingRun[] = [];
  try {
    for (const encoding of ['FLOAT32', 'FLOAT16'] as const)
      runs.push(await runEncoding(stack.brokers, stack.registryUrl, encoding));
  } finally {
    await stack.stop();
  }
  const rows = runs.map((r) => [
    r.encoding,
    r.versionTimes.at(-1)?.version ?? 0,
    r.secondsPerVersion.toFixed(1),
    `${r.recovery.toRestoredSeconds.toFixed(1)} / ${r.recovery.toNextVersionSeconds.toFixed(1)}`,
    `${(r.recovery.checkpointBytes / 2 ** 20).toFixed(1)} MiB in ${r.recovery.checkpointChunks}`,
    `${r.peakRssMiB.coordinator.toFixed(0)} (${(r.peakRssMiB.coordinator / modelMiB).toFixed(1)}×)`,
    `${r.peakRssMiB.worker.toFixed(0)} (${(r.peakRssMiB.worker / modelMiB).toFixed(1)}×)`,
  ]);
  const markdown = [
    `# Large model end to end: ${ARCH}, ${params.toLocaleString('en')} parameters (${modelMiB.toFixed(1)} MiB in FLOAT32)`,
    '',
    `2 workers, FedBuff K = 2, ${VERSIONS} versions, coordinator SIGKILLed at version ${KILL_AT} and restarted; stack ${stack.mode}.`,
    '',
    table(
      [
        'updates',
        'versions',
        's per version (median)',
        'recovery s: restored / next version',
        'checkpoint',
        'coordinator peak RSS MiB (× model)',
        'worker peak RSS MiB (× model)',
      ],
      rows,
    ),
    '',
  ].join('\n');
  writeLineChart(join(RESULTS_DIR, 'large-model'), {
    title: `RSS against time, ${ARCH} (${modelMiB.toFixed(1)} MiB model)`,
    xLabel: 'seconds since start',
    yLabel: 'RSS (MiB)',
    series: runs.flatMap((r) => [
      {
        label: `coordinator, ${r.encoding} updates`,
        points: r.rss.map((p) => ({ x: p.seconds, y: p.coordinator })),
      },
      { label: `worker, ${r.encoding} updates`, points: r.rss.map((p) => ({ x: p.seconds, y: p.worker })) },
    ]),
    horizontalLines: [{ y: modelMiB, label: 'model size' }],
    notes: [
      `Coordinator SIGKILLed at version ${KILL_AT} in each run (the dip), restarted from its chunked checkpoint.`,
    ],
  });
  const files = writeResult(
    'large-model',
    {
      bench: 'large-model',
      machine: machine(),
      stackMode: stack.mode,
      parameters: { architecture: ARCH, params, versions: VERSIONS, killAt: KILL_AT },
      runs,
    },
    markdown,
  );
  console.log(markdown);
  console.log(JSON.stringify({ bench: 'large-model', wrote: files }));
}
