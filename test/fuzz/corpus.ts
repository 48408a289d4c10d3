/**
 * A structure-aware corpus of hostile `updates` records, built from the ModelUpdate schema:
 *   - wire lies: one length, count, long, int, union branch or enum index of an honest record
 *     replaced by an extreme value (±2^31, ±2^53, ±2^62, overlong varints, negative block counts);
 *   - value lies: honest records whose fields claim what is not so (example counts, versions,
 *     NaN/∞, scaled deltas, quantisation blocks on the wrong encoding, shapes, ids, keys, chunk
 *     positions, metrics);
 *   - framing lies: wrong magic byte, unknown or wrong-kind schema ids, truncation, trailing bytes;
 *   - noise: byte flips in honest records, and random bytes.
 * Cases are deterministic for a seed. `mustReject` marks the ones no honest worker could send (byte
 * flips and noise may, rarely, still be a valid honest-looking record).
 */
import { frame } from '../../lib/wire/confluent.js';
import { messageType } from '../../lib/wire/schemas.js';
import { seededRandom, type Random } from '../../lib/core/random.js';
import { encodeTraced, spliceSite, varint, type Site } from './avro-trace.js';
import { frameLies, valueLies } from './lies.js';
import { framed, honestUpdate, pick, type CorpusOptions, type HostileCase } from './records.js';

export { honestUpdate, type CorpusOptions, type HostileCase } from './records.js';

const WIRE_VALUES: readonly (number | bigint)[] = [
  -1,
  -2,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 32,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  2n ** 62n,
  -(2n ** 62n),
  2n ** 63n - 1n,
];

/**
 * Whether no honest record can carry this lie: a length, union branch or enum index of these
 * magnitudes never fits a record of this size, nor does a block count of 2^31 or more; an int
 * outside 32 bits or a long beyond 2^53 is never exact. (A plain long such as a timestamp set to
 * 2^31 is a valid value, and must then pass or fail on its meaning.)
 */
function wireLieIsImpossible(site: Site, magnitude: number): boolean {
  switch (site.kind) {
    case 'length':
    case 'branch':
    case 'enum':
      return true;
    case 'count':
      return magnitude >= 2 ** 31 - 1;
    case 'int':
      return magnitude > 2 ** 31;
    default:
      return magnitude > 2 ** 52;
  }
}

function wireLies(options: CorpusOptions, random: Random, count: number): HostileCase[] {
  const type = messageType('ModelUpdate');
  const cases: HostileCase[] = [];
  for (let i = 0; cases.length < count; i++) {
    const encoding = pick(random, ['FLOAT32', 'FLOAT16', 'INT8_AFFINE'] as const);
    const id = `wire-${options.seed}-${i}`;
    const chunked = random() < 0.3;
    const update = honestUpdate(options, id, options.honestNorm, encoding, {
      chunk: chunked
        ? { index: 0, count: 3, offset: 0, totalBytes: 3 * 64, sha256: Buffer.alloc(32, 7) }
        : null,
    });
    const traced = encodeTraced(type, update);
    const site = pick(random, traced.sites) as Site;
    const overlong = random() < 0.1;
    const lie = pick(random, WIRE_VALUES);
    let bytes = spliceSite(
      traced,
      site,
      overlong
        ? Buffer.from([...Array.from({ length: 10 + Math.floor(random() * 6) }, () => 0xff), 0x01])
        : varint(lie),
    );
    let magnitude = Math.abs(Number(lie));
    // A negative block count is followed by a block size in bytes: make that lie too.
    if (site.kind === 'count' && random() < 0.5) {
      const claimed = pick(random, [2 ** 31 - 1, 2 ** 53 - 1]);
      bytes = spliceSite(traced, site, Buffer.concat([varint(-claimed), varint(2 ** 40)]));
      magnitude = claimed;
    }
    cases.push({
      family: 'wire',
      name: `${site.kind} ${site.path} := ${overlong ? 'overlong' : String(lie)}`,
      key: Buffer.from(id),
      value: frame(options.schemaId, bytes),
      mustReject: overlong || wireLieIsImpossible(site, magnitude),
    });
  }
  return cases;
}

function noise(options: CorpusOptions, random: Random, count: number): HostileCase[] {
  const cases: HostileCase[] = [];
  for (let i = 0; i < count; i++) {
    const id = `noise-${options.seed}-${i}`;
    if (i % 3 === 0) {
      const length = Math.floor(random() * 200);
      const payload = Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
      cases.push({
        family: 'noise',
        name: `random ${length} bytes`,
        key: Buffer.from(id),
        value: frame(options.schemaId, payload),
        mustReject: true,
      });
      continue;
    }
    const honest = framed(
      options,
      honestUpdate(
        options,
        id,
        options.honestNorm,
        pick(random, ['FLOAT32', 'FLOAT16', 'INT8_AFFINE'] as const),
      ),
    );
    const flips = 1 + Math.floor(random() * 8);
    for (let f = 0; f < flips; f++) {
      // Flip bytes in the envelope (the first 5 + ~400 bytes), where structure lives.
      const at = 5 + Math.floor(random() * Math.min(400, honest.length - 5));
      honest[at] = (honest[at] as number) ^ (1 << Math.floor(random() * 8));
    }
    cases.push({
      family: 'noise',
      name: `${flips} byte flips`,
      key: Buffer.from(id),
      value: honest,
      mustReject: false,
    });
  }
  return cases;
}

/** About `size` cases: every value and frame lie, then wire lies and noise to fill. */
export function hostileCorpus(options: CorpusOptions, size: number): HostileCase[] {
  const random = seededRandom(options.seed);
  const fixed = [...valueLies(options, random), ...frameLies(options, random)];
  const rest = Math.max(0, size - fixed.length);
  const wire = Math.ceil(rest * 0.7);
  return [...fixed, ...wireLies(options, random, wire), ...noise(options, random, rest - wire)];
}
