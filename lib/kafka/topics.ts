/**
 * Tributary's topics, `tributary.<job>.<kind>`, each created by the coordinator with explicit
 * configs (docs/topics.md explains keys, schemas and retention).
 */
import type { Admin, ITopicConfig } from 'kafkajs';
import { MAX_RECORD_BYTES } from '../core/limits.js';
import { topicNamesSettled } from './read.js';
import type { MessageName } from '../wire/schemas.js';

export const TOPIC_KINDS = [
  'tasks',
  'updates',
  'models',
  'served',
  'checkins',
  'events',
  'rejected',
  'checkpoints',
  'evaluation-tasks',
  'evaluations',
] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

export const topicName = (jobId: string, kind: TopicKind) => `tributary.${jobId}.${kind}`;

/**
 * What a worker does with each of the job's topics; the rest are the coordinator's alone. The
 * worker waits for these, and `tributary provision` grants a silo exactly these (lib/security/acls.ts).
 */
export const WORKER_TOPIC_ACCESS = {
  read: ['tasks', 'models', 'evaluation-tasks'],
  write: ['updates', 'checkins', 'evaluations'],
} as const satisfies Record<'read' | 'write', readonly TopicKind[]>;
export const WORKER_TOPIC_KINDS: readonly TopicKind[] = [
  ...WORKER_TOPIC_ACCESS.read,
  ...WORKER_TOPIC_ACCESS.write,
];

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Partitions of the topics addressed to workers (tasks, evaluation requests). A worker reads
 * 1/TASK_PARTITIONS of the fleet's tasks: at 1,000 workers, about 31 workers' worth instead of 1,000.
 */
export const TASK_PARTITIONS = 32;

interface TopicSpec {
  readonly partitions: number;
  /** Avro message on the topic; null for the coordinator-internal checkpoint bytes. */
  readonly schema: MessageName | null;
  readonly configs: Readonly<Record<string, string>>;
}

export const TOPIC_SPECS: Readonly<Record<TopicKind, TopicSpec>> = {
  // Keyed by the worker a task is leased to; a worker reads only its key's partition
  // (lib/kafka/keyed-partitions.ts), so more partitions means less of the fleet's tasks per worker.
  tasks: { partitions: TASK_PARTITIONS, schema: 'TrainTask', configs: { 'retention.ms': String(DAY_MS) } },
  updates: { partitions: 4, schema: 'ModelUpdate', configs: { 'retention.ms': String(7 * DAY_MS) } },
  models: {
    partitions: 1,
    schema: 'GlobalModel',
    configs: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': String(60 * 60 * 1000) },
  },
  // The served average of the versions (lib/core/fedbuff/served.ts), keyed as models; empty unless
  // the job keeps one (TRIBUTARY_SERVED_AVERAGE).
  served: {
    partitions: 1,
    schema: 'GlobalModel',
    configs: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': String(60 * 60 * 1000) },
  },
  checkins: { partitions: 1, schema: 'WorkerCheckIn', configs: { 'retention.ms': String(DAY_MS) } },
  events: { partitions: 1, schema: 'CoordinatorEvent', configs: { 'retention.ms': String(7 * DAY_MS) } },
  rejected: { partitions: 1, schema: 'RejectedUpdate', configs: { 'retention.ms': String(30 * DAY_MS) } },
  checkpoints: { partitions: 1, schema: null, configs: { 'cleanup.policy': 'compact' } },
  'evaluation-tasks': {
    partitions: TASK_PARTITIONS,
    schema: 'EvaluationTask',
    configs: { 'retention.ms': String(DAY_MS) },
  },
  evaluations: { partitions: 1, schema: 'EvaluationReport', configs: { 'retention.ms': String(7 * DAY_MS) } },
};

export function topicConfigs(jobId: string): ITopicConfig[] {
  return TOPIC_KINDS.map((kind) => ({
    topic: topicName(jobId, kind),
    numPartitions: TOPIC_SPECS[kind].partitions,
    replicationFactor: -1, // the broker's default.replication.factor
    configEntries: Object.entries({
      ...TOPIC_SPECS[kind].configs,
      'max.message.bytes': String(MAX_RECORD_BYTES),
    }).map(([name, value]) => ({ name, value })),
  }));
}

/** Creates whatever of the job's topics is missing; existing topics are left as they are. */
export async function ensureTopics(admin: Admin, jobId: string): Promise<void> {
  const existing = new Set(await topicNamesSettled(admin));
  const missing = topicConfigs(jobId).filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  await createServed(admin, missing);
}

/**
 * Creates `topics` and waits until every partition has a leader. Not kafkajs's waitForLeaders: it
 * gives up on the first "does not host this topic-partition" from a broker whose metadata has not
 * caught up yet (seen with 32-partition topics, on one broker and on three); untilServed retries.
 */
export async function createServed(admin: Admin, topics: ITopicConfig[], timeoutMs = 30_000): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: false });
  await untilServed(
    admin,
    topics.map((t) => t.topic),
    timeoutMs,
  );
}

/**
 * Waits until the broker answers metadata for every partition of `topics` with a leader: right
 * after creation, on a busy cluster, a request can still meet "This server does not host this
 * topic-partition" for a moment (seen with five jobs starting at once).
 */
async function untilServed(admin: Admin, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Three answers in a row, from whichever brokers kafkajs asks: one broker's metadata can lead another's.
  let served = 0;
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      const ok =
        found.length === topics.length && found.every((t) => t.partitions.every((p) => p.leader >= 0));
      served = ok ? served + 1 : 0;
      if (served >= 3) return;
    } catch (error) {
      served = 0;
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`topics ${topics.join(', ')} have no leaders after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Waits until the coordinator has created the job's topics (workers may start first). */
export async function waitForTopics(
  admin: Admin,
  jobId: string,
  timeoutMs: number,
  kinds: readonly TopicKind[] = TOPIC_KINDS,
  onWait?: () => void,
): Promise<void> {
  const wanted = kinds.map((kind) => topicName(jobId, kind));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const existing = new Set(await topicNamesSettled(admin, Math.max(1000, deadline - Date.now())));
    if (wanted.every((t) => existing.has(t))) return;
    if (Date.now() > deadline)
      throw new Error(
        `topics of job ${jobId} do not exist after ${timeoutMs} ms: is the coordinator running?`,
      );
    onWait?.();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
