/**
 * The Python worker of examples/python-worker (confluent-kafka, fastavro, NumPy; written from
 * docs/protocol.md) joins a job as a peer of a TypeScript worker: the `models` topic shows updates
 * of both folded, the Python worker's in FLOAT32 (chunked, in a transaction) and FLOAT16, and none
 * is rejected. One Python worker writes ModelUpdate v1, unsigned, beside a TypeScript worker signing
 * v3: the schema evolution of signed updates, on a job where signatures are known but not required.
 * A second writes v3 (its default), with when each task and its model arrived. A Python worker whose
 * launcher is SIGKILLed stops by itself. Their virtual environment comes from PyPI on first use.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { generateSiloKeyPair } from '../../lib/security/signing.js';
import { messageType, SCHEMA_DIR } from '../../lib/wire/schemas.js';
import { startFederation, type Federation } from '../../lib/testing/index.js';
import { ServiceProcess, waitFor } from '../../lib/testing/process.js';
import { isAlive } from './processes.js';
import { scratchDir } from '../support/scratch.js';
import { PYTHON_WORKER, pythonWorkerInterpreter } from '../../examples/python-worker/interpreter.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/python-worker/', import.meta.url));
let federation: Federation | undefined;
let pythons: ServiceProcess[] = [];
afterEach(async () => {
  await Promise.all(pythons.map((p) => p.kill('SIGTERM')));
  const dir = process.env.TRIBUTARY_IT_LOG_DIR;
  if (dir) for (const p of pythons) writeFileSync(join(dir, `python-worker-${p.name}.log`), p.output);
  pythons = [];
  if (dir && federation)
    for (const p of [federation.coordinator, ...federation.workers])
      writeFileSync(join(dir, `python-job-${p.name}-${p.child.pid}.log`), p.output);
  await federation?.stop();
});

describe('a worker in Python', () => {
  it("reads a model record's version without decoding it, and holds only the newest four versions", () => {
    // Records as the coordinator's serde writes them (the wire contract's fixture, other versions).
    const type = messageType('GlobalModel');
    const hex = readFileSync(join(SCHEMA_DIR, 'fixtures', 'global-model.v1.hex'), 'utf8').replace(/\s+/g, '');
    const fixture = type.fromBuffer(Buffer.from(hex, 'hex')) as object;
    const wire = (version: number) =>
      Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), type.toBuffer({ ...fixture, version })]);
    const versions = [0, 1, 63, 64, 2 ** 40];
    const script = [
      'import importlib.util, json, sys',
      "spec = importlib.util.spec_from_file_location('worker', sys.argv[1])",
      'w = importlib.util.module_from_spec(spec); spec.loader.exec_module(w)',
      'data = json.load(sys.stdin)',
      "peeked = [w.peek_version(bytes.fromhex(h)) for h in data['records']]",
      'refused = []',
      "for h in data['bad']:",
      '    try: w.peek_version(bytes.fromhex(h))',
      '    except ValueError: refused.append(h)',
      "schema = w.parse_schema(w.without_logical_types(json.load(open(data['schema']))), named_schemas={})",
      'models = w.Models()',
      "for v in range(10): models.hold(v, b'x')",
      'taken = models.take(7)',
      "print(json.dumps({'peeked': peeked, 'refused': len(refused), 'leads': w.leads_with_version(schema),",
      "                  'held': sorted(models.held), 'taken': len(taken), 'again': len(models.take(7))}))",
    ].join('\n');
    const input = {
      records: versions.map((v) => wire(v).toString('hex')),
      // Cut inside jobId, inside the version, and a varint that never ends.
      bad: [
        wire(5).subarray(0, 7),
        wire(300).subarray(0, 12),
        Buffer.from('00000000078080808080808080808080', 'hex'),
      ].map((b) => b.toString('hex')),
      schema: join(SCHEMA_DIR, 'global-model.v1.avsc'),
    };
    const run = spawnSync(pythonWorkerInterpreter(), ['-c', script, PYTHON_WORKER], {
      input: JSON.stringify(input),
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(result).toEqual({
      peeked: versions,
      refused: 3,
      leads: true,
      held: [6, 8, 9],
      taken: 1,
      again: 0,
    });
  });

  it('stops with the parent it is given, and ignores a pid that is alive but not its parent', () => {
    const dead = spawnSync('true').pid as number;
    const script = [
      'import importlib.util, json, sys',
      "spec = importlib.util.spec_from_file_location('worker', sys.argv[1])",
      'w = importlib.util.module_from_spec(spec); spec.loader.exec_module(w)',
      'class Stub: stopping = False',
      'stub = Stub()',
      "w.stop_with_parent(1, stub)  # alive, and not this process's parent: inherited, so not watched",
      "print(json.dumps({'stopping': stub.stopping}), flush=True)",
      'w.stop_with_parent(int(sys.argv[2]), stub, grace_seconds=0)  # gone: stops, then exits 1',
    ].join('\n');
    const run = spawnSync(pythonWorkerInterpreter(), ['-c', script, PYTHON_WORKER, String(dead)], {
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(1);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event?: string; stopping?: boolean });
    expect(events).toEqual([
      expect.objectContaining({ event: 'parent-pid-not-parent', parentPid: 1 }),
      { stopping: false },
      expect.objectContaining({ event: 'parent-gone', parentPid: dead }),
    ]);
  });

  it('trains beside a TypeScript worker: updates of both are folded, FLOAT32 chunked and FLOAT16, v1 unsigned beside v3 signed', async () => {
    const interpreter = pythonWorkerInterpreter();
    const stack = { brokers: inject('brokers'), registryUrl: inject('registryUrl') };
    // The TypeScript worker signs its updates (ModelUpdate v3) with silo-0's key; the Python workers
    // send theirs unsigned (py-0 as ModelUpdate v1). Signatures are known but not required.
    const keys = scratchDir('mixed-signatures');
    const pair = generateSiloKeyPair();
    writeFileSync(join(keys, 'silo-0.pem'), pair.privateKeyPem);
    writeFileSync(join(keys, 'silo-keys.json'), JSON.stringify({ 'silo-0': pair.publicKeyPem }));
    federation = await startFederation({
      stack,
      task: join(EXAMPLE, 'task.ts'),
      workers: 1,
      // Synchronous rounds of all three workers: the two NumPy workers are much faster than the
      // TF.js one, and under FedBuff they could reach maxVersions before its first update arrived.
      // The TF.js worker is leased a task in the first round, as are the others.
      coordinator: {
        TRIBUTARY_SILO_KEYS_FILE: join(keys, 'silo-keys.json'),
        TRIBUTARY_REQUIRE_SIGNATURES: 'false',
        TRIBUTARY_STRATEGY: 'fedavg',
        TRIBUTARY_CONCURRENCY: '3',
        TRIBUTARY_BUFFER_K: '3',
        TRIBUTARY_MIN_WORKERS: '3',
      },
      worker: () => ({ TRIBUTARY_SIGNING_KEY_FILE: join(keys, 'silo-0.pem') }),
    });
    const jobId = federation.jobId;
    // Started once version 0 is committed, the Python workers find it to read before checking in
    // (asserted below); started sooner (their imports are quick once cached), they find none. The
    // status says version 0 before its step commits, so the coordinator's log is what tells.
    const coordinator = federation.coordinator;
    await waitFor(() => coordinator.output.includes('"initial-model-published"') || undefined, {
      timeoutMs: 120_000,
      what: 'version 0 published',
    });
    await federation.waitForVersion(0);
    pythons = [
      // ModelUpdate v1 (the worker writes v3 by default): an older writer beside a newer one.
      ['py-0', '2', '1'],
      ['py-1', '3', '3'],
    ].map(
      ([id, seed, schema]) =>
        new ServiceProcess(
          id as string,
          [
            PYTHON_WORKER,
            ...['--job', jobId, '--worker-id', id as string, '--silo', 'py-site', '--seed', seed as string],
            // 131 weights: 524 bytes in FLOAT32 (two chunks of at most 300), 262 in FLOAT16 (one record).
            ...['--encodings', 'FLOAT32,FLOAT16', '--max-chunk-bytes', '300', '--check-in-seconds', '1'],
            ...['--update-schema', schema as string],
          ],
          { KAFKA_BROKERS: stack.brokers.join(','), SCHEMA_REGISTRY_URL: stack.registryUrl },
          interpreter,
        ),
    );

    const report = await federation.finished({ timeoutMs: 200_000 }).catch((error: Error) => {
      // The coordinator's output alone does not say which worker it waited for.
      const workers = federation?.workers.map((w) => `${w.name}: ${w.output.slice(-1500)}`) ?? [];
      const python = pythons.map((p) => `${p.name}: ${p.output.slice(-1500)}`);
      error.message += `\nPython workers' last output:\n${python.join('\n')}\n${workers.join('\n')}`;
      throw error;
    });
    // Each Python worker started after version 0 was published, and checked in holding it
    // (protocol: read the models there are before the first check-in).
    const started = pythons.flatMap(
      (p) => p.events('worker-started') as unknown as { workerId: string; models: number[] }[],
    );
    expect(started.map((s) => s.workerId).sort()).toEqual(['py-0', 'py-1']);
    for (const { models } of started) expect(models).toContain(0);
    expect(report.stopReason).toBe('max-versions');
    expect(report.updatesRejected).toBe(0);
    expect(report.finalAccuracy).toBeGreaterThan(0.85);

    const models = await federation.readTopic('models');
    const folded = models.flatMap((m) => m.foldedUpdateIds);
    // Every round folds K = 3 updates: usually one of each worker, but not always (a lease that is
    // cancelled or expires frees its slot for another worker; CI saw a round of 0, 2 and 1).
    const rounds = models.filter((m) => m.foldedUpdateIds.length > 0);
    expect(rounds.length).toBe(report.versions);
    expect(rounds.every((m) => m.foldedUpdateIds.length === 3)).toBe(true);
    const fromTypeScript = folded.filter((id) => id.startsWith('w0-'));
    const fromPython = folded.filter((id) => id.startsWith('py-0-'));
    expect(fromTypeScript.length).toBeGreaterThan(0);
    expect(fromPython.length).toBeGreaterThan(0);

    const updates = await federation.readTopic('updates');
    const records = updates.filter((u) => u.workerId === 'py-0');
    const chunked32 = records.filter((u) => u.tensors[0]?.encoding === 'FLOAT32' && u.chunk !== null);
    const whole16 = records.filter((u) => u.tensors[0]?.encoding === 'FLOAT16' && u.chunk === null);
    expect(chunked32.length).toBeGreaterThan(0);
    expect(whole16.length).toBeGreaterThan(0);
    expect(chunked32.every((u) => u.chunk?.count === 2)).toBe(true);
    // v1 and v3 side by side: both versions registered under one subject, py-0's records unsigned
    // (read back as v3 with signature null), the TypeScript worker's signed by its silo.
    expect(records.every((u) => u.signature === null)).toBe(true);
    expect(records.every((u) => u.timings.taskReceivedAtMs === null)).toBe(true); // v1 has no such field
    // v3 from Python: when each task arrived and its model was ready, as the TypeScript worker says.
    const v3 = updates.filter((u) => u.workerId === 'py-1');
    expect(v3.length).toBeGreaterThan(0);
    expect(folded.some((id) => id.startsWith('py-1-'))).toBe(true);
    for (const { timings: t } of v3) {
      expect(t.taskReceivedAtMs).not.toBeNull();
      expect(t.modelReadyAtMs).toBeGreaterThanOrEqual(t.taskReceivedAtMs as number);
      expect(t.startedAtMs).toBeGreaterThanOrEqual(t.modelReadyAtMs as number);
    }
    const typescript = updates.filter((u) => u.workerId === 'w0');
    expect(typescript.length).toBeGreaterThan(0);
    expect(typescript.every((u) => u.signature?.silo === 'silo-0' && u.signature.value.length === 64)).toBe(
      true,
    );
    const subject = `${encodeURIComponent(`tributary.${federation.jobId}.updates-value`)}`;
    const versions = (await (
      await fetch(`${stack.registryUrl}/subjects/${subject}/versions`)
    ).json()) as number[];
    expect(versions.length).toBe(2);
    // Folded ones of each kind: the coordinator reassembled and decoded what Python wrote.
    expect(fromPython.some((id) => chunked32.some((u) => u.updateId === id))).toBe(true);
    expect(fromPython.some((id) => whole16.some((u) => u.updateId === id))).toBe(true);
    console.log(
      JSON.stringify({
        test: 'python-worker',
        versions: report.versions,
        foldedTypeScript: fromTypeScript.length,
        foldedPython: fromPython.length,
        finalAccuracy: report.finalAccuracy,
      }),
    );
  });

  it('stops, leaving its group the orderly way, when the process that launched it is SIGKILLed', async () => {
    const interpreter = pythonWorkerInterpreter();
    const stack = { brokers: inject('brokers'), registryUrl: inject('registryUrl') };
    federation = await startFederation({ stack, task: join(EXAMPLE, 'task.ts'), workers: 0 });
    const coordinator = federation.coordinator;
    await waitFor(() => coordinator.output.includes('"initial-model-published"') || undefined, {
      timeoutMs: 120_000,
      what: 'version 0 published',
    });
    // The launcher writes the worker's output to a file of its own, which outlives the launcher.
    const dir = scratchDir('python-launcher');
    const logFile = join(dir, 'worker.log');
    const launcher = [
      "const { spawn } = require('node:child_process');",
      "const { openSync } = require('node:fs');",
      `const out = openSync(${JSON.stringify(logFile)}, 'a');`,
      `const child = spawn(${JSON.stringify(interpreter)}, [${JSON.stringify(PYTHON_WORKER)}, '--job', ${JSON.stringify(federation.jobId)}, '--worker-id', 'py-orphan', '--silo', 'py-site', '--check-in-seconds', '1'],`,
      "  { env: { ...process.env, TRIBUTARY_PARENT_PID: String(process.pid) }, stdio: ['ignore', out, out] });",
      'console.log(String(child.pid)); setInterval(() => {}, 1000);',
    ].join('\n');
    const parent = spawn(process.execPath, ['-e', launcher], {
      env: { ...process.env, KAFKA_BROKERS: stack.brokers.join(','), SCHEMA_REGISTRY_URL: stack.registryUrl },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let said = '';
    parent.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
    const pid = await waitFor(() => (said.includes('\n') ? Number(said.trim()) : undefined), {
      what: "the Python worker's pid",
    });
    try {
      const output = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
      await waitFor(() => output().includes('"worker-started"') || undefined, {
        timeoutMs: 60_000,
        what: 'the Python worker to start',
      });

      parent.kill('SIGKILL');
      await waitFor(() => (isAlive(pid) ? undefined : true), {
        timeoutMs: 10_000,
        what: `the Python worker to stop after its launcher was killed (its output: ${output().slice(-1000)})`,
      });
      expect(output()).toContain('"event":"parent-gone"');
      expect(output()).toContain('"event":"worker-stopped"');
    } finally {
      // A worker that did not stop would be an orphan of this test too.
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      parent.kill('SIGKILL');
    }
  });
});
