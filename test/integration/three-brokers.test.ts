/**
 * A 3-node KRaft cluster (replication 3, min.insync.replicas 2) loses the coordinator's transaction
 * coordinator (and the updates partitions it leads) to SIGKILL during training: training goes on
 * (a step that cannot commit restarts the coordinator in-process from its last checkpoint), the node
 * is restarted and rejoins, and an audit of the topics finds versions contiguous, no update lost and
 * none folded twice. On the container path (when Docker and the images are here), three Kafka
 * containers form one cluster that keeps taking acks=all writes with a node killed (none lost, none
 * doubled), and the node rejoins.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFederation, startStack, type Federation, type Stack } from '../../lib/testing/index.js';
import { waitFor } from './helpers.js';
import { containersAvailable } from '../../infra/stack/containers.js';
import { readTopicNow } from '../../lib/kafka/read.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { createServed } from '../../lib/kafka/topics.js';
import { sendKeyed, sendOne } from '../../lib/kafka/publish.js';
import { partitionOfKey, partitionsOfKeys } from '../../lib/kafka/keyed-partitions.js';
import { sendStepRecords } from '../../services/coordinator/step.js';

let stack: Stack | undefined;
let federation: Federation | undefined;
afterAll(async () => {
  const dir = process.env.TRIBUTARY_IT_LOG_DIR;
  if (dir && federation)
    for (const p of [federation.coordinator, ...federation.workers])
      writeFileSync(join(dir, `three-brokers-${p.name}-${p.child.pid}.log`), p.output);
  await federation?.stop();
  await stack?.stop();
});

/** The records of `versions` on a job's `models` topic: partition, offset, write time, folded ids. */
async function modelRecordsOf(stack: Stack, jobId: string, versions: number[]): Promise<unknown[]> {
  const serde = AvroSerde.forUrl(stack.registryUrl);
  const kafka = new Kafka({ brokers: stack.brokers, logLevel: logLevel.NOTHING });
  const found: unknown[] = [];
  for (const { partition, message } of await readTopicNow(kafka, `tributary.${jobId}.models`)) {
    const model = await serde.decode('GlobalModel', message.value).catch(() => null);
    if (model && versions.includes(model.version))
      found.push({
        version: model.version,
        partition,
        offset: message.offset,
        at: message.timestamp,
        folded: model.foldedUpdateIds,
      });
  }
  return found;
}

describe('three brokers', () => {
  beforeAll(async () => {
    stack = await startStack({ mode: 'local', brokers: 3 });
  }, 180_000);

  it('keeps training through the loss of the transaction coordinator and partition leaders, and loses or doubles nothing', async () => {
    if (!stack) throw new Error('no stack');
    const nodes = stack.kafkaNodes;
    expect(nodes?.count).toBe(3);
    federation = await startFederation({
      stack,
      task: fileURLToPath(new URL('../../examples/mnist', import.meta.url)),
      workers: 4,
      coordinator: { TRIBUTARY_MAX_VERSIONS: '40', TRIBUTARY_TARGET_ACCURACY: '0.99' },
    });
    await federation.waitForVersion(5, { timeoutMs: 180_000 });

    const admin = new Kafka({ brokers: stack.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const topic = `tributary.${federation.jobId}.updates`;
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    for (const p of metadata?.partitions ?? []) expect(p.replicas).toHaveLength(3);
    // The node to kill: the coordinator's transaction coordinator (the leader of its partition of
    // __transaction_state), the hardest loss for a step in flight; it also leads updates partitions.
    const txPartition = javaStringHash(`tributary.${federation.jobId}.coordinator`) % 4; // num.partitions 4
    const [txState] = (await admin.fetchTopicMetadata({ topics: ['__transaction_state'] })).topics;
    const leader = txState?.partitions.find((p) => p.partitionId === txPartition)?.leader ?? 1;
    const ledUpdates = (metadata?.partitions ?? [])
      .filter((p) => p.leader === leader)
      .map((p) => p.partitionId);
    nodes?.kill(leader - 1); // node ids are 1-based
    const killedAtMs = Date.now();
    const killedAt = (await federation.status())?.version as number;
    await federation.waitForVersion(killedAt + 1, { timeoutMs: 180_000 });
    const nextVersionSeconds = (Date.now() - killedAtMs) / 1000;
    // Training goes on with two of three replicas in sync.
    await federation.waitForVersion(killedAt + 10, { timeoutMs: 180_000 });
    await nodes?.restart(leader - 1);
    await waitFor(
      async () => {
        const [t] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
        return t?.partitions.every((p) => p.isr.length === 3) ? true : undefined;
      },
      { timeoutMs: 120_000, what: `node ${leader} back in every ISR of ${topic}` },
    );
    await admin.disconnect();
    const report = await federation.finished({ timeoutMs: 240_000 });

    // The audit: versions 0..N each once, no update folded twice, every folded update on `updates`.
    const models = await federation.readTopic('models');
    // Each version once: a step committed twice (a predecessor's commit landing behind a restarted
    // coordinator's read) repeats its version as well as its updates.
    const versions = models.map((m) => m.version).sort((a, b) => a - b);
    const folded = models.flatMap((m) => m.foldedUpdateIds);
    // On failure, what a CI log alone needs: the doubled ids, where the coordinator recovered and
    // restarted, and where and when each record of a doubled version was written.
    const doubled = versions.filter((v, i) => versions.indexOf(v) !== i);
    const context = JSON.stringify({
      foldedTwice: folded.filter((id, i) => folded.indexOf(id) !== i),
      recovered: federation.coordinator.events('recovered').map((e) => ({ at: e.time, version: e.version })),
      restarting: federation.coordinator.events('coordinator-restarting').map((e) => e.time),
      killedAtMs,
      killedAtVersion: killedAt,
      doubledRecords: doubled.length === 0 ? [] : await modelRecordsOf(stack, federation.jobId, doubled),
    });
    expect(versions, context).toEqual(Array.from({ length: report.versions + 1 }, (_, v) => v));
    expect(new Set(folded).size, context).toBe(folded.length);
    const published = new Set((await federation.readTopic('updates')).map((u) => u.updateId));
    expect(folded.every((id) => published.has(id))).toBe(true);
    console.log(
      JSON.stringify({
        test: 'three-brokers',
        killedNode: leader,
        killedLedUpdatesPartitions: ledUpdates,
        coordinatorRestarts: federation.coordinator.events('coordinator-restarted').length,
        // What each restart was for (TRIB_SEND_DUPLICATED: kafkajs wrote a step's records twice).
        restartCauses: federation.coordinator.events('coordinator-restarting').map((e) => {
          const error = e.error as { code?: string; name?: string } | undefined;
          return error?.code ?? error?.name ?? null;
        }),
        killedAtVersion: killedAt,
        nextVersionSeconds,
        versions: report.versions,
        folded: folded.length,
      }),
    );
  });

  // The defect behind a version missing from `models` after a node was lost (a CI run of the test
  // above): a step's one request to `models` and `checkpoints`, led by two brokers, was acknowledged
  // with the checkpoint written and the model not, and committed.
  it('refuses a step that kafkajs acknowledges without writing a partition whose leader moved (kafkajs#1303), and commits none of it', async () => {
    const { kafka, admin, id } = await clusterClients();
    const record = (value: string) => ({ value: Buffer.from(value) });
    const values = async (topic: string) =>
      (await readTopicNow(kafka, topic)).map((r) => r.message.value?.toString());
    // kafkajs leaves the moved topic out only when node 2 answers before node 1's refusal is
    // handled: a race, which a loaded CI host lost once. Rounds on new topics until both kafkajs
    // alone and a step have met it; no round may commit anything.
    let leftOut = 0;
    let refused = 0;
    let rounds = 0;
    for (; rounds < 6 && (leftOut === 0 || refused === 0); rounds++) {
      const round = rounds;
      // Leaders 1 (moved-*) and 2 (stays): each step request goes to two brokers.
      const moved = [`moved-raw-${id}-${round}`, `moved-step-${id}-${round}`];
      const stays = `stays-${id}-${round}`;
      await createPlaced(admin, [
        ...moved.map((topic) => ({ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] })),
        { topic: stays, replicaAssignment: [{ partition: 0, replicas: [2, 1, 3] }] },
      ]);
      // One producer per moved topic: a retry refreshes its producer's metadata for every topic.
      const producers = moved.map((topic) =>
        kafka.producer({
          transactionalId: `${topic}-tx`,
          transactionTimeout: 30_000,
          idempotent: true,
          maxInFlightRequests: 1,
        }),
      );
      try {
        for (const [i, producer] of producers.entries()) {
          await producer.connect();
          const tx = await producer.transaction(); // learns the leaders: node 1 and node 2
          await tx.sendBatch({
            topicMessages: [moved[i]!, stays].map((topic) => ({ topic, messages: [record('before')] })),
          });
          await tx.commit();
        }
        // Node 1 leaves the moved partitions; node 2 (stays' leader) takes them over.
        await moveToNode2(
          admin,
          moved.map((topic) => ({ topic, partition: 0 })),
        );

        // kafkajs alone: node 1 refuses the moved partition; the retry goes only to brokers that
        // have not answered, and when node 2 already has, the answer lacks the moved topic.
        const raw = await producers[0]!.transaction();
        const written = await raw.sendBatch({
          topicMessages: [moved[0]!, stays].map((topic) => ({ topic, messages: [record('raw')] })),
        });
        if (!written.some((m) => m.topicName === moved[0])) leftOut++;
        await raw.abort();
        // A step's send refuses such an answer (and only such), so its transaction is aborted.
        const step = await producers[1]!.transaction();
        const outgoing = [moved[1]!, stays].map((topic) => ({ topic, message: record('step') }));
        const outcome = await sendStepRecords(step, outgoing, stays).then(
          () => 'written',
          (error: unknown) => error,
        );
        if (outcome !== 'written') {
          expect(outcome).toMatchObject({ code: 'TRIB_SEND_INCOMPLETE' });
          refused++;
        }
        await step.abort();

        expect(await values(moved[0]!)).toEqual(['before']);
        expect(await values(moved[1]!)).toEqual(['before']);
        expect(await values(stays)).toEqual(['before', 'before']);
      } finally {
        await Promise.allSettled(producers.map((p) => p.disconnect()));
      }
    }
    await admin.disconnect();
    console.log(JSON.stringify({ test: 'three-brokers-step-refused', rounds, leftOut, refused }));
    expect({ leftOut: leftOut > 0, refused: refused > 0 }).toEqual({ leftOut: true, refused: true });
  });

  it('sends a batch of keyed records (tasks) again to the partition kafkajs acknowledged without writing, and writes each once', async () => {
    const { kafka, admin, id } = await clusterClients();
    const keys = Array.from({ length: 8 }, (_, i) => `w${i}`);
    expect(partitionsOfKeys(keys, 2)).toEqual([0, 1]);
    const batch = (phase: string) => keys.map((key) => ({ key, value: Buffer.from(`${phase}-${key}`) }));
    const expected = (phase: string, partitions: number[]) =>
      keys.filter((k) => partitions.includes(partitionOfKey(k, 2))).map((k) => `${phase}-${k}`);
    const values = async (topic: string) =>
      (await readTopicNow(kafka, topic)).map((r) => r.message.value?.toString()).sort();

    // kafkajs leaves a partition out only when the broker it moved to answered before the old
    // leader's refusal came back: a race, which a loaded host can lose. Rounds on new topics until
    // both kafkajs alone and sendKeyed have met it; every round must write each record once.
    let leftOut = 0;
    let sentAgain = 0;
    let kafkajsDuplicated = 0;
    let rounds = 0;
    for (; rounds < 6 && (leftOut === 0 || sentAgain === 0); rounds++) {
      const round = rounds;
      const topics = [`tasks-raw-${id}-${round}`, `tasks-keyed-${id}-${round}`];
      // Partition 0 led by node 1, partition 1 by node 2: a batch to both goes to two brokers.
      await createPlaced(
        admin,
        topics.map((topic) => ({
          topic,
          replicaAssignment: [
            { partition: 0, replicas: [1, 2, 3] },
            { partition: 1, replicas: [2, 1, 3] },
          ],
        })),
      );
      const producers = topics.map(() => kafka.producer({ idempotent: true, maxInFlightRequests: 1 }));
      try {
        for (const [i, producer] of producers.entries()) {
          await producer.connect();
          await producer.send({ topic: topics[i]!, messages: batch('before') }); // learns both leaders
        }
        await moveToNode2(
          admin,
          topics.map((topic) => ({ topic, partition: 0 })),
        );
        // kafkajs alone: the answer either names partition 0 (written) or not (never written).
        const written = (await producers[0]!.send({ topic: topics[0]!, messages: batch('after') })).map(
          (m) => m.partition,
        );
        if (!written.includes(0)) leftOut++;
        // kafkajs alone has also written partition 0's batch twice here (once, in a CI run): its own
        // behaviour, counted and printed. What it wrote is still what it answered; sendKeyed below
        // must write each record exactly once.
        const raw = await values(topics[0]!);
        if (new Set(raw).size !== raw.length) kafkajsDuplicated++;
        expect([...new Set(raw)]).toEqual(
          [...expected('after', written), ...expected('before', [0, 1])].sort(),
        );
        // sendKeyed sends partition 0's records again when they were left out, and only those.
        const sends = await sendKeyed(producers[1]!, topics[1]!, batch('after'), 2);
        expect(sends).toBeLessThanOrEqual(2);
        if (sends === 2) sentAgain++;
        expect(await values(topics[1]!)).toEqual(
          [...expected('after', [0, 1]), ...expected('before', [0, 1])].sort(),
        );
      } finally {
        await Promise.allSettled(producers.map((p) => p.disconnect()));
      }
    }
    await admin.disconnect();
    console.log(
      JSON.stringify({ test: 'three-brokers-keyed-resend', rounds, leftOut, sentAgain, kafkajsDuplicated }),
    );
    expect({ leftOut: leftOut > 0, sentAgain: sentAgain > 0 }).toEqual({ leftOut: true, sentAgain: true });
  });
});

type Admin = ReturnType<Kafka['admin']>;

/** A client of the 3-node stack, its admin (connected), and a suffix for the test's topic names. */
async function clusterClients(): Promise<{ kafka: Kafka; admin: Admin; id: string }> {
  if (!stack) throw new Error('no stack');
  const kafka = new Kafka({ brokers: stack.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  return { kafka, admin, id: Date.now().toString(36) };
}

/** Creates `topics` with the replicas given and waits until each partition's first replica leads it. */
async function createPlaced(
  admin: Admin,
  topics: { topic: string; replicaAssignment: { partition: number; replicas: number[] }[] }[],
): Promise<void> {
  await createServed(admin, topics);
  await waitFor(
    async () => {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
      const leaderOf = (topic: string, partition: number) =>
        found.find((f) => f.name === topic)?.partitions.find((p) => p.partitionId === partition)?.leader;
      const placed = topics.every(({ topic, replicaAssignment }) =>
        replicaAssignment.every((a) => leaderOf(topic, a.partition) === a.replicas[0]),
      );
      return placed ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'each partition led by its first replica' },
  );
}

/** Reassigns `partitions` to nodes 2 and 3, and waits until node 2 leads each. */
async function moveToNode2(admin: Admin, partitions: { topic: string; partition: number }[]): Promise<void> {
  await admin.alterPartitionReassignments({
    topics: partitions.map(({ topic, partition }) => ({
      topic,
      partitionAssignment: [{ partition, replicas: [2, 3] }],
    })),
  });
  await waitFor(
    async () => {
      const { topics } = await admin.fetchTopicMetadata({ topics: partitions.map((p) => p.topic) });
      const leaderOf = (topic: string, partition: number) =>
        topics.find((t) => t.name === topic)?.partitions.find((p) => p.partitionId === partition)?.leader;
      return partitions.every(({ topic, partition }) => leaderOf(topic, partition) === 2) ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'node 2 leading the moved partitions' },
  );
}

describe.runIf(containersAvailable().ok)('three brokers in containers', () => {
  it('start as one cluster (replication 3, min.insync.replicas 2), take every write once with a node killed, and the node rejoins', async () => {
    const cluster = await startStack({ mode: 'containers', brokers: 3 });
    try {
      expect(cluster.brokers).toHaveLength(3);
      expect(cluster.kafkaNodes?.count).toBe(3);
      const kafka = new Kafka({ brokers: cluster.brokers, logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      const topic = `three-${Date.now().toString(36)}`;
      await createServed(admin, [{ topic, numPartitions: 3 }]);
      const partitions = async () =>
        (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions ?? [];
      for (const p of await partitions()) expect(p.replicas).toHaveLength(3);
      const configs = await admin.describeConfigs({
        resources: [{ type: 2, name: topic, configNames: ['min.insync.replicas'] }],
        includeSynonyms: false,
      });
      expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('2');

      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      // One record per send, through the guard Tributary's updates go through (sendOne): kafkajs
      // alone acknowledged sends to the killed leader's partition and wrote nothing (kafkajs#1303).
      let resends = 0;
      const send = async (phase: number) => {
        for (let i = 0; i < 30; i++)
          resends += (await sendOne(producer, topic, [{ key: `k${i}`, value: `${phase}-${i}` }])) - 1;
      };
      await send(0);
      const leader = (await partitions())[0]?.leader ?? 1;
      cluster.kafkaNodes?.kill(leader - 1);
      await send(1); // acks=all with two of three replicas in sync
      await cluster.kafkaNodes?.restart(leader - 1);
      await waitFor(async () => ((await partitions()).every((p) => p.isr.length === 3) ? true : undefined), {
        timeoutMs: 120_000,
        what: `node ${leader} back in every ISR`,
      });
      await send(2);
      await producer.disconnect();
      // Every record once: none lost to the killed leader, none written twice by a resend.
      const values = (await readTopicNow(kafka, topic)).map((r) => r.message.value?.toString()).sort();
      const expected = [0, 1, 2]
        .flatMap((phase) => Array.from({ length: 30 }, (_, i) => `${phase}-${i}`))
        .sort();
      expect(values).toEqual(expected);
      console.log(JSON.stringify({ test: 'three-brokers-containers', killedNode: leader, resends }));
      await admin.disconnect();
    } finally {
      await cluster.stop();
    }
  });
});

/** Kafka's partitionFor(transactionalId): Utils.abs(String.hashCode()) — a 31-polynomial in int32. */
function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h & 0x7fffffff;
}
