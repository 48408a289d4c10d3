/**
 * `npm run bench -- <name>`: fold | pipeline | tta | flower | backends | all. Each writes bench/results/<name>.json and
 * a markdown summary (and a chart where a curve tells more). Benchmarks print figures; they never
 * assert on time.
 */
const name = process.argv[2] ?? 'all';
const benches: Record<string, () => Promise<void>> = {
  fold: async () => (await import('./fold.js')).runFold(),
  pipeline: async () => (await import('./pipeline.js')).runPipeline(),
  tta: async () => (await import('./tta.js')).runTimeToAccuracy(),
  backends: async () => (await import('./backends.js')).runBackends(),
  flower: async () => (await import('./flower.js')).runFlowerComparison(),
};

async function main(): Promise<void> {
  const selected = name === 'all' ? Object.keys(benches) : [name];
  for (const bench of selected) {
    const run = benches[bench];
    if (!run) {
      console.error(`unknown benchmark "${bench}"; choose one of: ${Object.keys(benches).join(', ')}, all`);
      process.exit(2);
    }
    await run();
  }
  process.exit(0);
}

void main();
