/**
 * What kafkajs's request-queue loop costs a process that waits (lib/kafka/kafkajs-request-queue.ts):
 * one process holding a worker's clients (three consumers in groups, a producer, an admin), idle,
 * with kafkajs's own scheduling and with the fix, alternating in one run. A worker waits most of
 * its life (for a task, for its device's training, for the next model), and a host runs many.
 */
import { Kafka, logLevel } from 'kafkajs';
import { startStack } from '../infra/stack/index.js';
import { fixKafkajsRequestQueue, kafkajsRequestQueue } from '../lib/kafka/kafkajs-request-queue.js';
import { machine, table, writeResult } from './common.js';

const WINDOW_MS = Number(process.env.BENCH_IDLE_WINDOW_MS ?? 5000);
const ROUNDS = Number(process.env.BENCH_IDLE_ROUNDS ?? 3);

type Schedule = (this: unknown) => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runKafkajsIdle(): Promise<void> {
  const proto = kafkajsRequestQueue().prototype as { scheduleCheckPendingRequests: Schedule };
  const kafkajsOwn = proto.scheduleCheckPendingRequests;
  fixKafkajsRequestQueue();
  const fixed = proto.scheduleCheckPendingRequests;
  // Fixed already (by a client built before this ran): there would be no unfixed scheduling to measure.
  if (fixed === kafkajsOwn)
    throw new Error("kafkajs-idle: kafkajs's request queue was fixed before the bench began");
  // Queue checks, counted: each response makes one, and under kafkajs's own scheduling each check
  // arms the next, a millisecond later.
  let checks = 0;
  const RequestQueue = kafkajsRequestQueue() as unknown as { prototype: { checkPendingRequests(): void } };
  const check = RequestQueue.prototype.checkPendingRequests;
  RequestQueue.prototype.checkPendingRequests = function (this: unknown) {
    checks += 1;
    check.call(this);
  };

  const stack = await startStack({
    onProgress: (m) => console.log(JSON.stringify({ bench: 'kafkajs-idle', stack: m })),
  });
  const rows: { schedule: string; round: number; cores: number; checksPerSecond: number }[] = [];
  try {
    const kafka = new Kafka({ brokers: stack.brokers, clientId: 'idle-bench', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topic = `idle-bench-${Date.now().toString(36)}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    const consumers = [0, 1, 2].map((i) => kafka.consumer({ groupId: `${topic}-${i}` }));
    for (const consumer of consumers) {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async () => {} });
    }
    await producer.send({ topic, messages: [{ value: 'one record, so every client has had a response' }] });
    await sleep(3000);
    for (let round = 1; round <= ROUNDS; round++)
      for (const [schedule, method] of [
        ['kafkajs 2.2.4', kafkajsOwn],
        ['fixed', fixed],
      ] as const) {
        proto.scheduleCheckPendingRequests = method;
        // Under kafkajs's own scheduling the loop restarts at each connection's next response (a
        // heartbeat's answer comes every 3 s).
        await sleep(3500);
        const began = performance.now();
        const cpu = process.cpuUsage();
        const checksBefore = checks;
        await sleep(WINDOW_MS);
        const used = process.cpuUsage(cpu);
        const seconds = (performance.now() - began) / 1000;
        const row = {
          schedule,
          round,
          cores: (used.user + used.system) / 1e6 / seconds,
          checksPerSecond: (checks - checksBefore) / seconds,
        };
        rows.push(row);
        console.log(JSON.stringify({ bench: 'kafkajs-idle', ...row }));
      }
    proto.scheduleCheckPendingRequests = fixed;
    for (const consumer of consumers) await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  } finally {
    await stack.stop();
  }
  const mean = (schedule: string, key: 'cores' | 'checksPerSecond') => {
    const of = rows.filter((r) => r.schedule === schedule);
    return of.reduce((sum, r) => sum + r[key], 0) / Math.max(1, of.length);
  };
  const own = mean('kafkajs 2.2.4', 'cores');
  const fixedCores = mean('fixed', 'cores');
  const markdown = [
    '# An idle kafkajs process: the request-queue fix',
    '',
    `Machine: ${JSON.stringify(machine())}. One process holding three group consumers, a producer and an admin on one broker, idle; ${ROUNDS} rounds of ${WINDOW_MS / 1000} s each way, alternating (lib/kafka/kafkajs-request-queue.ts).`,
    '',
    table(
      ['scheduling', 'round', 'cores', 'queue checks a second'],
      rows.map((r) => [r.schedule, r.round, r.cores.toFixed(4), r.checksPerSecond.toFixed(0)]),
    ),
    '',
    `Mean: ${own.toFixed(4)} cores with kafkajs's own scheduling, ${fixedCores.toFixed(4)} with the fix (${(own / Math.max(fixedCores, 1e-9)).toFixed(1)}× less); queue checks ${mean('kafkajs 2.2.4', 'checksPerSecond').toFixed(0)} against ${mean('fixed', 'checksPerSecond').toFixed(0)} a second.`,
    '',
  ].join('\n');
  const files = writeResult(
    'kafkajs-idle',
    { bench: 'kafkajs-idle', machine: machine(), windowMs: WINDOW_MS, rows },
    markdown,
  );
  console.log(JSON.stringify({ bench: 'kafkajs-idle', written: files }));
}
