import { expect, it } from 'vitest';
import type { SqlDatabase } from '../platform/sql.js';
import { budgetFrom, budgetInputSchema } from './definition.js';
import { BUDGET_MIGRATIONS, type BudgetEvent, BudgetRepo, eventId } from './repo.js';

export const BUDGETS_STATE_MODULE = { name: 'budgets', stateMigrations: BUDGET_MIGRATIONS };

const input = budgetInputSchema.parse({
  scope: { project: 'shop', model: ['gpt-4o', 'gpt-4o-mini'] },
  period: 'monthly',
  timeZone: 'America/New_York',
  amountUsd: 1000,
  thresholds: [{ kind: 'percent', percent: 80 }, { kind: 'forecast' }, { kind: 'burn-rate', window: '1h', rate: 14.4 }],
});

const event = (budgetId: string, periodStartMs: number, thresholdId: string, atMs: number): BudgetEvent => ({
  id: eventId(budgetId, periodStartMs, thresholdId),
  budgetId,
  projectId: 'shop',
  periodStartMs,
  periodEndMs: periodStartMs + 1_000_000,
  thresholdId,
  kind: 'percent',
  atMs,
  spendUsd: 812.5,
  amountUsd: 1000,
  targetUsd: 800,
  detail: { message: 'spend reached 80%', percentUsed: 81.25 },
});

export function budgetRepoContract(db: () => SqlDatabase): void {
  it('stores, replaces (keeping the creation time), lists per project and deletes budgets', async () => {
    const repo = new BudgetRepo(db());
    const b = budgetFrom('shop-monthly', input, 1_000);
    expect(b.thresholds.map((t) => t.id)).toEqual(['percent-80', 'forecast-100', 'burn-1h-14.4']);
    expect(await repo.create(b, 'shop')).toBe(true);
    expect(await repo.create(b, 'shop')).toBe(false);
    expect(await repo.get('shop-monthly')).toEqual(b);
    const replaced = await repo.put({ ...budgetFrom('shop-monthly', input, 5_000, 1_000), amountUsd: 2000 }, 'shop');
    expect(replaced).toMatchObject({ amountUsd: 2000, createdAtMs: 1_000, updatedAtMs: 5_000 });
    await repo.put(budgetFrom('all', { ...input, scope: {}, thresholds: undefined }, 2_000), null);
    expect((await repo.list()).map((x) => x.id)).toEqual(['all', 'shop-monthly']);
    expect((await repo.list('shop')).map((x) => x.id)).toEqual(['shop-monthly']);
    expect((await repo.list('other')).map((x) => x.id)).toEqual([]);
    expect((await repo.get('all'))?.thresholds.map((t) => t.id)).toEqual(['percent-50', 'percent-80', 'percent-100']);
    expect(await repo.count()).toBe(2);
    await repo.insertEvent(event('shop-monthly', 100, 'percent-80', 150));
    await repo.putStatus('shop-monthly', 150, { spendUsd: 812.5 });
    expect(await repo.delete('shop-monthly')).toBe(true);
    expect(await repo.delete('shop-monthly')).toBe(false);
    expect(await repo.events('shop-monthly', { limit: 10 })).toEqual([]);
    expect(await repo.status('shop-monthly')).toBeNull();
  });

  it('records a crossing once per threshold and period, lists events newest first and by period', async () => {
    const repo = new BudgetRepo(db());
    expect(await repo.insertEvent(event('b', 100, 'percent-80', 150))).toBe(true);
    expect(await repo.insertEvent(event('b', 100, 'percent-80', 160))).toBe(false);
    expect(await repo.insertEvent(event('b', 100, 'percent-100', 170))).toBe(true);
    expect(await repo.insertEvent(event('b', 2_000_000, 'percent-80', 2_000_100))).toBe(true);
    const all = await repo.events('b', { limit: 10 });
    expect(all.map((e) => [e.periodStartMs, e.thresholdId, e.atMs])).toEqual([
      [2_000_000, 'percent-80', 2_000_100],
      [100, 'percent-100', 170],
      [100, 'percent-80', 150],
    ]);
    expect(all[2]).toEqual(event('b', 100, 'percent-80', 150));
    expect((await repo.events('b', { limit: 10, periodStartMs: 100 })).length).toBe(2);
    expect((await repo.events('b', { limit: 1 })).length).toBe(1);
    // Periods still open at an instant: the first ended at 1_000_100.
    expect((await repo.openPeriodEvents(1_500_000)).map((e) => e.periodStartMs)).toEqual([2_000_000]);
  });

  it('keeps the latest status per budget', async () => {
    const repo = new BudgetRepo(db());
    await repo.putStatus('a', 1, { spendUsd: 1 });
    await repo.putStatus('a', 2, { spendUsd: 2.5 });
    await repo.putStatus('b', 2, { spendUsd: 7 });
    expect(await repo.status('a')).toEqual({ spendUsd: 2.5 });
    expect([...(await repo.statuses()).entries()].sort()).toEqual([
      ['a', { spendUsd: 2.5 }],
      ['b', { spendUsd: 7 }],
    ]);
  });
}
