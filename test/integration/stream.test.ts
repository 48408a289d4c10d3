/**
 * A worker whose task streams its data from the silo's own topic (Avro, the silo's own schema):
 * it trains on exactly the records its window holds (the update's window figures match the record
 * ids produced), skips undecodable and unmappable records with a count, and after a restart
 * resumes from its committed position instead of re-reading the topic.
 */
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { Kafka } from 'kafkajs';
import { afterEach, describe, expect, inject, it, onTestFinished } from 'vitest';
import { createKafka } from '../../lib/kafka/client.js';
import { userProjectDir } from '../support/tasks.js';
import { startFederation, type Federation } from '../../lib/testing/index.js';
import { frame } from '../../lib/wire/confluent.js';
import type { ModelUpdate } from '../../lib/wire/schemas.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { uniqueName, waitFor } from './helpers.js';

const READING = {
  type: 'record',
  name: 'Reading',
  namespace: 'plant.telemetry',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'x1', type: 'double' },
    { name: 'x2', type: 'double' },
    { name: 'label', type: 'int' },
    { name: 'timeMs', type: 'long' },
  ],
} as const;

/** A silo's own data topic (one partition, so its order is the window's order); a client for it. */
async function siloTopic(brokers: string[], topic: string): Promise<Kafka> {
  const kafka = createKafka({ brokers, clientId: 'it-stream' });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  return kafka;
}

let federation: Federation | undefined;
afterEach(async () => {
  const dir = process.env.TRIBUTARY_IT_LOG_DIR;
  if (dir && federation)
    for (const p of [federation.coordinator, ...federation.workers])
      writeFileSync(join(dir, `stream-${p.name}-${p.child.pid}.log`), p.output);
  await federation?.stop();
});

describe('streamed task data', () => {
  it('trains on its window, skips bad records with a count, and resumes after a restart', async () => {
    const brokers = inject('brokers');
    const registryUrl = inject('registryUrl');
    const topic = `${uniqueName('plant')}.telemetry`;
    const kafka = await siloTopic(brokers, topic);
    const serde = AvroSerde.forUrl(registryUrl);
    const schemaId = await serde.registerSchema(`${topic}-value`, JSON.stringify(READING));
    const type = avro.Type.forSchema(READING as unknown as avro.Schema);
    const reading = (i: number, label = i % 2) =>
      frame(
        schemaId,
        type.toBuffer({ id: `r${i}`, x1: label ? 1 : -1, x2: (i % 7) / 7, label, timeMs: 1000 + i }),
      );
    const producer = kafka.producer();
    await producer.connect();
    const send = (values: Buffer[]) => producer.send({ topic, messages: values.map((value) => ({ value })) });
    // 50 readings with a window of 30, and among them 3 undecodable and 2 unlabelled records.
    await send([
      ...Array.from({ length: 25 }, (_, i) => reading(i)),
      Buffer.from('not avro at all'),
      frame(999_999, Buffer.from([1, 2, 3])), // a schema id the registry does not know
      frame(schemaId, Buffer.from([0x99])), // truncated
      reading(900, -1),
      reading(901, -1),
      ...Array.from({ length: 25 }, (_, i) => reading(25 + i)),
    ]);

    const dir = userProjectDir('tributary-stream');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(fileURLToPath(new URL('./tasks/stream-task.ts.txt', import.meta.url)), join(dir, 'task.ts'));
    federation = await startFederation({
      stack: { brokers, registryUrl },
      task: dir,
      workers: 1,
      taskConfig: { topic },
    });
    const updates = async () => (await federation?.readTopic('updates')) ?? [];
    const full = (u: ModelUpdate) => u.metrics.windowRecords === 30;
    const first = await waitFor(async () => (await updates()).find(full), {
      timeoutMs: 120_000,
      what: 'an update on a full window',
    });
    expect(first.numExamples).toBe(16); // 2 local steps of 8 (the task's defaults), drawn from the 30
    expect(first.metrics.windowFromMs).toBe(1020); // r20 … r49: the last 30 readings
    expect(first.metrics.windowToMs).toBe(1049);
    expect(first.metrics.recordsSkipped).toBe(5);
    const worker = federation.workers[0];
    expect(worker?.events('stream-record-skipped').map((e) => e.stage)).toEqual([
      'decode',
      'decode',
      'decode',
      'map',
      'map',
    ]);

    // Let the group commit its position, then kill the worker outright; 10 new readings arrive.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await federation.killWorker(0);
    const killedAt = Date.now();
    await send(Array.from({ length: 10 }, (_, i) => reading(100 + i)));
    await federation.restartWorker(0);
    const resumed = await waitFor(
      async () => (await updates()).find((u) => u.timings.startedAtMs > killedAt),
      { timeoutMs: 120_000, what: 'an update from the restarted worker' },
    );
    // Only what came after the committed position: the 10 new readings, not the topic again.
    expect(resumed.metrics.windowRecords).toBe(10);
    expect(resumed.metrics.windowFromMs).toBe(1100);
    expect(resumed.metrics.windowToMs).toBe(1109);
    expect(resumed.metrics.recordsSkipped).toBe(0);
    await producer.disconnect();
  });

  it('reads JSON records from a start time when the group has no position yet', async () => {
    const brokers = inject('brokers');
    const registryUrl = inject('registryUrl');
    const topic = `${uniqueName('plant')}.json`;
    const kafka = await siloTopic(brokers, topic);
    // Recent timestamps: records older than the broker's retention (1 day on the stack) are
    // deleted at its next retention check, which made this test fail when it ran late enough.
    const base = Math.floor(Date.now() / 1000) * 1000 - 120_000;
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: 21 }, (_, i) => ({
        // record 15 is not JSON; the Kafka timestamps are one second apart
        value: i === 15 ? '{"a": 1,' : JSON.stringify({ a: i % 2 ? 1 : -1, b: i / 20, y: i % 2 }),
        timestamp: String(base + i * 1000),
      })),
    });
    await producer.disconnect();

    const dir = userProjectDir('tributary-stream-json');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'task.ts'),
      `import { defineTask } from 'tributary';
export default defineTask({
  id: 'stream-json',
  config: { topic: 'unset' },
  model: ({ tf }) => tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2, activation: 'softmax', name: 'out' })] }),
  data: {
    stream: {
      topics: ({ config }) => [config.topic],
      format: 'json',
      map: (r: any) => ({ features: [r.a, r.b], target: r.y }),
      featureShape: [2],
      classes: 2,
      window: { records: 30 },
      start: { fromMs: ${base + 10_000} },
    },
  },
  defaults: { concurrency: 1, bufferSize: 1, maxVersions: 1000, localSteps: 1, batchSize: 4 },
});
`,
    );
    federation = await startFederation({
      stack: { brokers, registryUrl },
      task: dir,
      workers: 1,
      taskConfig: { topic },
    });
    const update = await waitFor(
      async () =>
        ((await federation?.readTopic('updates')) ?? []).find((u) => u.metrics.windowRecords === 10),
      { timeoutMs: 120_000, what: 'an update on the records from the start time on' },
    );
    // Records 10 … 20 from the start time, less the one that is not JSON; nothing before it.
    expect(update.metrics.windowFromMs).toBe(base + 10_000);
    expect(update.metrics.windowToMs).toBe(base + 20_000);
    expect(update.metrics.recordsSkipped).toBe(1);
  });
});
