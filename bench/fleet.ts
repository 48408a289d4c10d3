/**
 * `npm run bench -- fleet`: the control plane against fleet size. One coordinator and 10, 100, 300
 * and 1,000 virtual workers (fleet simulator processes of at most 500 each, synthetic trainer,
 * 1 s per task, every worker kept busy: concurrency = fleet, K = fleet / 10), on the local stack.
 * Per size, over a 30 s window after a warm-up: folds/s and leases/s (the coordinator's /metrics),
 * task→fold latency p50/p99 (each folded update's `update-folded` event against its task's
 * issuedAtMs, from the topics), the coordinator's CPU and RSS (/proc), the broker's bytes in and out
 * (its BrokerTopicMetrics over JMX), and what task delivery costs a worker: task records in its
 * partition per task of its own, against every task (the design before: each worker read all).
 * Each size runs twice when librdkafka loads: the simulators sending through kafkajs, then librdkafka.
 * Writes bench/results/fleet.{json,md} and fleet-*.png.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, type Stack } from '../infra/stack/index.js';
import { writeLineChart } from '../lib/chart.js';
import { partitionOfKey } from '../lib/kafka/keyed-partitions.js';
import { loadLibrdkafka } from '../lib/kafka/librdkafka.js';
import type { KafkaClientName } from '../lib/kafka/sender.js';
import { TASK_PARTITIONS } from '../lib/kafka/topics.js';
import { startFederation, waitFor, type Federation } from '../lib/testing/index.js';
import { machine, requireResult, RESULTS_DIR, table, writeResult } from './common.js';

const SIZES = (process.env.TRIBUTARY_FLEET_SIZES ?? '10,100,300,1000').split(',').map(Number);
/** Each size with the simulators sending through each client (kafkajs only where librdkafka does not load). */
const CLIENTS: readonly KafkaClientName[] = loadLibrdkafka().native ? ['kafkajs', 'librdkafka'] : ['kafkajs'];
const PER_PROCESS = 500;
const TRAIN_MS = 1000;
const WARMUP_MS = 15_000;
const WINDOW_MS = 30_000;
const TASK = fileURLToPath(new URL('../examples/device-fleet/task.ts', import.meta.url));
const BROKER_BYTES = fileURLToPath(new URL('./fleet/BrokerBytes.java', import.meta.url));

export interface FleetRow {
  readonly workers: number;
  /** The simulators' sender client (lib/kafka/sender.ts); rows saved before it was recorded are kafkajs's. */
  readonly client?: KafkaClientName;
  readonly processes: number;
  readonly foldsPerSecond: number;
  readonly leasesPerSecond: number;
  readonly versionsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly coordinatorCpuPercent: number;
  readonly coordinatorRssMb: number;
  /** The rest of the machine over the window: the fleet simulator processes and the broker JVM. */
  readonly fleetCpuPercent: number;
  readonly brokerCpuPercent: number | null;
  readonly brokerInMBs: number | null;
  readonly brokerOutMBs: number | null;
  /** Task records a worker reads per task leased to it: its partition's, and every task (before). */
  readonly taskReadsPerOwnTask: number;
  readonly taskReadsPerOwnTaskBefore: number;
  /** Updates rejected during the whole run, by code. */
  readonly rejected: Record<string, number>;
}

const log = (fields: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'fleet', ...fields }));

/** Counter values from Prometheus text (summed over labels; rejections also by code, `rejected:<code>`). */
function counters(text: string): Map<string, number> {
  const values = new Map<string, number>();
  const add = (name: string, value: number) => values.set(name, (values.get(name) ?? 0) + value);
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
    if (!match) continue;
    add(match[1]!, Number(match[3]));
    const code = /code="([A-Z_]+)"/.exec(match[2] ?? '')?.[1];
    if (match[1] === 'tributary_rejections_total' && code) add(`rejected:${code}`, Number(match[3]));
  }
  return values;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100 Hz)
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** The broker JVM of a local stack (its command line names the stack's work directory). */
function brokerPid(stack: Stack): number | null {
  if (!stack.workDir) return null;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (
        argv[0]?.endsWith('java') &&
        argv.includes('kafka.Kafka') &&
        argv.some((a) => a.includes(stack.workDir!))
      )
        return Number(entry);
    } catch {
      // a process that ended meanwhile
    }
  }
  return null;
}

function brokerBytes(pid: number | null): { bytesIn: number; bytesOut: number } | null {
  if (pid === null) return null;
  const probe = spawnSync('java', [BROKER_BYTES, String(pid)], { encoding: 'utf8', timeout: 60_000 });
  try {
    return JSON.parse(probe.stdout) as { bytesIn: number; bytesOut: number };
  } catch {
    log({ warning: 'broker bytes unreadable', stderr: probe.stderr.slice(0, 300) });
    return null;
  }
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

async function metricsOf(federation: Federation): Promise<Map<string, number>> {
  const port = federation.coordinator.events('http-listening').at(-1)?.port;
  const response = await fetch(`http://127.0.0.1:${String(port)}/metrics`);
  return counters(await response.text());
}

async function measure(stack: Stack, workers: number, client: KafkaClientName): Promise<FleetRow> {
  const processes = Math.ceil(workers / PER_PROCESS);
  const share = (i: number) => Math.floor(workers / processes) + (i < workers % processes ? 1 : 0);
  const federation = await startFederation({
    stack,
    task: TASK,
    workers: processes,
    coordinator: {
      TRIBUTARY_CONCURRENCY: String(workers),
      TRIBUTARY_BUFFER_K: String(Math.max(4, Math.round(workers / 10))),
      TRIBUTARY_EVALUATE_EVERY: '1000000',
      TRIBUTARY_TARGET_ACCURACY: '0',
      TRIBUTARY_MAX_WALL_SECONDS: '900',
      TRIBUTARY_TASK_DEADLINE_MS: '60000',
      TRIBUTARY_TICK_MS: '200',
    },
    worker: (i) => ({
      TRIBUTARY_WORKER_ID: `fleet${i}`,
      TRIBUTARY_SILO: `site-${i}`,
      TRIBUTARY_VIRTUAL_WORKERS: String(share(i)),
      TRIBUTARY_SYNTHETIC_TRAIN_MS: String(TRAIN_MS),
      TRIBUTARY_CHECKIN_INTERVAL_MS: '5000',
      TRIBUTARY_LOG_LEVEL: 'warn',
      TRIBUTARY_KAFKA_CLIENT: client,
    }),
  });
  try {
    const pid = federation.coordinator.child.pid!;
    await waitFor(
      async () => {
        for (const p of [federation.coordinator, ...federation.workers])
          if (!p.running) throw new Error(`${p.name} exited:\n${p.output.slice(-2000)}`);
        const known =
          (await metricsOf(federation).catch(() => undefined))?.get('tributary_workers_known') ?? 0;
        return known >= workers || undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, what: `${workers} workers checked in` },
    );
    log({ workers, phase: 'all checked in; warming up' });
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    const broker = brokerPid(stack);
    const fleetPids = federation.workers.map((w) => w.child.pid!);
    const sample = async () => ({
      metrics: await metricsOf(federation),
      cpu: cpuSeconds(pid),
      fleetCpu: fleetPids.reduce((sum, p) => sum + cpuSeconds(p), 0),
      brokerCpu: broker === null ? null : cpuSeconds(broker),
      bytes: brokerBytes(broker),
      at: Date.now(),
    });
    const before = await sample();
    const windowStart = Date.now();
    let peakRss = 0;
    while (Date.now() - windowStart < WINDOW_MS) {
      peakRss = Math.max(peakRss, rssMb(pid));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const after = await sample();
    const seconds = (after.at - before.at) / 1000;
    const rate = (name: string) =>
      ((after.metrics.get(name) ?? 0) - (before.metrics.get(name) ?? 0)) / seconds;

    // The window is measured: the fleet stops before its topics are read, or its load starved the
    // registry the read's decoding asks (a schema fetch timed out once, at 1,000 workers).
    await federation.stop();
    const [tasks, events] = await Promise.all([
      federation.readTopic('tasks'),
      federation.readTopic('events'),
    ]);
    const issuedAt = new Map(tasks.map((t) => [t.taskId, t.issuedAtMs]));
    const latencies = events
      .filter((e) => e.type === 'update-folded' && e.timeMs >= windowStart && e.timeMs <= after.at)
      .map((e) => {
        const worker = e.workerId ?? '';
        const taskId = (e.updateId ?? '').slice(worker.length + 1);
        const issued = issuedAt.get(taskId);
        return issued === undefined ? Number.NaN : e.timeMs - issued;
      })
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    // What a worker reads: the tasks on its key's partition, per task of its own.
    const perPartition = new Array<number>(TASK_PARTITIONS).fill(0);
    const ownTasks = new Map<string, number>();
    for (const t of tasks) {
      perPartition[partitionOfKey(t.workerId, TASK_PARTITIONS)]! += 1;
      ownTasks.set(t.workerId, (ownTasks.get(t.workerId) ?? 0) + 1);
    }
    let partitionReads = 0;
    let own = 0;
    for (const [worker, count] of ownTasks) {
      partitionReads += perPartition[partitionOfKey(worker, TASK_PARTITIONS)]!;
      own += count;
    }
    const row: FleetRow = {
      workers,
      client,
      processes,
      foldsPerSecond: rate('tributary_updates_accepted_total'),
      leasesPerSecond: rate('tributary_leases_issued_total'),
      versionsPerSecond:
        ((after.metrics.get('tributary_global_model_version') ?? 0) -
          (before.metrics.get('tributary_global_model_version') ?? 0)) /
        seconds,
      latencyP50Ms: percentile(latencies, 0.5),
      latencyP99Ms: percentile(latencies, 0.99),
      coordinatorCpuPercent: ((after.cpu - before.cpu) / seconds) * 100,
      coordinatorRssMb: peakRss,
      fleetCpuPercent: ((after.fleetCpu - before.fleetCpu) / seconds) * 100,
      brokerCpuPercent:
        after.brokerCpu === null || before.brokerCpu === null
          ? null
          : ((after.brokerCpu - before.brokerCpu) / seconds) * 100,
      brokerInMBs:
        before.bytes && after.bytes ? (after.bytes.bytesIn - before.bytes.bytesIn) / seconds / 1e6 : null,
      brokerOutMBs:
        before.bytes && after.bytes ? (after.bytes.bytesOut - before.bytes.bytesOut) / seconds / 1e6 : null,
      taskReadsPerOwnTask: partitionReads / Math.max(1, own),
      taskReadsPerOwnTaskBefore: (tasks.length * ownTasks.size) / Math.max(1, own),
      rejected: Object.fromEntries(
        [...after.metrics].filter(([k]) => k.startsWith('rejected:')).map(([k, v]) => [k.slice(9), v]),
      ),
    };
    log({ ...row });
    return row;
  } finally {
    await federation.stop();
  }
}

const fixed = (x: number | null, digits = 1) =>
  x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);

export async function runFleet(): Promise<void> {
  const stack = await startStack({ mode: 'local', onProgress: (message) => log({ stack: message }) });
  const rows: FleetRow[] = [];
  try {
    for (const workers of SIZES)
      for (const client of CLIENTS) {
        log({ workers, client, phase: 'starting' });
        rows.push(await measure(stack, workers, client));
      }
  } finally {
    await stack.stop();
  }
  writeFleet({ machine: machine(), trainMs: TRAIN_MS, windowMs: WINDOW_MS, rows });
}

interface FleetResult {
  readonly machine: ReturnType<typeof machine>;
  readonly trainMs: number;
  readonly windowMs: number;
  readonly rows: FleetRow[];
}

/** `npm run bench -- fleet --render`: the summary and charts again from bench/results/fleet.json. */
export function renderFleet(): Promise<void> {
  writeFleet(requireResult<FleetResult>('fleet'));
  return Promise.resolve();
}

function writeFleet(result: FleetResult): void {
  const { rows } = result;
  const clientOf = (r: FleetRow): KafkaClientName => r.client ?? 'kafkajs';
  const clients = [...new Set(rows.map(clientOf))];
  const chart = (
    name: string,
    title: string,
    yLabel: string,
    series: [string, (r: FleetRow) => number | null, boolean?][],
  ) =>
    writeLineChart(join(RESULTS_DIR, `fleet-${name}`), {
      title,
      xLabel: 'virtual workers (log10)',
      yLabel,
      // Every figure grows with the fleet: the top left is where no line runs.
      legend: 'top-left',
      series: series.flatMap(([label, value, dashed]) =>
        (dashed ? [clients[0] as KafkaClientName] : clients).map((client) => ({
          label: dashed || clients.length === 1 ? label : `${label}, ${client}`,
          dashed: dashed || (clients.length > 1 && client === 'kafkajs'),
          points: rows
            .filter((r) => clientOf(r) === client)
            .flatMap((r) => {
              const y = value(r);
              return y === null || !Number.isFinite(y) ? [] : [{ x: Math.log10(r.workers), y }];
            }),
        })),
      ),
    });
  chart('throughput', 'Coordinator throughput against fleet size', 'per second', [
    ['folds/s', (r) => r.foldsPerSecond],
    ['leases/s', (r) => r.leasesPerSecond],
    ['every worker busy (workers ÷ training time)', (r) => (r.workers * 1000) / result.trainMs, true],
  ]);
  chart('latency', 'Task → fold latency (1 s of synthetic training included)', 'ms', [
    ['p50', (r) => r.latencyP50Ms],
    ['p99', (r) => r.latencyP99Ms],
  ]);
  chart('coordinator', 'Coordinator CPU and memory', '% of a core / MB', [
    ['CPU %', (r) => r.coordinatorCpuPercent],
    ['RSS MB (peak)', (r) => r.coordinatorRssMb],
  ]);
  chart('cpu', 'Where the 2 cores go (% of one core)', '% of a core', [
    ['coordinator', (r) => r.coordinatorCpuPercent],
    ['fleet simulators', (r) => r.fleetCpuPercent],
    ['broker', (r) => r.brokerCpuPercent],
  ]);
  chart('broker', 'Broker bytes (producers in, consumers out)', 'MB/s', [
    ['in', (r) => r.brokerInMBs],
    ['out', (r) => r.brokerOutMBs],
  ]);
  const markdown = [
    '# Fleet scale: the control plane against fleet size',
    '',
    `Synthetic trainer (${result.trainMs} ms per task), concurrency = fleet, K = fleet / 10, ${WINDOW_MS / 1000} s window after a ${WARMUP_MS / 1000} s warm-up; ${PER_PROCESS} virtual workers per simulator process; tasks on ${TASK_PARTITIONS} partitions.`,
    '',
    table(
      [
        'workers',
        'simulators send through',
        'folds/s',
        'leases/s',
        'versions/s',
        'task→fold p50 ms',
        'p99 ms',
        'coordinator CPU %',
        'RSS MB',
        'fleet CPU %',
        'broker CPU %',
        'broker in MB/s',
        'out MB/s',
        'task reads per own task (before)',
        'rejected',
      ],
      rows.map((r) => [
        r.workers,
        clientOf(r),
        fixed(r.foldsPerSecond),
        fixed(r.leasesPerSecond),
        fixed(r.versionsPerSecond, 2),
        fixed(r.latencyP50Ms, 0),
        fixed(r.latencyP99Ms, 0),
        fixed(r.coordinatorCpuPercent, 0),
        fixed(r.coordinatorRssMb, 0),
        fixed(r.fleetCpuPercent, 0),
        fixed(r.brokerCpuPercent, 0),
        fixed(r.brokerInMBs, 2),
        fixed(r.brokerOutMBs, 2),
        `${fixed(r.taskReadsPerOwnTask)} (${fixed(r.taskReadsPerOwnTaskBefore, 0)})`,
        Object.values(r.rejected).reduce((a, b) => a + b, 0),
      ]),
    ),
    '',
    'Charts: fleet-throughput.png, fleet-latency.png, fleet-coordinator.png, fleet-cpu.png, fleet-broker.png.',
  ].join('\n');
  const { md } = writeResult(
    'fleet',
    { machine: machine(), trainMs: TRAIN_MS, windowMs: WINDOW_MS, rows },
    markdown,
  );
  console.log(markdown);
  log({ written: md });
}
