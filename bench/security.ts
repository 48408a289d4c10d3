/**
 * What signed updates cost: signing on the worker and verifying on the coordinator, per update, at
 * 10 k, 100 k, 1 M and 10 M parameters (FLOAT32: 4 bytes each), beside what the update path does
 * anyway at that size, measured in the same run.
 *
 * Signing = SHA-256 of the whole payload + one Ed25519 signature over ~200 bytes of identity;
 * verifying = the same hash + one Ed25519 verification. The hash grows with the model, the
 * signature does not, so the physical reference is SHA-256's throughput on this CPU (measured on
 * 64 MiB) and the fixed part is Ed25519's. The update path's own work is encoding the delta into
 * its records (toRecords, which already hashes chunked payloads) and decoding it back.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeLineChart } from '../lib/chart.js';
import { splitFlat, modelLayout } from '../lib/core/fedbuff/layout.js';
import { DEFAULT_CHUNK_BYTES } from '../lib/core/limits.js';
import {
  generateSiloKeyPair,
  loadSigningKey,
  parseSiloKeys,
  signRecords,
  VerifiedSignatures,
  verifyUpdate,
} from '../lib/security/signing.js';
import { toRecords } from '../lib/wire/records.js';
import type { ModelUpdate } from '../lib/wire/schemas.js';
import { machine, median, RESULTS_DIR, table, timeRuns, writeResult } from './common.js';

const SIZES = [10_000, 100_000, 1_000_000, 10_000_000];

interface Row {
  readonly params: number;
  readonly records: number;
  readonly signMicros: number;
  readonly verifyMicros: number;
  /** Of verifying: the Ed25519 part alone (a one-record update's hash excluded). */
  readonly hashMicros: number;
  readonly encodeMicros: number;
  readonly signOverEncode: number;
  readonly hashGBs: number;
}

export async function runSecurity(): Promise<void> {
  const pair = generateSiloKeyPair();
  const key = loadSigningKey('site-0', pair.privateKeyPem);
  const policy = { keys: parseSiloKeys(JSON.stringify({ 'site-0': pair.publicKeyPem })), required: true };
  const probe = Buffer.alloc(64 << 20, 7);
  const hashGBs = probe.length / median(timeRuns(() => createHash('sha256').update(probe).digest(), 7)) / 1e9;
  console.log(JSON.stringify({ bench: 'security', sha256GBs: hashGBs.toFixed(2) }));
  const rows: Row[] = [];
  for (const params of SIZES) {
    const layout = modelLayout('bench', [{ name: 'w', shape: [params] }]);
    const delta = new Float32Array(params).map((_, i) => Math.sin(i) * 1e-3);
    const base = {
      updateId: 'site-0.w0-t1',
      taskId: 't1',
      jobId: 'bench',
      workerId: 'site-0.w0',
      baseVersion: 3,
      numExamples: 640,
      metrics: { loss: 0.5 },
      timings: { startedAtMs: 0, finishedAtMs: 1 },
      signature: null,
    };
    const encode = () =>
      toRecords<ModelUpdate>(base, splitFlat(layout, delta), 'FLOAT32', DEFAULT_CHUNK_BYTES);
    const records = encode();
    const signed = signRecords(records, key);
    const repeats = params >= 10_000_000 ? 7 : params >= 1_000_000 ? 25 : 200;
    const encodeSeconds = median(timeRuns(encode, repeats));
    const signSeconds = median(timeRuns(() => signRecords(records, key), repeats));
    // The coordinator checks every record of an update (each chunk carries the signature), with a
    // fresh cache per update as in its intake: one Ed25519 verification per update.
    const verifySeconds = median(
      timeRuns(() => {
        const verified = new VerifiedSignatures();
        for (const r of signed) verifyUpdate(r, policy, verified);
      }, repeats),
    );
    const hashSeconds = median(
      timeRuns(() => createHash('sha256').update(records[0]!.data).digest(), repeats),
    );
    const row: Row = {
      params,
      records: records.length,
      signMicros: signSeconds * 1e6,
      verifyMicros: verifySeconds * 1e6,
      hashMicros: records.length === 1 ? hashSeconds * 1e6 : 0,
      encodeMicros: encodeSeconds * 1e6,
      signOverEncode: signSeconds / encodeSeconds,
      hashGBs,
    };
    rows.push(row);
    console.log(JSON.stringify({ bench: 'security', ...row }));
  }
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const markdown = [
    '# Signed updates: the cost of signing and verifying',
    '',
    'Ed25519 over the update identity and the SHA-256 of its payload (FLOAT32 deltas; `npm run bench -- security`).',
    `SHA-256 on this CPU: ${hashGBs.toFixed(2)} GB/s (64 MiB, node:crypto). Medians.`,
    '',
    table(
      ['parameters', 'records', 'sign µs', 'verify µs (all records)', 'encode µs', 'sign ÷ encode'],
      rows.map((r) => [
        r.params.toLocaleString('en'),
        r.records,
        fmt(r.signMicros),
        fmt(r.verifyMicros),
        fmt(r.encodeMicros),
        r.signOverEncode.toFixed(2),
      ]),
    ),
    '',
    'A one-record update is hashed once by the signer and once by the verifier; a chunked update',
    "reuses the whole-payload hash the chunker already computed (the signer's cost is then Ed25519",
    'alone), and the coordinator verifies the signature over that claimed hash once per update (the',
    'other chunks repeat the same signed bytes), which reassembly then checks against the bytes.',
    '',
    `Machine: ${JSON.stringify(machine().cpuModel)}, ${machine().cores} cores.`,
  ].join('\n');
  writeResult('security', { machine: machine(), rows }, markdown);
  writeLineChart(join(RESULTS_DIR, 'security'), {
    title: 'Signed updates: µs per update against model size (FLOAT32)',
    xLabel: 'parameters (log10)',
    yLabel: 'µs per update (log10)',
    series: [
      {
        label: 'sign (worker)',
        points: rows.map((r) => ({ x: Math.log10(r.params), y: Math.log10(r.signMicros) })),
      },
      {
        label: 'verify (coordinator)',
        points: rows.map((r) => ({ x: Math.log10(r.params), y: Math.log10(r.verifyMicros) })),
      },
      {
        label: 'encode the update (for scale)',
        points: rows.map((r) => ({ x: Math.log10(r.params), y: Math.log10(r.encodeMicros) })),
      },
    ],
    notes: [
      `SHA-256 at ${hashGBs.toFixed(2)} GB/s on this CPU; Ed25519 sign/verify is a fixed cost per update.`,
    ],
  });
  console.log(markdown);
}
