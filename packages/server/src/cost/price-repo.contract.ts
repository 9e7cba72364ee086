/**
 * The price book's state contract: run on DuckDB (`price-repo.test.ts`) and PostgreSQL
 * (`price-repo.cluster.test.ts`) by `describeStateSql`.
 */
import { type CostCall, emptyRawUsage, FakeClock, normaliseUsage, type PriceEntry, priceCall } from '@reskpoints/core';
import { expect, it } from 'vitest';
import type { SqlDatabase } from '../platform/sql.js';
import { loadCatalogue } from './catalogue.js';
import { COST_MIGRATIONS, PriceRepo } from './price-repo.js';
import { PriceService } from './price-service.js';

/** What the state test databases are migrated with (the cost module's tables). */
export const COST_STATE_MODULE = { name: 'cost', stateMigrations: COST_MIGRATIONS };

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1);

const entry = (id: string, input: number, over: Partial<PriceEntry> = {}): Omit<PriceEntry, 'version'> => ({
  id,
  provider: 'openai',
  match: [{ kind: 'exact', value: 'house-model' }],
  effectiveFromMs: 0,
  projectId: null,
  origin: 'user',
  rates: {
    inputPerMtokUsd: input,
    outputPerMtokUsd: 0,
    cacheReadPerMtokUsd: null,
    cacheWritePerMtokUsd: null,
    cacheWrite1hPerMtokUsd: null,
    reasoningPerMtokUsd: null,
    requestUsd: 0,
  },
  contextTiers: [],
  serviceTiers: {},
  ...over,
});

function call(model: string, atMs: number, projectId = 'shop', provider = 'openai'): CostCall {
  const raw = { ...emptyRawUsage('input-includes-cached'), inputTokens: 1_000_000, outputTokens: 0 };
  return {
    provider,
    model,
    requestModel: null,
    startTimeMs: atMs,
    usageRaw: raw,
    usage: normaliseUsage(raw),
    metadata: {},
    projectId,
    promptExcerpt: null,
    responseExcerpt: null,
    operation: 'chat',
  };
}

const rates = (input: number) => ({ inputPerMtokUsd: input, outputPerMtokUsd: 0 });

export function priceRepoContract(db: () => SqlDatabase): void {
  it('keeps every version of an entry and numbers them in order', async () => {
    const repo = new PriceRepo(db());
    const r0 = await repo.revision();
    const [a] = await repo.append([{ entry: entry('house', 1), createdBy: 'admin' }], T0);
    const [b] = await repo.append([{ entry: entry('house', 2, { effectiveFromMs: T0 + DAY }) }], T0 + 1);
    expect(a).toMatchObject({ ok: true, version: { versionNumber: 1, entry: { version: '1' } } });
    expect(b).toMatchObject({ ok: true, version: { versionNumber: 2 } });
    const history = await repo.history('house');
    expect(history.map((v) => [v.versionNumber, v.entry.rates.inputPerMtokUsd, v.createdAtMs, v.createdBy])).toEqual([
      [1, 1, T0, 'admin'],
      [2, 2, T0 + 1, null],
    ]);
    expect(history[1]?.entry).toEqual({ ...entry('house', 2, { effectiveFromMs: T0 + DAY }), version: '2' });
    expect(await repo.revision()).toBe(r0 + 2);
    expect(await repo.history('nothing')).toEqual([]);
  });

  it('checks existence in the same transaction as the write', async () => {
    const repo = new PriceRepo(db());
    expect((await repo.append([{ entry: entry('e', 1), expect: 'live' }], T0))[0]).toMatchObject({
      ok: false,
      reason: 'missing',
    });
    await repo.append([{ entry: entry('e', 1), expect: 'absent-or-deleted' }], T0);
    expect((await repo.append([{ entry: entry('e', 1), expect: 'absent-or-deleted' }], T0))[0]).toMatchObject({
      ok: false,
      reason: 'exists',
    });
    await repo.append([{ entry: entry('e', 1), deleted: true }], T0);
    expect((await repo.append([{ entry: entry('e', 3), expect: 'absent-or-deleted' }], T0))[0]).toMatchObject({
      ok: true,
      version: { versionNumber: 3 },
    });
  });

  it('numbers concurrent writes to one entry without a clash', async () => {
    const repo = new PriceRepo(db());
    const results = await Promise.all([1, 2, 3, 4].map((n) => repo.append([{ entry: entry('busy', n) }], T0)));
    expect(results.every((r) => r[0]?.ok)).toBe(true);
    expect((await repo.history('busy')).map((v) => v.versionNumber)).toEqual([1, 2, 3, 4]);
  });

  it('stores aliases per scope and replaces them', async () => {
    const repo = new PriceRepo(db());
    await repo.setAlias({ projectId: null, name: 'Prod-Chat', model: 'gpt-4o' }, T0);
    await repo.setAlias({ projectId: 'shop', name: 'prod-chat', model: 'gpt-4o-mini' }, T0);
    await repo.setAlias({ projectId: null, name: 'prod-chat', model: 'gpt-4o-2024-11-20' }, T0);
    expect(await repo.aliases()).toEqual([
      { projectId: null, name: 'prod-chat', model: 'gpt-4o-2024-11-20' },
      { projectId: 'shop', name: 'prod-chat', model: 'gpt-4o-mini' },
    ]);
    expect(await repo.deleteAlias('prod-chat', 'shop', T0)).toBe(true);
    expect(await repo.deleteAlias('prod-chat', 'shop', T0)).toBe(false);
    expect(await repo.aliases()).toHaveLength(1);
  });

  it('prices with user entries over the catalogue, each call at the version of its time', async () => {
    const clock = new FakeClock(T0);
    const service = await PriceService.open({ repo: new PriceRepo(db()), catalogue: loadCatalogue(), clock });
    const created = await service.create(
      { provider: 'openai', match: [{ kind: 'prefix', value: 'gpt-4o' }], rates: rates(1), effectiveFrom: T0 },
      'admin',
    );
    expect(created).toMatchObject({
      ok: true,
      value: { entry: { id: 'openai/gpt-4o-override', version: '1' }, readOnly: false },
    });
    const dup = await service.create(
      { id: 'openai/gpt-4o-override', provider: 'openai', model: 'x', rates: rates(1) },
      'admin',
    );
    expect(dup).toMatchObject({ ok: false, error: { code: 'RP_CONFLICT' } });

    // A price change effective tomorrow: today's calls keep version 1.
    clock.advance(1000);
    const updated = await service.update(
      'openai/gpt-4o-override',
      { provider: 'openai', match: [{ kind: 'prefix', value: 'gpt-4o' }], rates: rates(3), effectiveFrom: T0 + DAY },
      'admin',
    );
    expect(updated.ok).toBe(true);
    const before = priceCall(call('gpt-4o-2024-08-06', T0 + 5000), service.book);
    const after = priceCall(call('gpt-4o-2024-08-06', T0 + 2 * DAY), service.book);
    expect([before.totalUsd, before.priceVersion, after.totalUsd, after.priceVersion]).toEqual([1, '1', 3, '2']);
    // Before the entry existed, the catalogue's price applies (gpt-4o: $2.50 per 1M input).
    expect(priceCall(call('gpt-4o-2024-08-06', T0 - DAY), service.book)).toMatchObject({
      totalUsd: 2.5,
      priceId: 'openai/gpt-4o',
    });

    const history = await service.history('openai/gpt-4o-override');
    expect(history.ok && history.value.map((h) => h.entry.rates.inputPerMtokUsd)).toEqual([1, 3]);

    expect(await service.delete('openai/gpt-4o-override', 'admin')).toMatchObject({ ok: true });
    expect(priceCall(call('gpt-4o-2024-08-06', T0 + 2 * DAY), service.book).priceId).toBe('openai/gpt-4o');
    const afterDelete = await service.history('openai/gpt-4o-override');
    expect(afterDelete.ok && afterDelete.value.map((h) => h.deleted)).toEqual([false, false, true]);
    expect(service.get('openai/gpt-4o-override')).toMatchObject({ ok: false, error: { code: 'RP_NOT_FOUND' } });
    expect(
      await service.update('openai/gpt-4o-override', { provider: 'openai', model: 'x', rates: rates(1) }, null),
    ).toMatchObject({
      ok: false,
      error: { code: 'RP_NOT_FOUND' },
    });
  });

  it('refuses to change catalogue entries and lists them read-only', async () => {
    const service = await PriceService.open({
      repo: new PriceRepo(db()),
      catalogue: loadCatalogue(),
      clock: new FakeClock(T0),
    });
    expect(
      await service.update('openai/gpt-4o', { provider: 'openai', model: 'gpt-4o', rates: rates(1) }, null),
    ).toMatchObject({
      ok: false,
      error: { code: 'RP_CONFLICT' },
    });
    expect(await service.delete('openai/gpt-4o', null)).toMatchObject({ ok: false, error: { code: 'RP_CONFLICT' } });
    const listed = service.list({ provider: 'openai', model: 'gpt-4o-2024-08-06' });
    expect(listed.map((i) => [i.entry.id, i.readOnly])).toEqual([['openai/gpt-4o', true]]);
    const o3 = await service.history('openai/o3');
    expect(o3.ok && o3.value.map((h) => h.entry.rates.inputPerMtokUsd)).toEqual([10, 2]);
  });

  it('per-project overrides and aliases apply to their project only', async () => {
    const service = await PriceService.open({
      repo: new PriceRepo(db()),
      catalogue: loadCatalogue(),
      clock: new FakeClock(T0),
    });
    await service.create(
      { provider: '*', model: 'house-model', projectId: 'shop', rates: rates(4), effectiveFrom: 0 },
      'admin',
    );
    await service.setAlias({ projectId: 'shop', name: 'prod-chat', model: 'gpt-4o-mini' });
    expect(priceCall(call('house-model', T0), service.book)).toMatchObject({
      totalUsd: 4,
      priceId: 'shop:house-model',
    });
    expect(priceCall(call('house-model', T0, 'other'), service.book).totalUsd).toBeNull();
    expect(priceCall(call('prod-chat', T0, 'shop', 'azure'), service.book)).toMatchObject({ totalUsd: 0.15 });
    expect(priceCall(call('prod-chat', T0, 'other', 'azure'), service.book).totalUsd).toBeNull();
    expect(service.list({ projectId: 'shop' }).map((i) => i.entry.id)).toEqual(['shop:house-model']);
  });

  it('imports a LiteLLM file, and a second import writes new versions', async () => {
    const clock = new FakeClock(T0);
    const service = await PriceService.open({ repo: new PriceRepo(db()), catalogue: loadCatalogue(), clock });
    const doc = {
      'house-model': { litellm_provider: 'openai', input_cost_per_token: 5e-6, output_cost_per_token: 1e-5 },
    };
    expect(await service.importLiteLlm(doc, { projectId: null, effectiveFrom: T0 }, 'admin')).toMatchObject({
      ok: true,
      value: { created: 1, updated: 0 },
    });
    clock.advance(DAY);
    const cheaper = {
      'house-model': { litellm_provider: 'openai', input_cost_per_token: 4e-6, output_cost_per_token: 1e-5 },
    };
    expect(await service.importLiteLlm(cheaper, { projectId: null }, 'admin')).toMatchObject({
      ok: true,
      value: { created: 0, updated: 1 },
    });
    expect(priceCall(call('house-model', T0 + 1), service.book).totalUsd).toBe(5);
    expect(priceCall(call('house-model', T0 + DAY), service.book)).toMatchObject({ totalUsd: 4, priceVersion: '2' });
  });

  it('another node picks up a change when the revision moves', async () => {
    const clock = new FakeClock(T0);
    const writer = await PriceService.open({ repo: new PriceRepo(db()), catalogue: loadCatalogue(), clock });
    const reader = await PriceService.open({ repo: new PriceRepo(db()), catalogue: loadCatalogue(), clock });
    await writer.create({ provider: '*', model: 'house-model', rates: rates(7), effectiveFrom: 0 }, 'admin');
    expect(priceCall(call('house-model', T0), reader.book).totalUsd).toBeNull();
    expect(await reader.refresh()).toBe(true);
    expect(priceCall(call('house-model', T0), reader.book).totalUsd).toBe(7);
    expect(await reader.refresh()).toBe(false);
  });
}
