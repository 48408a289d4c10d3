import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkAssembler, chunkViews, splitIntoChunks, type Chunk } from './chunking.js';
import { WireError } from './errors.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof WireError ? error.code : `not a WireError: ${String(error)}`;
  }
  return undefined;
}

describe('splitIntoChunks', () => {
  it('keeps a payload that fits in one chunk', () => {
    const data = randomBytes(100);
    const chunks = splitIntoChunks(data, 100);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.info).toMatchObject({ index: 0, count: 1, offset: 0, totalBytes: 100 });
  });

  it('splits into ordered chunks no larger than the maximum', () => {
    const chunks = splitIntoChunks(randomBytes(1001), 250);
    expect(chunks.map((c) => [c.info.index, c.info.offset, c.data.length])).toEqual([
      [0, 0, 250],
      [1, 250, 250],
      [2, 500, 250],
      [3, 750, 250],
      [4, 1000, 1],
    ]);
  });

  it('handles an empty payload as one empty chunk', () => {
    const assembler = new ChunkAssembler();
    const [only] = splitIntoChunks(new Uint8Array(0), 10);
    expect(assembler.add('k', only as Chunk)).toEqual({ complete: true, data: new Uint8Array(0) });
  });
});

describe('chunkViews', () => {
  it('slices without copying, and the slices put back together are the payload', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 120 }), (data, max) => {
        const views = chunkViews(data, max);
        expect(views.length).toBe(Math.max(1, Math.ceil(data.length / max)));
        expect(views.every((v) => v.length <= max && v.buffer === data.buffer)).toBe(true);
        expect(Buffer.concat(views)).toEqual(Buffer.from(data));
      }),
    );
  });

  it('refuses a chunk size below one byte', () => {
    expect(() => chunkViews(new Uint8Array(4), 0)).toThrow(RangeError);
    expect(() => chunkViews(new Uint8Array(4), Number.NaN)).toThrow(RangeError);
  });
});

describe('ChunkAssembler', () => {
  it('reassembles interleaved payloads of several keys, byte for byte', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 700 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.infiniteStream(fc.nat()),
        (specs, picks) => {
          const payloads = specs.map(([size]) => new Uint8Array(randomBytes(size)));
          const queues = specs.map(([, max], i) => splitIntoChunks(payloads[i] as Uint8Array, max));
          const assembler = new ChunkAssembler();
          const done = new Map<number, Uint8Array>();
          const iterator = picks[Symbol.iterator]();
          while (queues.some((q) => q.length > 0)) {
            const open = queues.map((q, i) => [q, i] as const).filter(([q]) => q.length > 0);
            const [queue, key] = open[
              (iterator.next().value as number) % open.length
            ] as (typeof open)[number];
            const result = assembler.add(`u${key}`, queue.shift() as Chunk);
            if (result.complete) done.set(key, result.data);
          }
          expect(done.size).toBe(payloads.length);
          payloads.forEach((p, i) =>
            expect(Buffer.from(done.get(i) as Uint8Array).equals(Buffer.from(p))).toBe(true),
          );
          expect(assembler.pendingKeys).toEqual([]);
        },
      ),
    );
  });

  it('detects a missing chunk and drops the partial payload', () => {
    const chunks = splitIntoChunks(randomBytes(30), 10);
    const assembler = new ChunkAssembler();
    assembler.add('u', chunks[0] as Chunk);
    expect(codeOf(() => assembler.add('u', chunks[2] as Chunk))).toBe('TRIB_CHUNK_MISSING');
    expect(assembler.pendingKeys).toEqual([]);
  });

  it('detects a payload whose first chunk never came', () => {
    const chunks = splitIntoChunks(randomBytes(30), 10);
    expect(codeOf(() => new ChunkAssembler().add('u', chunks[1] as Chunk))).toBe('TRIB_CHUNK_MISSING');
  });

  it('detects a duplicated chunk', () => {
    const chunks = splitIntoChunks(randomBytes(30), 10);
    const assembler = new ChunkAssembler();
    assembler.add('u', chunks[0] as Chunk);
    assembler.add('u', chunks[1] as Chunk);
    expect(codeOf(() => assembler.add('u', chunks[1] as Chunk))).toBe('TRIB_CHUNK_DUPLICATE');
  });

  it('detects a corrupt chunk through the content hash', () => {
    const chunks = splitIntoChunks(randomBytes(30), 10);
    const flipped = Uint8Array.from(chunks[1]?.data as Uint8Array);
    flipped[3] = (flipped[3] as number) ^ 0xff;
    const assembler = new ChunkAssembler();
    assembler.add('u', chunks[0] as Chunk);
    assembler.add('u', { info: chunks[1]?.info as Chunk['info'], data: flipped });
    expect(codeOf(() => assembler.add('u', chunks[2] as Chunk))).toBe('TRIB_CHUNK_CORRUPT');
    expect(assembler.pendingKeys).toEqual([]);
  });

  it('detects a corrupt single-chunk payload', () => {
    const [chunk] = splitIntoChunks(randomBytes(30), 100);
    const data = Uint8Array.from(chunk?.data as Uint8Array);
    data[0] = (data[0] as number) ^ 1;
    expect(codeOf(() => new ChunkAssembler().add('u', { info: chunk?.info as Chunk['info'], data }))).toBe(
      'TRIB_CHUNK_CORRUPT',
    );
  });

  it('detects chunks that disagree with the first on count or hash', () => {
    const a = splitIntoChunks(randomBytes(30), 10);
    const b = splitIntoChunks(randomBytes(30), 10);
    const assembler = new ChunkAssembler();
    assembler.add('u', a[0] as Chunk);
    expect(codeOf(() => assembler.add('u', b[1] as Chunk))).toBe('TRIB_CHUNK_CORRUPT');
  });

  it('refuses payloads beyond its memory budget', () => {
    const chunks = splitIntoChunks(randomBytes(300), 100);
    expect(codeOf(() => new ChunkAssembler({ maxPendingBytes: 200 }).add('u', chunks[0] as Chunk))).toBe(
      'TRIB_REASSEMBLY_BUDGET',
    );
  });

  it('refuses a payload larger than the largest allowed before allocating it', () => {
    const chunks = splitIntoChunks(randomBytes(300), 100);
    const assembler = new ChunkAssembler({ maxPayloadBytes: 299 });
    expect(codeOf(() => assembler.add('u', chunks[0] as Chunk))).toBe('TRIB_CHUNK_CORRUPT');
    expect(assembler.heldBytes).toBe(0);
  });

  it('refuses first chunks whose count, offset or size cannot be true', () => {
    const [first] = splitIntoChunks(randomBytes(300), 100);
    const info = (first as Chunk).info;
    const data = (first as Chunk).data;
    const lies: Partial<Chunk['info']>[] = [
      { count: 2 ** 31 - 1 }, // more chunks than bytes
      { totalBytes: 2 ** 60 }, // not exact
      { offset: 5 },
      { count: 1.5 },
      { sha256: new Uint8Array(3) },
    ];
    for (const lie of lies) {
      const assembler = new ChunkAssembler();
      expect(codeOf(() => assembler.add('u', { info: { ...info, ...lie }, data }))).toBe(
        'TRIB_CHUNK_CORRUPT',
      );
      expect(assembler.pendingKeys).toEqual([]);
    }
    expect(codeOf(() => new ChunkAssembler().add('u', { info, data: new Uint8Array(0) }))).toBe(
      'TRIB_CHUNK_CORRUPT',
    );
  });

  it('holds at most maxPending payloads, and maxPendingPerOwner per owner, and frees budget on drop', () => {
    const payloads = Array.from({ length: 4 }, () => splitIntoChunks(randomBytes(30), 10));
    const first = (i: number) => (payloads[i] as Chunk[])[0] as Chunk;
    const perOwner = new ChunkAssembler({ maxPending: 10, maxPendingPerOwner: 2 });
    perOwner.add('a', first(0), 'mallory');
    perOwner.add('b', first(1), 'mallory');
    expect(codeOf(() => perOwner.add('c', first(2), 'mallory'))).toBe('TRIB_REASSEMBLY_BUDGET');
    perOwner.add('c', first(2), 'alice'); // another owner still has room
    expect(perOwner.drop('a')).toBe(true);
    perOwner.add('d', first(3), 'mallory'); // dropping gave the owner's slot back
    expect(perOwner.pendingKeys.sort()).toEqual(['b', 'c', 'd']);
    expect(perOwner.heldBytes).toBe(90);

    const total = new ChunkAssembler({ maxPending: 2 });
    total.add('a', first(0), 'x');
    total.add('b', first(1), 'y');
    expect(codeOf(() => total.add('c', first(2), 'z'))).toBe('TRIB_REASSEMBLY_BUDGET');
    // completing one frees its slot
    for (const chunk of (payloads[0] as Chunk[]).slice(1)) total.add('a', chunk, 'x');
    expect(total.add('c', first(2), 'z')).toEqual({ complete: false });
  });
});
