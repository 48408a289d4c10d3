/**
 * Splitting a labelled data set among federated clients, deterministically by seed:
 *   iid        a shuffle dealt round-robin;
 *   dirichlet  per class, proportions ~ Dirichlet(α) over clients (Hsu et al. 2019): small α is
 *              very non-IID, large α tends to IID;
 *   shards     sort by label, cut into shardsPerClient × clients shards, deal them at random
 *              (McMahan et al. 2017).
 * Every index lands in exactly one client; each client gets at least `minPerClient` examples.
 */
import { dirichlet, seededRandom, shuffleInPlace, type Random } from './random.js';

export type PartitionSpec =
  | { readonly kind: 'iid' }
  | { readonly kind: 'dirichlet'; readonly alpha: number }
  | { readonly kind: 'shards'; readonly shardsPerClient: number };

export function partition(
  labels: ArrayLike<number>,
  clients: number,
  spec: PartitionSpec,
  seed: number,
  minPerClient = 1,
): number[][] {
  if (!Number.isInteger(clients) || clients < 1) throw new RangeError('clients must be a whole number >= 1');
  if (labels.length < clients * minPerClient)
    throw new RangeError(`${labels.length} examples cannot give ${clients} clients ${minPerClient} each`);
  const random = seededRandom(seed);
  switch (spec.kind) {
    case 'iid':
      return iid(labels.length, clients, random);
    case 'shards':
      return shards(labels, clients, spec.shardsPerClient, random);
    case 'dirichlet':
      // Resample until every client has enough data, as common FL benchmarks do.
      for (let attempt = 0; attempt < 1000; attempt++) {
        const parts = byDirichlet(labels, clients, spec.alpha, random);
        if (parts.every((p) => p.length >= minPerClient)) return parts;
      }
      throw new RangeError(`Dirichlet(${spec.alpha}) could not give every client ${minPerClient} examples`);
  }
}

function iid(n: number, clients: number, random: Random): number[][] {
  const order = shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    random,
  );
  const parts: number[][] = Array.from({ length: clients }, () => []);
  order.forEach((index, i) => parts[i % clients]?.push(index));
  return parts;
}

function byClass(labels: ArrayLike<number>): Map<number, number[]> {
  const classes = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    const list = classes.get(label) ?? [];
    list.push(i);
    classes.set(label, list);
  }
  return new Map([...classes.entries()].sort((a, b) => a[0] - b[0]));
}

function byDirichlet(labels: ArrayLike<number>, clients: number, alpha: number, random: Random): number[][] {
  const parts: number[][] = Array.from({ length: clients }, () => []);
  for (const indices of byClass(labels).values()) {
    shuffleInPlace(indices, random);
    const proportions = dirichlet(alpha, clients, random);
    let start = 0;
    let cumulative = 0;
    proportions.forEach((p, client) => {
      cumulative += p;
      const end = client === clients - 1 ? indices.length : Math.round(cumulative * indices.length);
      parts[client]?.push(...indices.slice(start, end));
      start = end;
    });
  }
  return parts;
}

function shards(
  labels: ArrayLike<number>,
  clients: number,
  shardsPerClient: number,
  random: Random,
): number[][] {
  const sorted = [...byClass(labels).values()].flat();
  const count = clients * shardsPerClient;
  const size = Math.floor(sorted.length / count);
  const shardIds = shuffleInPlace(
    Array.from({ length: count }, (_, i) => i),
    random,
  );
  return Array.from({ length: clients }, (_, client) =>
    shardIds
      .slice(client * shardsPerClient, (client + 1) * shardsPerClient)
      .flatMap((s) => sorted.slice(s * size, s === count - 1 ? sorted.length : (s + 1) * size)),
  );
}
