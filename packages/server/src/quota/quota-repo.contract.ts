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
    expect(await repo.put(rule, 1_000)).toEqual({ ...rule, createdAtMs: 1_000, updatedAtMs: 1_000 });
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
}
