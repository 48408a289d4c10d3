/**
 * Leases handed from a coordinator to the one that replaces it. A worker says nothing when a task
 * arrives (docs/protocol.md, rule 3), so a restarted coordinator cannot learn from check-ins which
 * workers are in the middle of a task: it would lease them a second one, and under synchronous
 * FedAvg lease a whole second round whose updates all arrive stale.
 *
 * Two sources cover every lease that can still be live:
 *   - each checkpoint carries the leases live at its step (`atMs`);
 *   - the `tasks` topic holds those issued after it: read from `atMs` up to its end at restart.
 * A lease answered before the checkpoint is in neither. One answered after it has its update read
 * again by the new coordinator (committed offsets never pass it), which updates fold meanwhile:
 * read before the takeover, the lease is not taken over; after it, the update ends it.
 *
 * Encoding and validation are pure; reading `tasks` (readTasksSince) and taking the leases over
 * (takeOverLeases) are the adapters.
 */
import type { Kafka } from 'kafkajs';
import { settleWithin } from '../../lib/core/deadline.js';
import { TributaryError } from '../../lib/core/errors.js';
import { readTopicNow } from '../../lib/kafka/read.js';
import { topicName } from '../../lib/kafka/topics.js';
import type { Logger } from '../../lib/log.js';
import type { TrainTask } from '../../lib/wire/schemas.js';
import { DEFAULT_ENVELOPE_LIMITS } from '../../lib/wire/update-checks.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import type { Lease, LeaseBook } from './leases.js';

/** A checkpoint's leases: [taskId, workerId, baseVersion, issuedAtMs, deadlineMs] each (compact: a fleet's). */
export interface LeaseHandoverJson {
  readonly atMs: number;
  readonly live: [string, string, number, number, number][];
  /** Leases left out to keep the manifest small (the oldest). */
  readonly omitted: number;
}

export interface LeaseHandover {
  readonly atMs: number;
  readonly leases: Lease[];
  readonly omitted: number;
}

/** How long a replacement reads `tasks` for before it takes the checkpoint's leases alone. */
const HANDOVER_READ_MS = 5000;

/** JSON bytes of one entry beyond its two ids: brackets, quotes, commas and three numbers. */
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * The leases to hand over, newest first until `maxBytes` of JSON: the manifest is one record, and a
 * fleet's leases must not push it past what the broker takes (a step that cannot be written would
 * stop the job). The oldest left out (`omitted`) are the ones a replacement may lease twice.
 */
export function encodeLeaseHandover(
  leases: readonly Lease[],
  atMs: number,
  maxBytes: number,
): LeaseHandoverJson {
  const live: LeaseHandoverJson['live'] = [];
  let bytes = 0;
  const newestFirst = [...leases].sort((a, b) => b.issuedAtMs - a.issuedAtMs);
  for (const l of newestFirst) {
    bytes += Buffer.byteLength(l.taskId) + Buffer.byteLength(l.workerId) + ENTRY_OVERHEAD_BYTES;
    if (bytes > maxBytes) break;
    live.push([l.taskId, l.workerId, l.baseVersion, l.issuedAtMs, l.deadlineMs]);
  }
  return { atMs, live, omitted: leases.length - live.length };
}

/** The handover's share of a manifest: a quarter of a chunk, at most 1 MiB. */
export const handoverMaxBytes = (maxChunkBytes: number) =>
  Math.min(1024 * 1024, Math.floor(maxChunkBytes / 4));

/**
 * A lease as the next coordinator may take it over, or null: ids present and no longer than an
 * update may carry them, numbers whole, issued no later than its deadline, and a deadline no
 * further than `maxDeadlineMs` (a lease cannot pin a worker for longer than this coordinator would
 * lease it).
 */
export function validLease(
  candidate: {
    taskId: unknown;
    workerId: unknown;
    baseVersion: unknown;
    issuedAtMs: unknown;
    deadlineMs: unknown;
  },
  maxDeadlineMs: number,
): Lease | null {
  const { taskId, workerId, baseVersion, issuedAtMs, deadlineMs } = candidate;
  const { maxIdBytes } = DEFAULT_ENVELOPE_LIMITS; // as lib/wire/update-checks.ts bounds an update's
  const id = (v: unknown): v is string =>
    typeof v === 'string' && v.length > 0 && Buffer.byteLength(v) <= maxIdBytes;
  const whole = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!id(taskId) || !id(workerId) || !whole(baseVersion) || !whole(issuedAtMs) || !whole(deadlineMs))
    return null;
  if (issuedAtMs > deadlineMs) return null;
  return { taskId, workerId, baseVersion, issuedAtMs, deadlineMs: Math.min(deadlineMs, maxDeadlineMs) };
}

/** A checkpoint's leases; null when it has none (written before leases were handed over) or they are unreadable. */
export function decodeLeaseHandover(value: unknown, maxDeadlineMs: number): LeaseHandover | null {
  if (typeof value !== 'object' || value === null) return null;
  const { atMs, live, omitted } = value as Partial<LeaseHandoverJson>;
  if (!Number.isSafeInteger(atMs) || !Array.isArray(live)) return null;
  const leases: Lease[] = [];
  for (const entry of live as unknown[]) {
    if (!Array.isArray(entry)) continue;
    const [taskId, workerId, baseVersion, issuedAtMs, deadlineMs] = entry as unknown[];
    const lease = validLease({ taskId, workerId, baseVersion, issuedAtMs, deadlineMs }, maxDeadlineMs);
    if (lease) leases.push(lease);
  }
  return { atMs: atMs as number, leases, omitted: Number.isSafeInteger(omitted) ? (omitted as number) : 0 };
}

/** The job's tasks issued at or after `sinceMs`, as leases (another job's, and invalid ones, left out). */
export function tasksAsLeases(
  tasks: readonly TrainTask[],
  jobId: string,
  sinceMs: number,
  maxDeadlineMs: number,
): Lease[] {
  return tasks
    .filter((t) => t.jobId === jobId && t.issuedAtMs >= sinceMs)
    .map((t) => validLease(t, maxDeadlineMs))
    .filter((l): l is Lease => l !== null);
}

/**
 * The tasks on the job's `tasks` topic written since `sinceMs`, up to the end the read began at.
 * By record time, from a second early: a task is sent after its lease is stamped, so the record is
 * never earlier than its lease unless the clock was stepped back. A record that does not decode is
 * logged and left out.
 */
export async function readTasksSince(
  kafka: Kafka,
  serde: AvroSerde,
  jobId: string,
  sinceMs: number,
  log: Logger,
): Promise<TrainTask[]> {
  const records = await readTopicNow(kafka, topicName(jobId, 'tasks'), {
    sinceMs: sinceMs - 1000,
    quietMs: 500,
    timeoutMs: HANDOVER_READ_MS,
  });
  const tasks: TrainTask[] = [];
  for (const { partition, message } of records) {
    try {
      tasks.push(await serde.decode('TrainTask', message.value));
    } catch (error) {
      log.warn('handover-task-unreadable', { error, partition, offset: message.offset });
    }
  }
  return tasks;
}

export interface TakeOverDeps {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly jobId: string;
  readonly taskDeadlineMs: number;
  readonly leaseBook: LeaseBook;
  /** Runs `work` in the coordinator's lane (the lease book is touched only there). */
  readonly inLane: <T>(work: () => Promise<T>) => Promise<T>;
  readonly now: () => number;
  readonly log: Logger;
}

/**
 * Takes over the leases a restored checkpoint hands on (its `leases`), and those issued since it,
 * into a lease book told to expect them (LeaseBook.expectHandover). If `tasks` cannot be read, the
 * checkpoint's alone; the book leases again either way.
 */
export async function takeOverLeases(checkpointLeases: unknown, d: TakeOverDeps): Promise<void> {
  const startedAtMs = d.now();
  const maxDeadlineMs = startedAtMs + d.taskDeadlineMs;
  const handover = decodeLeaseHandover(checkpointLeases, maxDeadlineMs);
  let since: Lease[] = [];
  try {
    if (handover) {
      // Bounded as a whole (connecting, offsets, the read): a broker lost at restart must not hold
      // leasing and check-ins back for long.
      const tasks = await settleWithin(
        readTasksSince(d.kafka, d.serde, d.jobId, handover.atMs, d.log),
        HANDOVER_READ_MS,
        () =>
          new TributaryError(
            'TRIB_KAFKA_CALL_TIMEOUT',
            `tasks since the checkpoint unread in ${HANDOVER_READ_MS} ms`,
          ),
      );
      since = tasksAsLeases(tasks, d.jobId, handover.atMs, maxDeadlineMs);
    }
  } catch (error) {
    d.log.warn('handover-tasks-unread', { error });
  }
  const adopted = await d.inLane(async () =>
    d.leaseBook.adopt([...(handover?.leases ?? []), ...since], d.now()),
  );
  d.log.info('leases-adopted', {
    adopted,
    atCheckpoint: handover?.leases.length ?? null,
    omittedAtCheckpoint: handover?.omitted ?? null,
    issuedSince: since.length,
    seconds: (d.now() - startedAtMs) / 1000,
  });
}
