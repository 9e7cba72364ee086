import { expect, it } from 'vitest';
import type { SqlDatabase } from '../platform/sql.js';
import type { QuotaRule } from './quota-core.js';
import { QUOTA_MIGRATIONS, QuotaRepo } from './quota-repo.js';

export const QUOTA_STATE_MODULE = { name: 'quota', stateMigrations: QUOTA_MIGRATIONS };

export function quotaRepoContract(db: () => SqlDatabase): void {
  const rule: QuotaRule = {
    id: 'per-user-tokens',
    description: 'each user 100k tokens an hour',
    scope: { project: 'shop', user: '*' },
    metric: 'tokens',
    limit: 100_000,
    windowMs: 3_600_000,
    window: 'sliding',
    enabled: true,
  };

  it('stores, replaces, lists and deletes quota rules', async () => {
    const repo = new QuotaRepo(db());
    expect(await repo.put(rule, 1_000)).toEqual({ ...rule, createdAtMs: 1_000, updatedAtMs: 1_000, expiresAtMs: null });
    await repo.put(
      { ...rule, id: 'cost', metric: 'costUsd', limit: 12.5, scope: { model: 'gpt-4o' }, window: 'fixed' },
      2_000,
    );
    const replaced = await repo.put({ ...rule, limit: 5_000, enabled: false }, 3_000);
    expect(replaced).toMatchObject({ limit: 5_000, enabled: false, createdAtMs: 1_000, updatedAtMs: 3_000 });
    const all = await repo.list();
    expect(all.map((r) => [r.id, r.limit, r.metric])).toEqual([
      ['cost', 12.5, 'costUsd'],
      ['per-user-tokens', 5_000, 'tokens'],
    ]);
    expect((await repo.get('cost'))?.scope).toEqual({ model: 'gpt-4o' });
    expect(await repo.delete('cost')).toBe(true);
    expect(await repo.delete('cost')).toBe(false);
    expect(await repo.get('cost')).toBeNull();
  });

  it('keeps when a rule ends, and deletes ended rules by id prefix', async () => {
    const repo = new QuotaRepo(db());
    const block = {
      ...rule,
      scope: { project: 'shop' },
      metric: 'requests' as const,
      limit: 0,
      window: 'fixed' as const,
    };
    await repo.put({ ...block, id: 'budget.shop.percent-100', expiresAtMs: 5_000 }, 1_000);
    await repo.put({ ...block, id: 'budget.shop.burn-1h-14.4', expiresAtMs: 9_000 }, 1_000);
    await repo.put({ ...block, id: 'budget.shopping.percent-100', expiresAtMs: 5_000 }, 1_000);
    await repo.put({ ...block, id: 'manual', expiresAtMs: 5_000 }, 1_000);
    expect((await repo.get('budget.shop.percent-100'))?.expiresAtMs).toBe(5_000);
    expect(await repo.deleteExpired('budget.shop.', 4_999)).toEqual([]);
    expect(await repo.deleteExpired('budget.shop.', 5_000)).toEqual(['budget.shop.percent-100']);
    expect((await repo.list()).map((r) => r.id)).toEqual([
      'budget.shop.burn-1h-14.4',
      'budget.shopping.percent-100',
      'manual',
    ]);
    expect(await repo.deletePrefix('budget.shop.')).toBe(1);
    expect((await repo.list()).map((r) => r.id)).toEqual(['budget.shopping.percent-100', 'manual']);
  });
}
