/**
 * Helpers for integration tests: unique names per test, topics cleaned up after a file's tests, and
 * waiting on conditions, never on sleeps.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { afterAll } from 'vitest';

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A list for the topics a test file creates: after its tests, each is deleted (through `kafka()`). */
export function topicsDeletedAfterAll(kafka: () => Kafka): string[] {
  const created: string[] = [];
  afterAll(async () => {
    const admin = kafka().admin();
    await admin.connect();
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
  });
  return created;
}

export { waitFor } from '../../lib/testing/process.js';
