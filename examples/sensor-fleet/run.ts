/**
 * The sensor-fleet story in one command (`npm run sensor-fleet`), written against Tributary's
 * public API only:
 *
 * 1. a stack (KAFKA_BROKERS + SCHEMA_REGISTRY_URL if set, else startStack()),
 * 2. four plants publishing telemetry to their own topics; mid-run an inner-race bearing fault
 *    appears at plant-0, a kind no plant has seen,
 * 3. the federated job (one worker per plant; plant-2 on slow hardware, plant-3 dropping off the
 *    network and returning) and, in the same run on the same topics, each plant training alone,
 * 4. charts and a summary in runs/sensor-fleet-<time>/.
 *
 * Flags: --seconds N (default 150), --drift-at S (default 40), --no-alone, --out DIR.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFederation, startStack, type Federation, type RunReport } from 'tributary/testing';
import { PLANTS } from './physics.js';
import { startTelemetry, telemetryTopic } from './telemetry.js';
import { summarise, writeCharts } from './summary.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '150' },
    'drift-at': { type: 'string', default: '40' },
    'no-alone': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
const driftAt = Number(values['drift-at']);
if (!(seconds > 0) || !(driftAt >= 0) || driftAt >= seconds) {
  console.error('--seconds must be > 0 and --drift-at in [0, seconds)');
  process.exit(2);
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = values.out ?? join('runs', `sensor-fleet-${stamp}`);
mkdirSync(out, { recursive: true });
const say = (message: string) => console.log(`[sensor-fleet] ${message}`);

/** What each plant's site is like: plant-2 runs on constrained hardware, plant-3 loses its link. */
const SITES: Readonly<Record<string, Record<string, string>>> = {
  'plant-2': { TRIBUTARY_DELAY: 'fixed', TRIBUTARY_DELAY_MULTIPLIER: '4' },
  'plant-3': { TRIBUTARY_OUTAGE_EVERY_MS: '40000', TRIBUTARY_OUTAGE_FOR_MS: '12000' },
};
const siteEnv = (i: number) => {
  const plant = PLANTS[i]?.name ?? `plant-${i}`;
  return { TRIBUTARY_SILO: plant, TRIBUTARY_WORKER_ID: `${plant}-edge`, ...SITES[plant] };
};

const { KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registryUrl } = process.env;
const stack =
  brokers && registryUrl
    ? { brokers: brokers.split(','), registryUrl, stop: async () => undefined }
    : await (say('starting a local stack (Kafka + schema registry)…'), startStack());
const task = fileURLToPath(new URL('./task.ts', import.meta.url));
const startedAtMs = Date.now();
const driftAtMs = startedAtMs + driftAt * 1000;
const telemetry = await startTelemetry({
  brokers: stack.brokers,
  registryUrl: stack.registryUrl,
  plants: PLANTS,
  run: stamp,
  seed: 1,
  tickMs: 250,
  emerging: { plant: 'plant-0', condition: 'inner-race', atMs: driftAtMs, share: 0.6 },
});
say(`plants publishing to ${PLANTS.map((p) => telemetryTopic(p.name, stamp)).join(', ')}`);

const coordinator = { TRIBUTARY_MAX_WALL_SECONDS: String(seconds) };
const jobs: { name: string; federation: Federation }[] = [
  {
    name: 'federated',
    federation: await startFederation({
      stack,
      task,
      workers: PLANTS.length,
      jobId: `fleet-${stamp}`,
      taskConfig: { run: stamp },
      worker: siteEnv,
      coordinator,
      runDir: join(out, 'federated'),
    }),
  },
];
if (!values['no-alone'])
  for (const [i, plant] of PLANTS.entries())
    jobs.push({
      name: `alone ${plant.name}`,
      federation: await startFederation({
        stack,
        task,
        workers: 1,
        jobId: `alone-${plant.name}-${stamp}`,
        taskConfig: { run: stamp },
        worker: () => siteEnv(i),
        // One worker, one update per version: the plant's own model, trained on its own stream.
        coordinator: { ...coordinator, TRIBUTARY_BUFFER_K: '1', TRIBUTARY_CONCURRENCY: '1' },
        runDir: join(out, `alone-${plant.name}`),
      }),
    });
say(`${jobs.length} jobs started; ${seconds} s, the inner-race fault appears at plant-0 after ${driftAt} s`);

const progress = setInterval(() => {
  void jobs[0]?.federation.status().then((status) => {
    const t = Math.round((Date.now() - startedAtMs) / 1000);
    const evaluation = status?.evaluation as Record<string, number> | null | undefined;
    const readings = Object.values(telemetry.published).reduce((a, b) => a + b, 0);
    say(
      `t=${t}s federated version ${String(status?.version ?? '-')}, fleet accuracy ${evaluation?.accuracy?.toFixed(3) ?? '-'}, ${readings} readings published`,
    );
  });
}, 10_000);

let reports: RunReport[];
try {
  reports = await Promise.all(jobs.map((j) => j.federation.finished({ timeoutMs: (seconds + 180) * 1000 })));
} finally {
  clearInterval(progress);
  await telemetry.stop();
  await Promise.all(jobs.map((j) => j.federation.stop()));
  await stack.stop();
}

const [federated, ...alone] = reports;
if (!federated) throw new Error('no federated report');
const summary = summarise({
  federated,
  alone,
  plants: PLANTS.map((p) => p.name),
  startedAtMs,
  driftAtMs,
  telemetry,
});
writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
const charts = writeCharts(out, summary);
writeFileSync(join(out, 'summary.md'), summary.markdown);
console.log(summary.markdown);
say(`wrote ${join(out, 'summary.md')}, ${charts.join(', ')}`);
