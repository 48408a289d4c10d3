/**
 * The Python worker of examples/python-worker (confluent-kafka, fastavro, NumPy; written from
 * docs/protocol.md) joins a job as a peer of a TypeScript worker: the `models` topic shows updates
 * of both folded, the Python worker's in FLOAT32 (chunked, in a transaction) and FLOAT16, and none
 * is rejected. It writes ModelUpdate v1, unsigned, beside a TypeScript worker signing v2: the schema
 * evolution of signed updates, on a job where signatures are known but not required. Its virtual
 * environment comes from PyPI on first use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { generateSiloKeyPair } from '../../lib/security/signing.js';
import { startFederation, type Federation } from '../../lib/testing/index.js';
import { PYTHON_WORKER, pythonWorkerInterpreter } from '../../examples/python-worker/interpreter.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/python-worker/', import.meta.url));
let federation: Federation | undefined;
let python: ChildProcess | undefined;
let pythonOutput = '';
afterEach(async () => {
  python?.kill('SIGTERM');
  const dir = process.env.TRIBUTARY_IT_LOG_DIR;
  if (dir) writeFileSync(join(dir, 'python-worker.log'), pythonOutput);
  if (dir && federation)
    for (const p of [federation.coordinator, ...federation.workers])
      writeFileSync(join(dir, `python-job-${p.name}-${p.child.pid}.log`), p.output);
  await federation?.stop();
});

describe('a worker in Python', () => {
  it('trains beside a TypeScript worker: updates of both are folded, FLOAT32 chunked and FLOAT16, v1 unsigned beside v2 signed', async () => {
    const interpreter = pythonWorkerInterpreter();
    const stack = { brokers: inject('brokers'), registryUrl: inject('registryUrl') };
    // The TypeScript worker signs its updates (ModelUpdate v2) with silo-0's key; the Python worker,
    // written against ModelUpdate v1, sends them unsigned. Signatures are known but not required.
    const keys = mkdtempSync(join(tmpdir(), 'mixed-signatures-'));
    const pair = generateSiloKeyPair();
    writeFileSync(join(keys, 'silo-0.pem'), pair.privateKeyPem);
    writeFileSync(join(keys, 'silo-keys.json'), JSON.stringify({ 'silo-0': pair.publicKeyPem }));
    federation = await startFederation({
      stack,
      task: join(EXAMPLE, 'task.ts'),
      workers: 1,
      coordinator: {
        TRIBUTARY_SILO_KEYS_FILE: join(keys, 'silo-keys.json'),
        TRIBUTARY_REQUIRE_SIGNATURES: 'false',
      },
      worker: () => ({ TRIBUTARY_SIGNING_KEY_FILE: join(keys, 'silo-0.pem') }),
    });
    python = spawn(
      interpreter,
      [
        PYTHON_WORKER,
        ...['--job', federation.jobId, '--worker-id', 'py-0', '--silo', 'py-site', '--seed', '2'],
        // 131 weights: 524 bytes in FLOAT32 (two chunks of at most 300), 262 in FLOAT16 (one record).
        ...['--encodings', 'FLOAT32,FLOAT16', '--max-chunk-bytes', '300', '--check-in-seconds', '1'],
      ],
      {
        env: {
          ...process.env,
          KAFKA_BROKERS: stack.brokers.join(','),
          SCHEMA_REGISTRY_URL: stack.registryUrl,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const append = (chunk: Buffer) => (pythonOutput += chunk.toString());
    python.stdout?.on('data', append);
    python.stderr?.on('data', append);

    const report = await federation.finished({ timeoutMs: 200_000 });
    expect(report.stopReason).toBe('max-versions');
    expect(report.updatesRejected).toBe(0);
    expect(report.finalAccuracy).toBeGreaterThan(0.85);

    const folded = (await federation.readTopic('models')).flatMap((m) => m.foldedUpdateIds);
    const fromTypeScript = folded.filter((id) => id.startsWith('w0-'));
    const fromPython = folded.filter((id) => id.startsWith('py-0-'));
    expect(fromTypeScript.length).toBeGreaterThan(0);
    expect(fromPython.length).toBeGreaterThan(0);

    const records = (await federation.readTopic('updates')).filter((u) => u.workerId === 'py-0');
    const chunked32 = records.filter((u) => u.tensors[0]?.encoding === 'FLOAT32' && u.chunk !== null);
    const whole16 = records.filter((u) => u.tensors[0]?.encoding === 'FLOAT16' && u.chunk === null);
    expect(chunked32.length).toBeGreaterThan(0);
    expect(whole16.length).toBeGreaterThan(0);
    expect(chunked32.every((u) => u.chunk?.count === 2)).toBe(true);
    // v1 and v2 side by side: both versions registered under one subject, Python's records unsigned
    // (read back as v2 with signature null), the TypeScript worker's signed by its silo.
    expect(records.every((u) => u.signature === null)).toBe(true);
    const typescript = (await federation.readTopic('updates')).filter((u) => u.workerId === 'w0');
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
});
