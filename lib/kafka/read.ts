/**
 * Reading what a topic holds now (committed records only), for tools: every partition from a start
 * offset up to the end offsets taken when the read began. Transaction markers take offsets without
 * delivering records, so "caught up" is also declared after a quiet interval.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { LARGE_RECORD_CONSUMER } from './client.js';

export interface ReadOptions {
  /** Start this many offsets before each partition's end (default: from the beginning). */
  readonly lastPerPartition?: number;
  readonly quietMs?: number;
  readonly timeoutMs?: number;
}

/**
 * The topic's offsets, retried while the broker gives a retriable answer: right after a topic is
 * created its partitions can still answer "not the leader" for a moment, more so the more of them
 * there are (a fresh job's 32 task partitions on a busy broker).
 */
export async function fetchOffsetsSettled(
  admin: Admin,
  topic: string,
  timeoutMs = 30_000,
): Promise<{ partition: number; offset: string; high: string; low: string }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export async function readTopicNow(
  kafka: Kafka,
  topic: string,
  options: ReadOptions = {},
): Promise<{ partition: number; message: KafkaMessage }[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: { partition: number; offset: string; low: string }[];
  try {
    ends = await fetchOffsetsSettled(admin, topic);
  } finally {
    await admin.disconnect();
  }
  const pending = new Map(
    ends.filter((e) => BigInt(e.offset) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.offset)]),
  );
  if (pending.size === 0) return [];
  const consumer = kafka.consumer({
    // Unique per read: readers sharing a group would split each other's partitions.
    groupId: `tributary-reader-${randomUUID()}`,
    readUncommitted: false,
    ...LARGE_RECORD_CONSUMER,
  });
  const out: { partition: number; message: KafkaMessage }[] = [];
  let lastActivity = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: from, partition, message }) => {
        if (from !== topic) return;
        lastActivity = Date.now();
        const end = pending.get(partition);
        if (end === undefined) return;
        out.push({ partition, message });
        if (BigInt(message.offset) + 1n >= end) pending.delete(partition);
      },
    });
    if (options.lastPerPartition !== undefined)
      for (const e of ends) {
        const start = BigInt(e.offset) - BigInt(options.lastPerPartition);
        const low = BigInt(e.low);
        consumer.seek({ topic, partition: e.partition, offset: String(start > low ? start : low) });
      }
    const began = Date.now();
    const quiet = options.quietMs ?? 2000;
    while (pending.size > 0 && Date.now() - began < (options.timeoutMs ?? 30_000)) {
      if (out.length > 0 && Date.now() - lastActivity > quiet) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await consumer.disconnect();
  }
  return out;
}
