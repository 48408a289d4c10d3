import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2, ownPartitionsAssigner, partitionOfKey, partitionsOfKeys } from './keyed-partitions.js';

const { Partitioners, AssignerProtocol } = kafkajs;

describe('keyed partitions', () => {
  it('agrees with the Java client on known murmur2 values', () => {
    // Values from Kafka's UtilsTest.testMurmur2.
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key))).toBe(hash);
  });

  it('picks the partition kafkajs’s default partitioner picks, for many keys and counts', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    for (const count of [1, 2, 3, 4, 7, 32, 100]) {
      const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
        partitionId,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (let i = 0; i < 500; i++) {
        const key = i % 3 === 0 ? `w${i}` : `plant-${i}.gateway-${String(i * 7919).padStart(4, '0')}é`;
        const expected = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
        expect(partitionOfKey(key, count)).toBe(expected);
      }
    }
  });

  it('spreads keys over the partitions and refuses a count that is not a whole number >= 1', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `fleet.w${i}`);
    const counts = new Array<number>(32).fill(0);
    for (const key of keys) counts[partitionOfKey(key, 32)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(10);
    expect(Math.max(...counts)).toBeLessThan(60);
    expect(partitionsOfKeys(['a', 'a', 'b'], 1)).toEqual([0]);
    expect(partitionsOfKeys(keys, 32)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => partitionOfKey('a', bad)).toThrow(RangeError);
  });

  it('assigns the own partitions of every topic to the first member only', async () => {
    const assigner = ownPartitionsAssigner([3, 5])({} as never);
    const assigned = await assigner.assign({
      members: [
        { memberId: 'm-b', memberMetadata: Buffer.alloc(0) },
        { memberId: 'm-a', memberMetadata: Buffer.alloc(0) },
      ],
      topics: ['tasks', 'evaluation-tasks'],
    });
    const decoded = Object.fromEntries(
      assigned.map((a) => [
        a.memberId,
        AssignerProtocol.MemberAssignment.decode(a.memberAssignment)?.assignment,
      ]),
    );
    expect(decoded).toEqual({ 'm-a': { tasks: [3, 5], 'evaluation-tasks': [3, 5] }, 'm-b': {} });
    const protocol = assigner.protocol({ topics: ['tasks'] });
    expect(AssignerProtocol.MemberMetadata.decode(protocol.metadata)?.topics).toEqual(['tasks']);
  });
});
