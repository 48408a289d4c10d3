/**
 * `tributary status [--job J]`: a job's state from its topics alone (no HTTP to the coordinator),
 * from any machine that reaches the cluster: version, last evaluation, update rate, workers seen,
 * staleness and rejections by code. Without --job, the jobs the cluster holds.
 */
import { createKafka } from '../lib/kafka/client.js';
import { readTopicNow, topicNamesSettled } from '../lib/kafka/read.js';
import { topicName } from '../lib/kafka/topics.js';
import { AvroSerde } from '../lib/wire/serde.js';
import type { CommandSpec, Parsed } from './args.js';
import { CLUSTER_FLAGS, clusterConnection } from './common.js';

export const statusCommand: CommandSpec = {
  name: 'status',
  summary: "a job's state, read from its Kafka topics",
  usage: 'tributary status [--job J] [--brokers B --registry URL] [--json]',
  positionals: [],
  flags: {
    job: { type: 'string', help: 'the job (default: list the jobs on the cluster)' },
    ...CLUSTER_FLAGS,
    json: { type: 'boolean', help: 'print one JSON object instead of text' },
  },
  details: 'KAFKA_BROKERS and SCHEMA_REGISTRY_URL apply when the flags are absent.',
};

export interface JobStatus {
  job: string;
  version: number | null;
  lastEvaluation: { version: number; numbers: Record<string, number>; atMs: number } | null;
  /** The last closed federated-evaluation round: overall and per silo (null when there is none). */
  lastFederatedEvaluation: {
    version: number;
    numbers: Record<string, number>;
    atMs: number;
    silos: Record<string, Record<string, number>>;
  } | null;
  updatesFolded: number;
  updatesPerMinute: number;
  meanStaleness: number | null;
  rejectionsByCode: Record<string, number>;
  workers: {
    workerId: string;
    silo: string;
    backend: string;
    state: string;
    lastSeenMs: number;
    problem: string | null;
  }[];
  finished: { reason: string; atMs: number } | null;
}

export async function status(parsed: Parsed): Promise<number> {
  const connection = clusterConnection(parsed);
  const problems = 'problems' in connection ? [...connection.problems] : [];
  if (!('problems' in connection) && !connection.registryUrl && parsed.flags.job)
    problems.push('--registry: required with --job (or SCHEMA_REGISTRY_URL)');
  if (problems.length > 0 || 'problems' in connection) {
    for (const p of problems) console.error(p);
    return 2;
  }
  const brokers = connection.brokers.join(',');
  const registry = connection.registryUrl;
  const kafka = createKafka({
    brokers: connection.brokers,
    clientId: 'tributary-status',
    security: connection.security.kafka,
  });
  if (!parsed.flags.job) {
    const admin = kafka.admin();
    await admin.connect();
    const topics = await topicNamesSettled(admin);
    await admin.disconnect();
    const jobs = topics
      .map((t) => /^tributary\.(.+)\.models$/.exec(t)?.[1])
      .filter((j): j is string => j !== undefined)
      .sort();
    if (parsed.flags.json) console.log(JSON.stringify({ jobs }));
    else
      console.log(
        jobs.length === 0
          ? 'no Tributary jobs on this cluster'
          : `jobs:\n${jobs.map((j) => `  ${j}`).join('\n')}`,
      );
    return 0;
  }
  const job = String(parsed.flags.job);
  const admin = kafka.admin();
  await admin.connect();
  const exists = (await topicNamesSettled(admin)).includes(topicName(job, 'events'));
  await admin.disconnect();
  if (!exists) {
    console.error(`job ${job}: no topic ${topicName(job, 'events')} on ${brokers}`);
    return 1;
  }
  const serde = AvroSerde.forUrl(registry, connection.security.registry);
  const s = await jobStatus(job, kafka, serde);
  if (parsed.flags.json) console.log(JSON.stringify(s));
  else console.log(formatStatus(s, Date.now()));
  return 0;
}

export async function jobStatus(
  job: string,
  kafka: ReturnType<typeof createKafka>,
  serde: AvroSerde,
): Promise<JobStatus> {
  const [events, checkins, models] = await Promise.all([
    readTopicNow(kafka, topicName(job, 'events')),
    readTopicNow(kafka, topicName(job, 'checkins')),
    readTopicNow(kafka, topicName(job, 'models'), { lastPerPartition: 1 }),
  ]);
  const s: JobStatus = {
    job,
    version: null,
    lastEvaluation: null,
    lastFederatedEvaluation: null,
    updatesFolded: 0,
    updatesPerMinute: 0,
    meanStaleness: null,
    rejectionsByCode: {},
    workers: [],
    finished: null,
  };
  let stalenessSum = 0;
  const foldTimes: number[] = [];
  let lastEventMs = 0;
  for (const { message } of events) {
    const e = await serde.decode('CoordinatorEvent', message.value).catch(() => null);
    if (!e || e.jobId !== job) continue;
    lastEventMs = Math.max(lastEventMs, e.timeMs);
    if (e.type === 'model-published') s.version = Math.max(s.version ?? 0, e.version);
    else if (e.type === 'evaluation')
      s.lastEvaluation = { version: e.version, numbers: e.numbers, atMs: e.timeMs };
    else if (e.type === 'federated-evaluation')
      s.lastFederatedEvaluation = { version: e.version, numbers: e.numbers, atMs: e.timeMs, silos: {} };
    else if (e.type === 'federated-evaluation-silo' && e.version === s.lastFederatedEvaluation?.version)
      s.lastFederatedEvaluation.silos[e.labels.silo ?? '?'] = e.numbers;
    else if (e.type === 'update-folded') {
      s.updatesFolded += 1;
      stalenessSum += e.numbers.staleness ?? 0;
      foldTimes.push(e.timeMs);
    } else if (e.type === 'update-rejected') {
      const code = e.labels.code ?? 'unknown';
      s.rejectionsByCode[code] = (s.rejectionsByCode[code] ?? 0) + 1;
    } else if (e.type === 'job-finished')
      s.finished = { reason: e.labels.reason ?? 'unknown', atMs: e.timeMs };
  }
  if (s.updatesFolded > 0) s.meanStaleness = stalenessSum / s.updatesFolded;
  // The rate over the last minute of the job's own clock (its last event), so a finished job shows its pace.
  s.updatesPerMinute = foldTimes.filter((t) => t > lastEventMs - 60_000).length;
  for (const { message } of models) {
    const m = await serde.decode('GlobalModel', message.value).catch(() => null);
    if (m && m.jobId === job) s.version = Math.max(s.version ?? 0, m.version);
  }
  const workers = new Map<string, JobStatus['workers'][number]>();
  for (const { message } of checkins) {
    const c = await serde.decode('WorkerCheckIn', message.value).catch(() => null);
    if (!c || c.jobId !== job) continue;
    workers.set(c.workerId, {
      workerId: c.workerId,
      silo: c.silo,
      backend: c.capabilities.backend,
      state: c.state,
      lastSeenMs: c.sentAtMs,
      problem: c.problem ? `${c.problem.code} (version ${c.problem.version})` : null,
    });
  }
  s.workers = [...workers.values()].sort((a, b) => a.workerId.localeCompare(b.workerId));
  return s;
}

export function formatStatus(s: JobStatus, nowMs: number): string {
  const ago = (ms: number) => `${Math.max(0, Math.round((nowMs - ms) / 1000))} s ago`;
  const evaluation = s.lastEvaluation
    ? `version ${s.lastEvaluation.version}: ${Object.entries(s.lastEvaluation.numbers)
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join(', ')} (${ago(s.lastEvaluation.atMs)})`
    : 'none';
  const rejections = Object.entries(s.rejectionsByCode);
  const federated = s.lastFederatedEvaluation;
  const figures = (n: Record<string, number>) =>
    ['accuracy', 'loss', 'examples']
      .filter((k) => n[k] !== undefined)
      .map((k) => `${k} ${k === 'examples' ? String(n[k]) : (n[k] ?? 0).toFixed(4)}`)
      .join(', ');
  return [
    `job ${s.job}${s.finished ? ` (finished: ${s.finished.reason}, ${ago(s.finished.atMs)})` : ''}`,
    `  version          ${s.version ?? 'none published'}`,
    `  last evaluation  ${evaluation}`,
    ...(federated
      ? [
          `  federated eval   version ${federated.version}: ${figures(federated.numbers)} (${ago(federated.atMs)})`,
          ...Object.entries(federated.silos).map(([silo, n]) => `    silo ${silo.padEnd(16)} ${figures(n)}`),
        ]
      : []),
    `  updates          ${s.updatesFolded} folded, ${s.updatesPerMinute} in the last minute of activity`,
    `  mean staleness   ${s.meanStaleness === null ? '-' : s.meanStaleness.toFixed(2)}`,
    `  rejections       ${rejections.length === 0 ? 'none' : rejections.map(([c, n]) => `${c} ×${n}`).join(', ')}`,
    `  workers seen     ${s.workers.length}`,
    ...s.workers.map(
      (w) =>
        `    ${w.workerId.padEnd(12)} silo ${w.silo.padEnd(12)} ${w.backend.padEnd(10)} ${w.state.padEnd(8)} ${ago(w.lastSeenMs)}${w.problem ? `  problem ${w.problem}` : ''}`,
    ),
  ].join('\n');
}
