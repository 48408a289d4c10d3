import type { Producer, Transaction } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { spacedTransactions } from './spaced-transactions.js';

/**
 * A producer whose transactions commit or abort as asked, counting the transactions begun and when
 * each commit or abort settled (before the spacing's own clock reads it, however loaded the host).
 */
function producerOf(options: { commitFails?: boolean } = {}) {
  const begun: number[] = [];
  const settled: number[] = [];
  const producer = {
    connect: async () => undefined,
    transaction: async (): Promise<Transaction> => {
      begun.push(performance.now());
      return {
        send: async () => [],
        sendBatch: async () => [],
        sendOffsets: async () => undefined,
        commit: async () => {
          settled.push(performance.now());
          if (options.commitFails) throw new Error('fenced');
        },
        abort: async () => void settled.push(performance.now()),
        isActive: () => true,
      };
    },
  } as unknown as Producer;
  return { producer, begun, settled };
}

describe('spacedTransactions', () => {
  const GAP_MS = 40;

  it('begins a transaction no sooner than the gap after the last commit, and at once after that', async () => {
    const { producer, begun, settled } = producerOf();
    const spaced = spacedTransactions(producer, GAP_MS);
    const first = await spaced.transaction();
    await first.commit();
    const second = await spaced.transaction();
    // Gaps from when the commit and the abort settled, as in the failed-commit test below.
    expect(begun[1]! - settled[0]!).toBeGreaterThanOrEqual(GAP_MS - 2);
    await second.abort(); // an abort's markers are written after it too
    await new Promise((resolve) => setTimeout(resolve, GAP_MS + 10));
    const asked = performance.now();
    await spaced.transaction();
    expect(begun[2]! - asked).toBeLessThan(GAP_MS / 2);
    expect(begun[2]! - settled[1]!).toBeGreaterThanOrEqual(GAP_MS);
  });

  it('counts a failed commit as the end of its transaction, and passes its error on', async () => {
    const { producer, begun, settled } = producerOf({ commitFails: true });
    const spaced = spacedTransactions(producer, GAP_MS);
    await expect((await spaced.transaction()).commit()).rejects.toThrow(/fenced/);
    await spaced.transaction();
    // From the failure itself: a time read after the test's own awaits comes later by as much as
    // the host delays them (2.5 ms on a loaded CI run), and the gap then looks short.
    expect(begun[1]! - settled[0]!).toBeGreaterThanOrEqual(GAP_MS - 2);
  });

  it('leaves the rest of the producer as it was', async () => {
    const { producer } = producerOf();
    const spaced = spacedTransactions(producer, GAP_MS);
    expect(spaced.connect).toBe(producer.connect);
    expect(spaced.transaction).not.toBe(producer.transaction);
  });
});
