import { describe, expect, it } from 'vitest';
import { RestartBudget } from './restarts.js';

describe('restart budget', () => {
  it('waits 1 s, doubling to 30 s, and gives up after 10 in a row', () => {
    const budget = new RestartBudget();
    const delays = Array.from({ length: 11 }, (_, i) => budget.next(i * 1000));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000, null]);
    expect(budget.count).toBe(10);
  });
  it('forgives failures more than 5 minutes apart', () => {
    const budget = new RestartBudget();
    expect(budget.next(0)).toBe(1000);
    expect(budget.next(1000)).toBe(2000);
    expect(budget.next(1000 + 5 * 60_000 + 1)).toBe(1000);
    expect(budget.count).toBe(1);
  });
});
