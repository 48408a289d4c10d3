/**
 * Tributary's update path end to end: P publishing workers (processes, as workers are)
 * encode and publish updates while this thread reads them read_committed, decodes, reassembles,
 * validates and folds them into a FedBuff buffer — the stages overlapped, as they are in a job.
 * Timed from the first publish to the last fold.
 */
import { randomUUID } from 'node:crypto';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import { FedBuffAggregator } from '../../lib/core/fedbuff/aggregator.js';
import { DEFAULT_FEDBUFF } from '../../lib/core/fedbuff/config.js';
import { modelLayout } from '../../lib/core/fedbuff/layout.js';
import { DEFAULT_CHUNK_BYTES } from '../../lib/core/limits.js';
import type { TensorEncoding } from '../../lib/core/tensors.js';
import { LARGE_RECORD_CONSUMER } from '../../lib/kafka/client.js';
import type { KafkaClientName } from '../../lib/kafka/sender.js';
import { RecordAssembler, toFoldInput } from '../../lib/wire/records.js';
import type { ModelUpdate } from '../../lib/wire/schemas.js';
import type { AvroSerde } from '../../lib/wire/serde.js';
import type { PublisherJob } from './publisher.js';

const PUBLISHER = fileURLToPath(new URL('./publisher.ts', import.meta.url));

export interface PathResult {
  readonly seconds: number;
  readonly updatesPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly bytesPerUpdate: number;
  readonly recordsPerUpdate: number;
}

export async function updatePath(options: {
  kafka: Kafka;
  serde: AvroSerde;
  brokers: readonly string[];
  registryUrl: string;
  topic: string;
  encoding: TensorEncoding;
  shapes: { name: string; shape: number[] }[];
  updates: number;
  publishers: number;
  /** The publishing workers' sender client (lib/kafka/sender.ts). */
  client: KafkaClientName;
}): Promise<PathResult> {
  const { kafka, serde, topic, updates, publishers } = options;
  const schemaId = await serde.register('ModelUpdate', topic);
  const layout = modelLayout('bench', options.shapes);
  const aggregator = FedBuffAggregator.create(
    { ...DEFAULT_FEDBUFF, jobId: 'bench', bufferSize: 1_000_000, maxDeltaNorm: null, guard: null },
    layout,
    new Float32Array(layout.size),
  );
  const assembler = new RecordAssembler<ModelUpdate>();
  const total = updates * publishers;
  let folded = 0;
  let allFolded!: () => void;
  const foldedAll = new Promise<void>((resolve) => (allFolded = resolve));
  const consumer = kafka.consumer({
    groupId: `bench-${randomUUID()}`,
    readUncommitted: false,
    ...LARGE_RECORD_CONSUMER,
  });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      const record = await serde.decode('ModelUpdate', message.value);
      const whole = assembler.accept(message.key?.toString() ?? '', record);
      if (!whole) return;
      aggregator.fold(toFoldInput(whole, aggregator.stagingArea));
      if (++folded === total) allFolded();
    },
  });
  await joined;
  const threads = Array.from({ length: publishers }, (_, p) => {
    const job: PublisherJob = {
      brokers: [...options.brokers],
      registryUrl: options.registryUrl,
      topic,
      schemaId,
      encoding: options.encoding,
      shapes: options.shapes,
      updates,
      name: `p${p}-${randomUUID().slice(0, 8)}`,
      chunkBytes: DEFAULT_CHUNK_BYTES,
      client: options.client,
    };
    return fork(PUBLISHER, {
      execArgv: ['--import', import.meta.resolve('tsx')],
      env: { ...process.env, BENCH_PUBLISHER_JOB: JSON.stringify(job) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  });
  const messages = (type: string) =>
    Promise.all(
      threads.map(
        (t) =>
          new Promise<{ wireBytes: number; records: number }>((resolve, reject) => {
            const onMessage = (m: { type: string; wireBytes: number; records: number }) => {
              if (m.type !== type) return;
              t.off('message', onMessage);
              resolve(m);
            };
            t.on('message', onMessage);
            t.once('error', reject);
            t.once('exit', (code) => {
              if (code !== 0) reject(new Error(`a publisher exited with ${code}`));
            });
          }),
      ),
    );
  try {
    await messages('ready');
    const done = messages('done');
    const startedAt = process.hrtime.bigint();
    for (const t of threads) t.send('go');
    const [sent] = await Promise.all([done, foldedAll]);
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const wireBytes = sent.reduce((n, s) => n + s.wireBytes, 0);
    const records = sent.reduce((n, s) => n + s.records, 0);
    return {
      seconds,
      updatesPerSecond: total / seconds,
      megabytesPerSecond: wireBytes / seconds / 1e6,
      bytesPerUpdate: wireBytes / total,
      recordsPerUpdate: records / total,
    };
  } finally {
    for (const t of threads) if (t.exitCode === null) t.kill('SIGKILL');
    await consumer.disconnect();
  }
}
