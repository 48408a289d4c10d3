/**
 * One publishing worker of the update-path benchmark, a process of its own as a worker is (and as
 * the librdkafka addon needs: it loads once per process, not per thread): encodes its updates and
 * publishes each as a Tributary worker does (one record idempotently through the worker's sender
 * client, several in one transaction: lib/kafka/publish.ts), one after another.
 */
import { modelLayout, splitFlat } from '../../lib/core/fedbuff/layout.js';
import { TRANSACTION_TIMEOUT_MS } from '../../lib/core/limits.js';
import type { TensorEncoding } from '../../lib/core/tensors.js';
import { createKafka } from '../../lib/kafka/client.js';
import { publishAtomically } from '../../lib/kafka/publish.js';
import { createRecordSender, type KafkaClientName } from '../../lib/kafka/sender.js';
import { toRecords } from '../../lib/wire/records.js';
import type { ModelUpdate } from '../../lib/wire/schemas.js';
import { AvroSerde } from '../../lib/wire/serde.js';

export interface PublisherJob {
  readonly brokers: string[];
  readonly registryUrl: string;
  readonly topic: string;
  readonly schemaId: number;
  readonly encoding: TensorEncoding;
  readonly shapes: { name: string; shape: number[] }[];
  readonly updates: number;
  readonly name: string;
  readonly chunkBytes: number;
  /** The worker's sender client for single-record updates (lib/kafka/sender.ts). */
  readonly client: KafkaClientName;
}

const job = JSON.parse(process.env.BENCH_PUBLISHER_JOB ?? 'null') as PublisherJob | null;
const send = process.send?.bind(process);
if (!job || !send) throw new Error('publisher.ts runs as a child process (bench/transport/update-path.ts)');

const layout = modelLayout('bench', job.shapes);
const kafka = createKafka({ brokers: job.brokers, clientId: `bench-${job.name}` });
const serde = AvroSerde.forUrl(job.registryUrl);
const { sender: plain } = createRecordSender({
  choice: job.client,
  kafka,
  brokers: job.brokers,
  clientId: `bench-${job.name}`,
});
const transactional = kafka.producer({
  transactionalId: `bench-${job.name}-${Date.now()}`,
  transactionTimeout: TRANSACTION_TIMEOUT_MS,
  idempotent: true,
  maxInFlightRequests: 1,
});
await Promise.all([plain.connect(), transactional.connect()]);
const delta = Float32Array.from({ length: layout.size }, (_, i) => Math.sin(i * 0.001) * 1e-2);
const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
send({ type: 'ready' });
await go;
let wireBytes = 0;
let records = 0;
for (let u = 0; u < job.updates; u++) {
  const updateId = `${job.name}-u${u}`;
  const encoded = toRecords<ModelUpdate>(
    {
      updateId,
      taskId: 't',
      jobId: 'bench',
      workerId: job.name,
      baseVersion: 0,
      numExamples: 100,
      metrics: {},
      timings: { startedAtMs: 0, finishedAtMs: 0 },
    },
    splitFlat(layout, delta),
    job.encoding,
    job.chunkBytes,
  );
  const messages = encoded.map((r) => ({
    key: updateId,
    value: serde.encode('ModelUpdate', job.schemaId, r),
  }));
  for (const m of messages) wireBytes += m.value.length;
  records += messages.length;
  await publishAtomically(
    { plain, transactional: () => Promise.resolve(transactional) },
    job.topic,
    messages,
  );
}
await Promise.all([plain.disconnect(), transactional.disconnect()]);
send({ type: 'done', wireBytes, records }, () => process.exit(0));
