/**
 * `npm run bench -- <name>`: fold | pipeline | step | tta | tta-numpy | flower | backends | guard | large-model | fashion | ingest | security | fleet | failover | kafkajs-idle | warm-up | all. Each writes
 * bench/results/<name>.json and a markdown summary (and a chart where a curve tells more).
 * Benchmarks print figures; they never assert on time. `--render` (tta, tta-numpy, flower, guard,
 * fleet, pipeline) redraws the summary and chart from the saved JSON without running anything.
 */
const name = process.argv[2] ?? 'all';
const renderOnly = process.argv.includes('--render');
const renderers: Record<string, () => Promise<void>> = {
  tta: async () => (await import('./tta/report.js')).renderTimeToAccuracy(),
  'tta-numpy': async () => (await import('./tta/report.js')).renderTimeToAccuracy('numpy'),
  flower: async () => (await import('./flower/report.js')).renderFlowerComparison(),
  guard: async () => (await import('./guard.js')).renderGuard(),
  fleet: async () => (await import('./fleet.js')).renderFleet(),
  pipeline: async () => (await import('./pipeline.js')).renderPipeline(),
};
const benches: Record<string, () => Promise<void>> = {
  fold: async () => (await import('./fold.js')).runFold(),
  pipeline: async () => (await import('./pipeline.js')).runPipeline(),
  tta: async () => (await import('./tta.js')).runTimeToAccuracy(),
  'tta-numpy': async () => (await import('./tta.js')).runTimeToAccuracy('numpy'),
  backends: async () => (await import('./backends.js')).runBackends(),
  flower: async () => (await import('./flower.js')).runFlowerComparison(),
  guard: async () => (await import('./guard.js')).runGuard(),
  'large-model': async () => (await import('./large-model.js')).runLargeModel(),
  fashion: async () => (await import('./fashion.js')).runFashion(),
  ingest: async () => (await import('./ingest.js')).runIngest(),
  security: async () => (await import('./security.js')).runSecurity(),
  fleet: async () => (await import('./fleet.js')).runFleet(),
  failover: async () => (await import('./failover.js')).runFailover(),
  step: async () => (await import('./step.js')).runStep(),
  'kafkajs-idle': async () => (await import('./kafkajs-idle.js')).runKafkajsIdle(),
  'warm-up': async () => (await import('./warm-up.js')).runWarmUp(),
};

async function main(): Promise<void> {
  const selected = name === 'all' ? Object.keys(benches) : [name];
  for (const bench of selected) {
    const run = renderOnly ? renderers[bench] : benches[bench];
    if (!run) {
      const choices = renderOnly ? Object.keys(renderers) : [...Object.keys(benches), 'all'];
      console.error(
        `unknown benchmark "${bench}"${renderOnly ? ' to render' : ''}; choose one of: ${choices.join(', ')}`,
      );
      process.exit(2);
    }
    await run();
  }
  process.exit(0);
}

void main();
