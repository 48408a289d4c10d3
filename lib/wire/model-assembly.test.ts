import { describe, expect, it } from 'vitest';
import { modelLayout, splitFlat } from '../core/fedbuff/layout.js';
import { ModelAssembler } from './model-assembly.js';
import { tensorsOf, toRecords } from './records.js';
import type { GlobalModel } from './schemas.js';

const layout = modelLayout('m', [{ name: 'w', shape: [100] }]);

function version(v: number, chunkBytes = 128): GlobalModel[] {
  return toRecords<GlobalModel>(
    {
      jobId: 'j',
      version: v,
      manifest: { architectureId: 'm', tensorNames: ['w'], shapes: [[100]], dtypes: ['FLOAT32'] },
      metrics: {},
      foldedUpdateIds: [],
      publishedAtMs: 0,
    },
    splitFlat(layout, new Float32Array(100).fill(v)),
    'FLOAT32',
    chunkBytes,
  );
}

const wholes = (assembler: ModelAssembler, records: GlobalModel[]) =>
  records.flatMap((r) => {
    const { outcome } = assembler.accept(r);
    return outcome.kind === 'whole' ? [outcome.model.version] : [];
  });

describe('ModelAssembler (regression: chunks keyed <job>#i were reassembled by key and never completed)', () => {
  it('reassembles consecutive chunked versions, and passes whole records through', () => {
    const assembler = new ModelAssembler(400);
    const records = [...version(1), ...version(2), ...version(3, 1 << 20)];
    expect(version(1)).toHaveLength(4);
    expect(wholes(assembler, records)).toEqual([1, 2, 3]);
    let model: GlobalModel | undefined;
    for (const r of version(4)) {
      const { outcome } = assembler.accept(r);
      if (outcome.kind === 'whole') model = outcome.model;
    }
    expect(tensorsOf(model as GlobalModel)[0]?.values[7]).toBe(4);
  });

  it('skips the tail of a version whose first chunk it never saw (compaction, a late start), then reads the next', () => {
    const assembler = new ModelAssembler(400);
    const tail = version(5).slice(2);
    expect(tail.map((r) => assembler.accept(r).outcome.kind)).toEqual(['skipped', 'skipped']);
    expect(wholes(assembler, version(6))).toEqual([6]);
  });

  it('reports a version that starts and breaks off, or fails its hash, and still reads the next', () => {
    const assembler = new ModelAssembler(400);
    const broken = version(7).slice(0, 2);
    for (const r of broken) expect(assembler.accept(r).outcome.kind).toBe('partial');
    const [next, ...rest] = version(8);
    const first = assembler.accept(next as GlobalModel);
    expect(first.ended).toMatchObject({ kind: 'broken', version: 7, error: { code: 'TRIB_CHUNK_MISSING' } });
    expect(wholes(assembler, rest)).toEqual([8]);

    const corrupt = version(9);
    const flipped = corrupt[3] as GlobalModel;
    corrupt[3] = { ...flipped, data: Buffer.from(flipped.data.map((b) => b ^ 1)) };
    const outcomes = corrupt.map((r) => assembler.accept(r).outcome);
    expect(outcomes.at(-1)).toMatchObject({
      kind: 'broken',
      version: 9,
      error: { code: 'TRIB_CHUNK_CORRUPT' },
    });
  });

  it('refuses a model larger than the reader expects before holding it', () => {
    const assembler = new ModelAssembler(100);
    expect(assembler.accept(version(1)[0] as GlobalModel).outcome).toMatchObject({
      kind: 'broken',
      error: { code: 'TRIB_CHUNK_CORRUPT' },
    });
  });
});
