/**
 * One publishing worker of the update-path benchmark, in a thread of its own as a worker is a
 * process of its own: encodes its updates and publishes each as a Tributary worker does (one
 * record idempotently, several in one transaction: lib/kafka/publish.ts), one after another.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { modelLayout, splitFlat } from '../../lib/core/fedbuff/layout.js';
import { TRANSACTION_TIMEOUT_MS } from '../../lib/core/limits.js';
import type { TensorEncoding } from '../../lib/core/tensors.js';
import { createKafka } from '../../lib/kafka/client.js';
import { publishAtomically } from '../../lib/kafka/publish.js';
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
}

const job = workerData as PublisherJob;
const port = parentPort;
if (!port) throw new Error('publisher.ts runs as a worker thread');

const layout = modelLayout('bench', job.shapes);
const kafka = createKafka({ brokers: job.brokers, clientId: `bench-${job.name}` });
const serde = AvroSerde.forUrl(job.registryUrl);
const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const transactional = kafka.producer({
  transactionalId: `bench-${job.name}-${Date.now()}`,
  transactionTimeout: TRANSACTION_TIMEOUT_MS,
  idempotent: true,
  maxInFlightRequests: 1,
});
await Promise.all([plain.connect(), transactional.connect()]);
const delta = Float32Array.from({ length: layout.size }, (_, i) => Math.sin(i * 0.001) * 1e-2);
const go = new Promise<void>((resolve) => port.once('message', () => resolve()));
port.postMessage({ type: 'ready' });
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
  await publishAtomically({ plain, transactional }, job.topic, messages);
}
await Promise.all([plain.disconnect(), transactional.disconnect()]);
port.postMessage({ type: 'done', wireBytes, records });
