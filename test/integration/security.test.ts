/**
 * Security against a broker that enforces it: SASL/SCRAM over TLS, deny-by-default ACLs and a
 * super-user, on a stack of its own (TRIBUTARY_SECURITY's path). A job provisioned with
 * `tributary provision` trains end to end, each silo as its own principal, signing its updates;
 * a silo cannot read another's data or the updates, nor write models or checkpoints; a wrong
 * password fails at connect with a clear error; forged, badly signed and unsigned updates are
 * rejected with their codes while training goes on; and no secret appears in any log line.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersAvailable } from '../../infra/stack/containers.js';
import { startStack, type Stack } from '../../infra/stack/index.js';
import { isTributaryError } from '../../lib/core/errors.js';
import { splitFlat } from '../../lib/core/fedbuff/layout.js';
import { createKafka, explainKafkaError } from '../../lib/kafka/client.js';
import { ensureTopics, topicName, createServed } from '../../lib/kafka/topics.js';
import { nodeArgs } from '../../lib/run/processes.js';
import { loadClientSecurity, withCredentials } from '../../lib/security/client.js';
import { loadSigningKey, signUpdate } from '../../lib/security/signing.js';
import { startFederation, type Federation } from '../../lib/testing/index.js';
import { toRecords } from '../../lib/wire/records.js';
import type { ModelUpdate } from '../../lib/wire/schemas.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { MNIST_TASK, mnistLayout } from '../support/tasks.js';
import { uniqueName } from './helpers.js';

let stack: Stack;
const logs: { name: string; text: string }[] = [];
/** Directories holding credentials bundles made in this file (scanned for secrets at the end). */
const bundleDirs: string[] = [];

beforeAll(async () => {
  stack = await startStack({ secure: true });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  // Kept for the scan for secrets at the end (the stack's own went with it).
  for (const dir of bundleDirs) rmSync(dir, { recursive: true, force: true });
});

/** A silo's (or the coordinator's) Kafka client, from its bundle, as its processes build it. */
function clientOf(bundle: string, overrides: NodeJS.ProcessEnv = {}): Kafka {
  const env = { ...withCredentials({ TRIBUTARY_CREDENTIALS: bundle }), ...overrides };
  return createKafka({
    brokers: (env.KAFKA_BROKERS ?? '').split(','),
    clientId: uniqueName('it-sec'),
    security: loadClientSecurity(env).kafka,
  });
}

function cli(args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [...nodeArgs('cli/main.ts'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, TRIBUTARY_CREDENTIALS: stack.security!.adminCredentialsDir },
    timeout: 60_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  logs.push({ name: `cli ${args[0]}`, text: output });
  return { status: result.status, output };
}

/** What reading `topic` from the beginning gives: its first record's value, or the error. */
async function attemptRead(kafka: Kafka, topic: string, groupId: string): Promise<string | Error> {
  const consumer = kafka.consumer({ groupId });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const first = new Promise<string | Error>((resolve) => {
      // A retriable crash (a fresh broker's group coordinator still loading) is retried by kafkajs.
      consumer.on(consumer.events.CRASH, (event) => {
        if (!event.payload.restart) resolve(event.payload.error);
      });
      void consumer
        .run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') })
        .catch((error: Error) => resolve(error));
    });
    return await Promise.race([
      first,
      new Promise<Error>((resolve) => setTimeout(() => resolve(new Error('nothing read in 20 s')), 20_000)),
    ]);
  } catch (error) {
    return error as Error;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

async function attemptWrite(kafka: Kafka, topic: string): Promise<'written' | Error> {
  const producer = kafka.producer();
  try {
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'v' }] });
    return 'written';
  } catch (error) {
    return error as Error;
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

function codeOf(outcome: unknown): string {
  const explained = explainKafkaError(outcome);
  return isTributaryError(explained) ? explained.code : `not typed: ${String(outcome)}`;
}

describe('provisioning and ACLs on a secured broker', () => {
  const jobId = uniqueName('sec');
  let out: string;

  beforeAll(() => {
    out = join(stack.security!.caFile, '..', 'credentials', jobId);
    bundleDirs.push(join(stack.security!.caFile, '..'));
  });

  it('creates a principal, ACLs, a key and a bundle per silo; running it again changes nothing', () => {
    const first = cli(['provision', '--job', jobId, '--silos', 'a,b', '--out', out]);
    expect(first.status, first.output).toBe(0);
    expect(first.output).toContain('"name":"tributary.' + jobId + '.silo.a","bundle"');
    const bundle = readFileSync(join(out, 'a', 'tributary.env'), 'utf8');
    const key = readFileSync(join(out, 'a', 'signing-key.pem'), 'utf8');
    const again = cli(['provision', '--job', jobId, '--silos', 'a,b', '--out', out]);
    expect(again.status, again.output).toBe(0);
    expect(again.output.match(/"created":false/g)).toHaveLength(3);
    expect(readFileSync(join(out, 'a', 'tributary.env'), 'utf8')).toBe(bundle);
    expect(readFileSync(join(out, 'a', 'signing-key.pem'), 'utf8')).toBe(key);
    const keys = JSON.parse(readFileSync(join(out, 'coordinator', 'silo-keys.json'), 'utf8')) as object;
    expect(Object.keys(keys).sort()).toEqual(['a', 'b']);
  });

  it("silo a reads its own data and tasks but not b's data or the updates; writes no model or checkpoint", async () => {
    const admin = createKafka({
      brokers: stack.brokers,
      clientId: 'it-sec-admin',
      security: stack.clientSecurity.kafka,
    });
    const adminClient = admin.admin();
    await adminClient.connect();
    await ensureTopics(adminClient, jobId);
    await createServed(adminClient, [{ topic: 'a.telemetry' }, { topic: 'b.telemetry' }]);
    await adminClient.disconnect();
    const producer = admin.producer();
    await producer.connect();
    for (const topic of [
      'a.telemetry',
      'b.telemetry',
      topicName(jobId, 'updates'),
      topicName(jobId, 'tasks'),
    ])
      await producer.send({ topic, messages: [{ value: `in ${topic}` }] });
    await producer.disconnect();

    const a = clientOf(join(out, 'a'));
    const group = (name: string) => `tributary.${jobId}.worker.a.${name}`;
    // Controls first: what a silo may do works, so the denials below are the ACLs' doing.
    expect(await attemptRead(a, 'a.telemetry', `tributary.${jobId}.data.a.w1`)).toBe('in a.telemetry');
    expect(await attemptRead(a, topicName(jobId, 'tasks'), group('w1'))).toBe(
      `in ${topicName(jobId, 'tasks')}`,
    );
    expect(await attemptWrite(a, topicName(jobId, 'checkins'))).toBe('written');

    expect(codeOf(await attemptRead(a, 'b.telemetry', `tributary.${jobId}.data.a.w2`))).toBe(
      'TRIB_AUTHORIZATION_FAILED',
    );
    expect(codeOf(await attemptRead(a, topicName(jobId, 'updates'), group('w3')))).toBe(
      'TRIB_AUTHORIZATION_FAILED',
    );
    expect(codeOf(await attemptWrite(a, topicName(jobId, 'models')))).toBe('TRIB_AUTHORIZATION_FAILED');
    expect(codeOf(await attemptWrite(a, topicName(jobId, 'checkpoints')))).toBe('TRIB_AUTHORIZATION_FAILED');
    // Its own topic, but another silo's consumer group.
    expect(codeOf(await attemptRead(a, topicName(jobId, 'tasks'), `tributary.${jobId}.worker.b.w1`))).toBe(
      'TRIB_AUTHORIZATION_FAILED',
    );
  }, 180_000);

  it('a wrong password fails at connect with a clear error, in the client and in a worker', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const admin = clientOf(join(out, 'a'), { KAFKA_SASL_PASSWORD: wrong }).admin();
    const error = await admin.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(codeOf(error)).toBe('TRIB_AUTHENTICATION_FAILED');
    // As a user starts a worker: the CLI with the silo's bundle, the password overridden.
    const worker = spawnSync(
      process.execPath,
      [
        ...nodeArgs('cli/main.ts'),
        'worker',
        MNIST_TASK,
        '--credentials',
        join(out, 'a'),
        '--worker-id',
        'a.w9',
      ],
      { encoding: 'utf8', env: { ...process.env, KAFKA_SASL_PASSWORD: wrong }, timeout: 120_000 },
    );
    const output = `${worker.stdout}${worker.stderr}`;
    logs.push({ name: 'worker with a wrong password', text: output });
    expect(worker.status, output).toBe(1);
    expect(output).toMatch(/"code":"TRIB_AUTHENTICATION_FAILED".*refused the SASL credentials/);
    expect(output).not.toContain(wrong);
  }, 150_000);

  it('revoking a silo removes its credential: it can no longer connect', async () => {
    const bEnv = withCredentials({ TRIBUTARY_CREDENTIALS: join(out, 'b') });
    const asB = () =>
      createKafka({
        brokers: stack.brokers,
        clientId: uniqueName('it-b'),
        security: loadClientSecurity(bEnv).kafka,
      }).admin();
    const before = asB();
    const after = asB(); // built now: its bundle (and CA file) is about to go
    await before.connect();
    await before.disconnect();
    const revoked = cli(['provision', '--job', jobId, '--revoke', 'b', '--out', out]);
    expect(revoked.status, revoked.output).toBe(0);
    expect(existsSync(join(out, 'b'))).toBe(false);
    expect(codeOf(await after.connect().catch((e: unknown) => e))).toBe('TRIB_AUTHENTICATION_FAILED');
    const keys = JSON.parse(readFileSync(join(out, 'coordinator', 'silo-keys.json'), 'utf8')) as object;
    expect(Object.keys(keys)).toEqual(['a']);
  });
});

describe('a job on the secured stack', () => {
  let federation: Federation | undefined;
  afterAll(async () => {
    if (federation)
      for (const p of [federation.coordinator, ...federation.workers])
        logs.push({ name: p.name, text: p.output });
    await federation?.stop();
  });

  it('trains end to end with signed updates; forged, badly signed and unsigned updates are rejected', async () => {
    federation = await startFederation({
      stack,
      task: MNIST_TASK,
      keepRunDir: true,
      workers: 2,
      coordinator: {
        TRIBUTARY_MAX_VERSIONS: '30',
        TRIBUTARY_TARGET_ACCURACY: '0',
        TRIBUTARY_MAX_WALL_SECONDS: '0',
        TRIBUTARY_BUFFER_K: '2',
        TRIBUTARY_CONCURRENCY: '2',
      },
      // silo-0 trains slowly, so a forgery aimed at its next task lands before its own update.
      worker: (i): Record<string, string> =>
        i === 0 ? { TRIBUTARY_DELAY: 'fixed', TRIBUTARY_DELAY_MULTIPLIER: '4' } : {},
    });
    const job = federation.jobId;
    bundleDirs.push(federation.runDir);
    await federation.waitForVersion(2, { timeoutMs: 120_000 });

    const bundle = (silo: string) => join(federation!.runDir, 'credentials', silo);
    const serde = AvroSerde.forUrl(stack.registryUrl);
    const schemaId = await serde.register('ModelUpdate', topicName(job, 'updates'));
    const layout = await mnistLayout();
    const forgery = (workerId: string, taskId: string, baseVersion: number): ModelUpdate => {
      const [record] = toRecords<ModelUpdate>(
        {
          updateId: `${workerId}-${taskId}`,
          taskId,
          jobId: job,
          workerId,
          baseVersion,
          numExamples: 10,
          metrics: {},
          timings: { startedAtMs: Date.now(), finishedAtMs: Date.now() },
          signature: null,
        },
        splitFlat(layout, new Float32Array(layout.size)),
        'FLOAT32',
        16 << 20,
      );
      return record!;
    };
    const keyOf = (silo: string) =>
      loadSigningKey(silo, readFileSync(join(bundle(silo), 'signing-key.pem'), 'utf8'));
    const publish = async (silo: string, update: ModelUpdate) => {
      const producer = clientOf(bundle(silo)).producer();
      await producer.connect();
      await producer.send({
        topic: topicName(job, 'updates'),
        messages: [{ key: update.updateId, value: serde.encode('ModelUpdate', schemaId, update) }],
      });
      await producer.disconnect();
    };

    // Silo-1, watching the tasks it may read, forges an update for silo-0's next task as soon as it
    // is leased: silo-0's worker id, signed by silo-1. It arrives first and is rejected, and silo-0's
    // own update for the same task (same update id) is still folded.
    const tasks = clientOf(bundle('silo-1')).consumer({ groupId: `tributary.${job}.worker.silo-1.spy` });
    const seen = new Promise<{ taskId: string; baseVersion: number }>((resolve) => {
      void tasks.connect().then(async () => {
        await tasks.subscribe({ topic: topicName(job, 'tasks'), fromBeginning: false });
        await tasks.run({
          eachMessage: async ({ message }) => {
            const task = await serde.decode('TrainTask', message.value);
            if (task.workerId === 'silo-0.w0') resolve(task);
          },
        });
      });
    });
    const target = await seen;
    await tasks.disconnect();
    const stolen = forgery('silo-0.w0', target.taskId, target.baseVersion);
    await publish('silo-1', { ...stolen, signature: signUpdate(stolen, keyOf('silo-1')) });

    // The three kinds the issue names, from silo-0's credentials.
    const misattributed = forgery('silo-1.w1', 'task-x1', 0);
    await publish('silo-0', { ...misattributed, signature: signUpdate(misattributed, keyOf('silo-0')) });
    const badSignature = forgery('silo-0.w0', 'task-x2', 0);
    await publish('silo-0', { ...badSignature, signature: { silo: 'silo-0', value: randomBytes(64) } });
    await publish('silo-0', forgery('silo-0.w0', 'task-x3', 0));

    const report = await federation.finished({ timeoutMs: 240_000 });
    expect(report.versions).toBeGreaterThanOrEqual(30);
    expect(report.rejectionsByCode).toMatchObject({
      TRIB_UPDATE_MISATTRIBUTED: 2,
      TRIB_SIGNATURE_INVALID: 1,
      TRIB_UNSIGNED_UPDATE: 1,
    });
    expect(report.updatesRejected).toBe(4);
    const rejected = await federation.readTopic('rejected');
    expect(rejected.map((r) => r.code).sort()).toEqual([
      'TRIB_SIGNATURE_INVALID',
      'TRIB_UNSIGNED_UPDATE',
      'TRIB_UPDATE_MISATTRIBUTED',
      'TRIB_UPDATE_MISATTRIBUTED',
    ]);
    // The honest update with the stolen id was folded after the forgery.
    const events = await federation.readTopic('events');
    const honestId = `silo-0.w0-${target.taskId}`;
    const rejectedAt = events.findIndex((e) => e.type === 'update-rejected' && e.updateId === honestId);
    const foldedAt = events.findIndex((e) => e.type === 'update-folded' && e.updateId === honestId);
    expect(rejectedAt).toBeGreaterThanOrEqual(0);
    expect(foldedAt).toBeGreaterThan(rejectedAt);
    // Every folded update has a record signed by the silo of its worker.
    const updates = await federation.readTopic('updates');
    const foldedIds = new Set(events.filter((e) => e.type === 'update-folded').map((e) => e.updateId));
    expect(foldedIds.size).toBeGreaterThanOrEqual(30);
    for (const id of foldedIds)
      expect(
        updates.some((u) => u.updateId === id && u.signature?.silo === u.workerId.split('.')[0]),
        `${id} signed by its silo`,
      ).toBe(true);
  }, 420_000);
});

describe('no secret in any log line', () => {
  it('scans every process, CLI and broker log of this file for every password and private key', () => {
    const secrets = [...stack.security!.secrets];
    const collect = (dir: string) => {
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
        if (!entry.isFile()) continue;
        const file = join(entry.parentPath, entry.name);
        if (entry.name === 'tributary.env')
          for (const line of readFileSync(file, 'utf8').split('\n'))
            if (line.startsWith('KAFKA_SASL_PASSWORD='))
              secrets.push(line.slice('KAFKA_SASL_PASSWORD='.length));
        if (entry.name === 'signing-key.pem')
          secrets.push(readFileSync(file, 'utf8').split('\n')[1] ?? 'unreadable key');
      }
    };
    for (const dir of bundleDirs) collect(dir);
    expect(secrets.length).toBeGreaterThanOrEqual(5); // super-user, coordinator + 2 silos, keys
    const texts = [...logs];
    if (stack.workDir && existsSync(join(stack.workDir, 'kafka.log')))
      texts.push({ name: 'kafka.log', text: readFileSync(join(stack.workDir, 'kafka.log'), 'utf8') });
    expect(texts.length).toBeGreaterThanOrEqual(6);
    for (const { name, text } of texts)
      for (const secret of secrets) expect(text.includes(secret), `a secret in ${name}`).toBe(false);
  });
});

describe.runIf(containersAvailable().ok)('the other stack path, secured', () => {
  it('starts, enforces SASL and refuses a wrong password', async () => {
    const other = await startStack({
      secure: true,
      mode: stack.mode === 'containers' ? 'local' : 'containers',
    });
    try {
      const good = createKafka({
        brokers: other.brokers,
        clientId: 'it-sec-other',
        security: other.clientSecurity.kafka,
      });
      const admin = good.admin();
      await admin.connect();
      expect((await admin.describeCluster()).brokers).toHaveLength(1);
      await admin.disconnect();
      const sasl = other.clientSecurity.kafka.sasl!;
      const bad = createKafka({
        brokers: other.brokers,
        clientId: 'it-sec-other-bad',
        security: { ...other.clientSecurity.kafka, sasl: { ...sasl, password: 'nope' } },
      }).admin();
      expect(codeOf(await bad.connect().catch((e: unknown) => e))).toBe('TRIB_AUTHENTICATION_FAILED');
      const open = createKafka({
        brokers: other.brokers,
        clientId: 'it-sec-other-open',
        overrides: { retry: { retries: 0 }, connectionTimeout: 3000 },
      }).admin();
      expect(
        await open.connect().then(
          () => 'connected',
          () => 'refused',
        ),
      ).toBe('refused');
    } finally {
      await other.stop();
    }
  }, 240_000);
});
