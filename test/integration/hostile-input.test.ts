/**
 * What anyone who can write to `tributary.<job>.updates` can do to a live coordinator, over the real
 * broker and registry: hostile first records and a restart on them, a rejection burst larger than a
 * record batch, a chunked update that never completes, a few hundred records from the fuzz corpus,
 * and a transaction that is never ended. Issue #10.
 */
import { readFileSync } from 'node:fs';
import type { Message } from 'kafkajs';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createKafka } from '../../lib/kafka/client.js';
import { ensureTopics, topicName } from '../../lib/kafka/topics.js';
import { frame } from '../../lib/wire/confluent.js';
import { messageType, type RejectedUpdate } from '../../lib/wire/schemas.js';
import { SchemaLookup } from '../../lib/wire/schema-lookup.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { freePort } from '../../infra/stack/ports.js';
import { encodeTraced, varint } from '../fuzz/avro-trace.js';
import { honestUpdate, hostileCorpus, type CorpusOptions } from '../fuzz/corpus.js';
import { uniqueName } from './helpers.js';
import {
  jobEnv,
  killAll,
  readTopic,
  startCoordinator,
  startWorkers,
  status,
  type JobEnv,
  type Service,
  versionAtLeast,
} from './services.js';
import { mnistLayout } from '../support/tasks.js';

afterEach(killAll);

const brokers = () => inject('brokers');
const registryUrl = () => inject('registryUrl');
const layout = await mnistLayout();

const TRAINING = { TRIBUTARY_CONCURRENCY: '2', TRIBUTARY_BUFFER_K: '2', TRIBUTARY_LOCAL_STEPS: '10' };

async function version(coordinator: Service): Promise<number> {
  return ((await status(coordinator))?.version as number | undefined) ?? -1;
}

function rssMiB(service: Service): number {
  const line = readFileSync(`/proc/${service.child.pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024;
}

async function rejections(job: JobEnv, done: (r: RejectedUpdate[]) => boolean): Promise<RejectedUpdate[]> {
  const serde = AvroSerde.forUrl(registryUrl());
  return readTopic(brokers(), topicName(job.jobId, 'rejected'), (v) => serde.decode('RejectedUpdate', v), {
    done,
    timeoutMs: 180_000,
  });
}

/** Registers schemas of other kinds (JSON Schema, Protobuf) and returns their ids. */
async function wrongKindSchemaIds(): Promise<number[]> {
  const ids: number[] = [];
  const bodies = [
    {
      schemaType: 'JSON',
      schema: JSON.stringify({
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: { a: { type: 'string' } },
      }),
    },
    { schemaType: 'PROTOBUF', schema: 'syntax = "proto3";\nmessage Evil { string a = 1; }' },
  ];
  for (const body of bodies) {
    const response = await fetch(`${registryUrl()}/subjects/${uniqueName('evil')}/versions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify(body),
    });
    ids.push(((await response.json()) as { id: number }).id);
  }
  return ids;
}

async function produce(job: JobEnv, messages: Message[], groupBytes = 8 * 1024 * 1024): Promise<number[]> {
  const producer = createKafka({ brokers: brokers(), clientId: 'mallory' }).producer();
  await producer.connect();
  const offsets: number[] = [];
  try {
    let group: Message[] = [];
    let size = 0;
    const flush = async () => {
      if (group.length === 0) return;
      const [meta] = await producer.send({ topic: topicName(job.jobId, 'updates'), messages: group });
      const base = Number(meta?.baseOffset);
      group.forEach((_, i) => offsets.push(base + i));
      group = [];
      size = 0;
    };
    for (const m of messages) {
      const n = (m.value as Buffer).length + ((m.key as Buffer | null)?.length ?? 0);
      if (size + n > groupBytes) await flush();
      group.push({ ...m, partition: 0 });
      size += n;
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return offsets;
}

describe("schema ids: the record's fault or the registry's", () => {
  it("classifies the registry's answers: Avro, unknown, another kind, and no answer at all", async () => {
    const serde = AvroSerde.forUrl(registryUrl());
    const avroId = await serde.register('ModelUpdate', uniqueName('lookup'));
    const [jsonId, protobufId] = await wrongKindSchemaIds();
    const lookup = new SchemaLookup(registryUrl());
    expect((await lookup.get(avroId)).toJSON()).toMatchObject({ name: 'dev.tributary.ModelUpdate' });
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      );
    expect(await codeOf(lookup.get(2_000_000_000))).toBe('TRIB_UNKNOWN_SCHEMA');
    expect(await codeOf(lookup.get(jsonId ?? -1))).toBe('TRIB_SCHEMA_MISMATCH');
    expect(await codeOf(lookup.get(protobufId ?? -1))).toBe('TRIB_SCHEMA_MISMATCH');
    expect(await lookup.answers(avroId)).toBe(true);
    // Nothing listens on this port: an outage, retriable, never the record's fault.
    const down = new SchemaLookup(`http://127.0.0.1:${await freePort()}`, {}, 2000);
    expect(await codeOf(down.get(avroId))).toBe('TRIB_REGISTRY_UNAVAILABLE');
    expect(await down.answers(avroId)).toBe(false);
  });
});

describe('hostile input against a live coordinator', () => {
  it('survives hostile first records, a rejection burst past the batch limit and a never-completing chunk, across a restart, recording each once', async () => {
    const job = jobEnv(brokers(), registryUrl());
    const admin = createKafka({ brokers: brokers(), clientId: 'it-admin' }).admin();
    await admin.connect();
    await ensureTopics(admin, job.jobId);
    await admin.disconnect();
    const serde = AvroSerde.forUrl(registryUrl());
    const schemaId = await serde.register('ModelUpdate', topicName(job.jobId, 'updates'));
    const [jsonSchemaId] = await wrongKindSchemaIds();
    const corpus: CorpusOptions = {
      seed: 7,
      layout,
      jobId: job.jobId,
      schemaId,
      baseVersion: 0,
      honestNorm: 1,
    };
    const type = messageType('ModelUpdate');

    // A 20-byte-ish record whose tensors array claims 2^31 - 1 items (once a crash loop).
    const honest = encodeTraced(type, honestUpdate(corpus, 'bomb', 1));
    const tensorsAt = honest.sites.find((s) => s.path === '$.tensors')?.start ?? 0;
    const bomb = frame(
      schemaId,
      Buffer.concat([honest.bytes.subarray(0, tensorsAt), varint(2 ** 31 - 1), Buffer.from([0])]),
    );
    const neverCompletes = honestUpdate(corpus, 'held-forever', 1, 'FLOAT32', {
      chunk: { index: 0, count: 4, offset: 0, totalBytes: layout.size * 4, sha256: Buffer.alloc(32, 1) },
    });
    const hostileFirst: Message[] = [
      { key: Buffer.from('bomb'), value: bomb },
      { key: Buffer.from('held-forever'), value: frame(schemaId, type.toBuffer(neverCompletes)) },
      { key: Buffer.from('json'), value: frame(jsonSchemaId ?? 1, Buffer.from('{"a":"b"}')) },
      { key: Buffer.alloc(1024 * 1024, 0x6b), value: frame(schemaId, Buffer.from([2])) },
      {
        key: Buffer.from('negative-examples'),
        value: frame(
          schemaId,
          encodeTraced(
            type,
            honestUpdate(corpus, 'negative-examples', 1, 'FLOAT32', { numExamples: -(2 ** 53 - 1) }),
          ).bytes,
        ),
      },
      {
        key: Buffer.from('wipe'),
        value: frame(schemaId, type.toBuffer(honestUpdate(corpus, 'wipe', 9_999))),
      },
    ];
    // 300 rejections of 64 KiB kept each: about 19 MiB, more than one record batch (16 MiB) may hold.
    const burst: Message[] = Array.from({ length: 300 }, (_, i) => ({
      key: Buffer.from(`burst-${i}`),
      value: Buffer.concat([Buffer.from([0, 0, 0, 0, schemaId & 0xff]), Buffer.alloc(100 * 1024, i % 251)]),
    }));
    const offsets = await produce(job, [...hostileFirst, ...burst]);

    startWorkers(job, 2);
    const coordinatorEnv = {
      ...TRAINING,
      TRIBUTARY_MAX_WALL_SECONDS: '600',
      TRIBUTARY_REASSEMBLY_MAX_AGE_MS: '15000',
    };
    let coordinator = startCoordinator(job, coordinatorEnv);
    const expected = hostileFirst.length + burst.length; // the held chunk is recorded when it expires
    const first = await rejections(job, (r) => r.length >= expected);
    expect(coordinator.child.exitCode).toBeNull();
    const codeAt = new Map(first.map((r) => [`${r.source.partition}:${r.source.offset}`, r.code]));
    expect(codeAt.get(`0:${offsets[0]}`)).toBe('TRIB_DECODE_FAILED');
    expect(codeAt.get(`0:${offsets[2]}`)).toBe('TRIB_SCHEMA_MISMATCH');
    expect(codeAt.get(`0:${offsets[3]}`)).toBe('TRIB_INVALID_KEY');
    expect(codeAt.get(`0:${offsets[4]}`)).toBe('TRIB_DECODE_FAILED');
    expect(codeAt.get(`0:${offsets[5]}`)).toBe('TRIB_NORM_EXCEEDED');
    expect(first.filter((r) => r.code === 'TRIB_CHUNK_EXPIRED').map((r) => r.source.offset)).toEqual([
      offsets[1],
    ]);
    expect(first.find((r) => r.source.offset === offsets[3])?.updateId).toMatch(/^sha256:/);
    const v = await versionAtLeast(coordinator, 3);

    // Restart on the same topic: it re-reads from the committed offsets, records nothing twice,
    // and goes on training.
    coordinator.child.kill('SIGKILL');
    await coordinator.exited;
    coordinator = startCoordinator(job, coordinatorEnv);
    await versionAtLeast(coordinator, v + 3);
    expect(coordinator.child.exitCode).toBeNull();
    const after = await rejections(job, (r) => r.length >= expected);
    const positions = after.map((r) => `${r.source.partition}:${r.source.offset}`);
    expect(new Set(positions).size).toBe(positions.length);
    expect(after.length).toBe(expected);
  });

  it('rejects every impossible record of a few hundred from the fuzz corpus with a code, with RSS bounded and versions advancing', async () => {
    const job = jobEnv(brokers(), registryUrl());
    startWorkers(job, 2);
    const coordinator = startCoordinator(job, { ...TRAINING, TRIBUTARY_MAX_WALL_SECONDS: '600' });
    await versionAtLeast(coordinator, 2);
    const serde = AvroSerde.forUrl(registryUrl());
    const schemaId = await serde.register('ModelUpdate', topicName(job.jobId, 'updates'));
    const taskSchemaId = await serde.register('TrainTask', topicName(job.jobId, 'tasks'));
    const cases = hostileCorpus(
      {
        seed: 11,
        layout,
        jobId: job.jobId,
        schemaId,
        baseVersion: 1,
        honestNorm: 1,
        wrongKindSchemaIds: [taskSchemaId, ...(await wrongKindSchemaIds())],
      },
      300,
    );
    const rssBefore = rssMiB(coordinator);
    let rssMax = rssBefore;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMiB(coordinator))), 200);
    const versionBefore = await version(coordinator);
    try {
      const offsets = await produce(
        job,
        cases.map((c) => ({ key: c.key, value: c.value })),
      );
      const mustReject = new Set(offsets.filter((_, i) => cases[i]?.mustReject).map((o) => `0:${o}`));
      const recorded = await rejections(job, (r) => {
        const seen = new Set(r.map((x) => `${x.source.partition}:${x.source.offset}`));
        return [...mustReject].every((p) => seen.has(p));
      });
      for (const r of recorded) expect(r.code).toMatch(/^TRIB_[A-Z_]+$/);
      await versionAtLeast(coordinator, versionBefore + 3);
    } finally {
      clearInterval(sampler);
    }
    expect(coordinator.child.exitCode).toBeNull();
    console.log(
      JSON.stringify({ fuzz: 'live', cases: cases.length, rssBeforeMiB: rssBefore, rssMaxMiB: rssMax }),
    );
    expect(rssMax - rssBefore).toBeLessThan(512);
  });

  it('is held back by a transaction that is never ended for no longer than the broker cap (30 s + one abort sweep)', async () => {
    const job = jobEnv(brokers(), registryUrl());
    startWorkers(job, 2);
    const coordinator = startCoordinator(job, { ...TRAINING, TRIBUTARY_MAX_WALL_SECONDS: '600' });
    await versionAtLeast(coordinator, 2);
    const kafka = createKafka({ brokers: brokers(), clientId: 'mallory' });

    // A producer may not ask for longer than the cap.
    const greedy = kafka.producer({
      transactionalId: uniqueName('greedy'),
      transactionTimeout: 600_000,
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await greedy.connect();
    await expect(greedy.transaction()).rejects.toThrow(/transaction timeout|INVALID_TRANSACTION_TIMEOUT/i);
    await greedy.disconnect();

    const stalling = kafka.producer({
      transactionalId: uniqueName('stall'),
      transactionTimeout: 30_000,
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await stalling.connect();
    const tx = await stalling.transaction();
    await tx.send({
      topic: topicName(job.jobId, 'updates'),
      messages: [0, 1, 2, 3].map((partition) => ({ partition, key: 'stall', value: Buffer.from('open') })),
    });
    const openedAt = Date.now();
    const stalledAt = await version(coordinator);
    // Every partition of `updates` is held back until the broker aborts the transaction.
    await versionAtLeast(coordinator, stalledAt + 3, 75_000);
    const seconds = (Date.now() - openedAt) / 1000;
    console.log(JSON.stringify({ openTransaction: 'released', seconds }));
    expect(seconds).toBeLessThan(75);
    await stalling.disconnect();
    expect(coordinator.child.exitCode).toBeNull();
  });
});
