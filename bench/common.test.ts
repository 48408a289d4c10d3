import { describe, expect, it } from 'vitest';
import { mergeOrders } from './common.js';

describe('mergeOrders', () => {
  it('keeps the first list as it is and adds a later list’s new names after their predecessor there', () => {
    const old = ['delivered', 'in Kafka', 'folded', 'step'];
    const newer = ['delivered', 'in Kafka', 'queued', 'folded', 'step'];
    expect(mergeOrders([old, newer])).toEqual(['delivered', 'in Kafka', 'queued', 'folded', 'step']);
    expect(mergeOrders([newer, old])).toEqual(newer);
  });

  it('puts a new first name first, a name after an unknown one last, and each name once', () => {
    expect(
      mergeOrders([
        ['b', 'c'],
        ['a', 'b'],
        ['x', 'y'],
        ['c', 'c'],
      ]),
    ).toEqual(['a', 'b', 'c', 'x', 'y']);
    expect(mergeOrders([])).toEqual([]);
  });
});
