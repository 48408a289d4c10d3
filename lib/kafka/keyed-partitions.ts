/**
 * Records addressed to one reader (a task to the worker it is leased to) go to the partition of the
 * reader's key, and the reader reads only that partition: what a worker reads grows with the tasks
 * of its partition, not with every task of the fleet. The partition is Kafka's default for the key
 * (murmur2, as Java's and librdkafka's `murmur2_random` partitioners compute it), so any client that
 * produces with the key and its default partitioner agrees, and a reader in any language can find
 * its partition (docs/protocol.md).
 */
import kafkajs, { type PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

/** Kafka's murmur2 of `key` (Utils.murmur2 in the Java client), as a signed 32-bit integer. */
export function murmur2(key: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = key.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k =
      (key[i]! & 0xff) |
      ((key[i + 1]! & 0xff) << 8) |
      ((key[i + 2]! & 0xff) << 16) |
      ((key[i + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= (key[whole + 2]! & 0xff) << 16;
  if (tail >= 2) h ^= (key[whole + 1]! & 0xff) << 8;
  if (tail >= 1) h = Math.imul(h ^ (key[whole]! & 0xff), m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner gives a record keyed `key` among `partitions`. */
export function partitionOfKey(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError('partitions must be a whole number >= 1');
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

/** The sorted partitions that hold the records of `keys`. */
export function partitionsOfKeys(keys: Iterable<string>, partitions: number): number[] {
  const wanted = new Set<number>();
  for (const key of keys) wanted.add(partitionOfKey(key, partitions));
  return [...wanted].sort((a, b) => a - b);
}

/**
 * A group assigner that gives the group's first member (by member id) exactly `partitions` of every
 * subscribed topic, and any other member nothing: a group of one reader that reads only its own
 * partitions. (kafkajs has no manual assignment; a group keeps the reader's offsets, as before.)
 */
export function ownPartitionsAssigner(partitions: readonly number[]): PartitionAssigner {
  const name = 'TributaryOwnPartitions';
  return () => ({
    name,
    version: 0,
    assign({ members, topics }) {
      const first = members.map((m) => m.memberId).sort()[0];
      const own = Object.fromEntries(topics.map((topic) => [topic, [...partitions]]));
      return Promise.resolve(
        members.map(({ memberId }) => ({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 0,
            assignment: memberId === first ? own : {},
            userData: Buffer.alloc(0),
          }),
        })),
      );
    },
    protocol({ topics }) {
      return {
        name,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}
