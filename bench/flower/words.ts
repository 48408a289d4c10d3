/**
 * bench flower's sentences that depend on how the runs were made: how Flower chose its cohorts,
 * what Tributary's FedBuff served, and in what order the systems ran.
 */
import type { Engine } from '../tta.js';
import type { Cohorts, TtaResult } from './report.js';

/** How Flower's cohorts were chosen, in the fairness sentence's words. */
export function cohortWords(cohorts: Cohorts): string {
  return cohorts === 'rotation'
    ? "the same cohorts (Flower's client manager in bench/flower/run.py chooses as Tributary's coordinator leases: least recently chosen first, ties by index)"
    : "cohorts that a seed fixes (Flower's drawn by a seeded client manager in bench/flower/run.py, where flwr's own draws with Python's unseeded random; Tributary's least recently leased)";
}

/** With the same cohorts, why the two systems' curves coincide; nothing for drawn cohorts. */
export function samePathWords(cohorts: Cohorts): string[] {
  if (cohorts !== 'rotation') return [];
  return [
    "Same path: each Flower client is seeded as Tributary's Python worker of its index (its shuffles and its delays), so with the same cohorts Flower and Tributary with NumPy workers train the same clients in the same rounds with the same shuffles and delays, and reach each accuracy in the same round (the per-seed table): what differs is the time a round. With drawn cohorts (BENCH_FLOWER_COHORTS=random) the rounds to 0.90 differed by seed between the systems, which dominated the comparison.",
    '',
  ];
}

/**
 * Where Tributary's FedBuff served the moving average of its versions (its rows score that model,
 * as every FedAvg row scores the round's): '' where no FedBuff run did.
 */
export function servedAverageWords(tributary: readonly { bench: string; result: TtaResult }[]): string {
  const averaged = tributary.flatMap(({ bench, result }) => {
    const beta = Number(result.parameters?.strategies?.fedbuff?.TRIBUTARY_SERVED_AVERAGE ?? 0);
    return beta > 0 ? [`β = ${beta} in bench ${bench}`] : [];
  });
  return averaged.length > 0
    ? ` Tributary's FedBuff serves the moving average of its versions (TRIBUTARY_SERVED_AVERAGE, ${averaged.join(', ')}), and its rows score that model; every FedAvg row, Flower's and Tributary's, scores each round's model.`
    : '';
}

/** How the runs were ordered: which Tributary results alternated with Flower's, which were run apart. */
export function orderWords(
  tributary: readonly { engine: Engine; bench: string }[],
  alternatedWith: readonly Engine[] | null,
): string {
  const alternated = tributary.filter((t) => alternatedWith?.includes(t.engine)).map((t) => t.bench);
  const apart = tributary.filter((t) => !alternatedWith?.includes(t.engine)).map((t) => t.bench);
  return [
    alternated.length > 0
      ? `Order: seed by seed, Flower's run and Tributary's (${alternated.join(', ')}) in turn, in an order that rotates each seed, on one stack started once (after one unmeasured FedBuff run, which warms the broker's JIT), so a change in the machine's speed during the sitting falls on every system alike (BENCH_FLOWER_ALTERNATE). Tributary's broker and registry stay up, idle, while Flower runs: their CPU shows in Flower's row of the CPU table.`
      : '',
    apart.length > 0
      ? `${alternated.length > 0 ? '' : 'Order: '}Tributary's ${apart.join(' and ')} ${apart.length > 1 ? 'were' : 'was'} run apart from Flower's runs, at another time, so a change in the machine's speed between them falls on one side (BENCH_FLOWER_ALTERNATE runs them in turn).`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}
