import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, type SummaryQuery, UNPRICED } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_MS, DAY_MS, generateCalls, HOUR_MS, makeLlmCall } from '../contract/fixtures.js';
import { describeLogStoreContract } from '../contract/log-store.contract.js';
import { describeTelemetryStoreContract } from '../contract/telemetry-store.contract.js';
import { DuckDbDatabase } from './duckdb-database.js';
import { DuckDbTelemetryStore } from './duckdb-telemetry-store.js';
import { TELEMETRY_MIGRATIONS } from './telemetry-migrations.js';

describeTelemetryStoreContract('DuckDbTelemetryStore (memory)', async () => {
  const store = await DuckDbTelemetryStore.open({ path: ':memory:', clock: new FakeClock() });
  return { store, close: () => store.close() };
});

describeLogStoreContract('DuckDbTelemetryStore (memory)', async () => {
  const store = await DuckDbTelemetryStore.open({ path: ':memory:', clock: new FakeClock() });
  return { store, close: () => store.close() };
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reskpoints-telemetry-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileNo = 0;
describeTelemetryStoreContract('DuckDbTelemetryStore (file)', async () => {
  const path = join(dir, `contract-${fileNo++}.duckdb`);
  const store = await DuckDbTelemetryStore.open({ path, clock: new FakeClock() });
  return { store, close: () => store.close() };
});

const byModelPerHour: SummaryQuery = {
  fromMs: BASE_MS,
  toMs: BASE_MS + 6 * HOUR_MS,
  filter: {},
  groupBy: ['model'],
  intervalMs: HOUR_MS,
};

describe('DuckDbTelemetryStore', () => {
  it('keeps calls and rollups across a reopen, and migrate is then a no-op', async () => {
    const path = join(dir, 'reopen.duckdb');
    const calls = generateCalls(2000, { seed: 5 });
    const first = await DuckDbTelemetryStore.open({ path });
    await first.migrate();
    await first.appendBatch({ llmCalls: calls, spans: [] });
    const before = await first.summarize(byModelPerHour);
    expect(before.precision).toBe('rollup');
    await first.close();

    const second = await DuckDbTelemetryStore.open({ path });
    await second.migrate();
    await second.migrate();
    const after = await second.summarize(byModelPerHour);
    expect(after).toEqual(before);
    const page = await second.listLlmCalls({ fromMs: 0, toMs: BASE_MS + DAY_MS, filter: {}, limit: 1000 });
    expect(page.items.length).toBe(1000);
    // Idempotency holds across the restart too, and the series ids survive it.
    const again = await second.appendBatch({ llmCalls: calls, spans: [] });
    expect(again.llmCallsInserted).toBe(0);
    expect(await second.summarize(byModelPerHour)).toEqual(before);
    await second.close();
  });

  it('looks keys up in the database only for events that may be stored, across a reopen', async () => {
    const path = join(dir, 'recent-keys.duckdb');
    const hour = (h: number) =>
      generateCalls(500, { seed: 10 + h, hours: 1, idPrefix: `h${h}` }).map((c) => ({
        ...c,
        startTimeMs: c.startTimeMs + h * HOUR_MS,
      }));
    // A budget that holds about one hour of these calls' keys.
    const first = await DuckDbTelemetryStore.open({ path, recentKeysMaxBytes: 40_000 });
    await first.migrate();
    for (let h = 0; h < 4; h++)
      expect((await first.appendBatch({ llmCalls: hour(h), spans: [] })).llmCallsInserted).toBe(500);
    expect(first.keyLookups).toBe(0);
    // A retry of the newest hour is caught from memory and confirmed by the database; one of
    // the first hour, whose keys were dropped for the budget, by the database alone.
    for (const h of [3, 0]) {
      const before = first.keyLookups;
      const again = await first.appendBatch({ llmCalls: hour(h), spans: [] });
      expect(again).toMatchObject({ llmCallsInserted: 0, llmCallDuplicates: 500 });
      expect(first.keyLookups - before).toBe(500);
    }
    await first.close();

    const second = await DuckDbTelemetryStore.open({ path });
    await second.migrate();
    // Newer than anything stored: certainly new.
    expect((await second.appendBatch({ llmCalls: hour(5), spans: [] })).llmCallsInserted).toBe(500);
    expect(second.keyLookups).toBe(0);
    // Hour 2 is older than the newest call stored at the reopen, so it is asked of the
    // database; hour 4 is not (only this store wrote after that point), and goes in.
    const older = await second.appendBatch({ llmCalls: [...hour(2), ...hour(4)], spans: [] });
    expect(older).toMatchObject({ llmCallsInserted: 500, llmCallDuplicates: 500 });
    expect(second.keyLookups).toBe(500);
    const all = await second.listLlmCalls({ fromMs: 0, toMs: BASE_MS + DAY_MS, filter: {}, limit: 5000 });
    expect(all.items.length).toBe(3000);
    await second.close();
  });

  it('reads calls stored before the flags column, after migrating to it', async () => {
    const path = join(dir, 'schema-v2.duckdb');
    const old = await DuckDbDatabase.open({ path });
    await old.migrate(
      TELEMETRY_MIGRATIONS.filter((m) => m.version <= 2),
      BASE_MS,
    );
    await old.transaction(async (c) => {
      await c.run(`INSERT INTO llm_series VALUES (1, 'prj_a', 'production', 'openai', 'gpt-4o', 'chat', 'ok')`);
      await c.run(
        `INSERT INTO llm_calls VALUES (1, 'legacy-1', ${BASE_MS}, NULL, NULL, 'u1', NULL, ['a'], 120, NULL,
           7, 3, 2, 0, 0, 10, NULL,
           '{"source":"otlp","ingestedAtMs":${BASE_MS + 5},"usageRaw":{"semantics":"input-excludes-cached","inputTokens":5,"outputTokens":3,"cacheReadTokens":2},"spanId":"s1"}')`,
      );
    });
    await old.close();

    const store = await DuckDbTelemetryStore.open({ path });
    await store.migrate();
    const fresh = makeLlmCall({ id: 'new-1', projectId: 'prj_a', startTimeMs: BASE_MS + 1 });
    await store.appendBatch({ llmCalls: [fresh], spans: [] });
    const page = await store.listLlmCalls({ fromMs: 0, toMs: BASE_MS + DAY_MS, filter: {}, limit: 10 });
    expect(page.items.map((c) => c.id)).toEqual(['new-1', 'legacy-1']);
    expect(page.items[0]).toEqual(fresh);
    expect(page.items[1]).toMatchObject({
      source: 'otlp',
      ingestedAtMs: BASE_MS + 5,
      spanId: 's1',
      usage: { inputTokens: 7, outputTokens: 3, cacheReadTokens: 2, totalTokens: 10 },
      usageRaw: { semantics: 'input-excludes-cached', inputTokens: 5, cacheReadTokens: 2, totalTokens: null },
    });
    await store.close();
  });

  it('moves the cost stored before version 5 to the reported cost; those calls are unpriced until re-costed', async () => {
    const path = join(dir, 'schema-v4.duckdb');
    const old = await DuckDbDatabase.open({ path });
    await old.migrate(
      TELEMETRY_MIGRATIONS.filter((m) => m.version <= 4),
      BASE_MS,
    );
    await old.transaction(async (c) => {
      await c.run(`INSERT INTO llm_series VALUES (1, 'prj_a', 'production', 'openai', 'gpt-4o', 'chat', 'ok')`);
      await c.run(
        `INSERT INTO llm_calls VALUES (1, 'old-1', ${BASE_MS}, NULL, NULL, NULL, NULL, [], 120, NULL,
           7, 3, 0, 0, 0, 10, 0.25, NULL, 48, ${BASE_MS + 5})`,
      );
      await c.run(`INSERT INTO llm_rollup_1h VALUES (1, ${BASE_MS}, 1, 0, 7, 3, 0, 0, 0, 10, 0.25, 0)`);
    });
    await old.close();

    const store = await DuckDbTelemetryStore.open({ path });
    await store.migrate();
    const page = await store.listLlmCalls({ fromMs: 0, toMs: BASE_MS + DAY_MS, filter: {}, limit: 10 });
    expect(page.items[0]).toMatchObject({ id: 'old-1', reportedCostUsd: 0.25, cost: { ...UNPRICED } });
    for (const q of [byModelPerHour, { ...byModelPerHour, groupBy: ['user'] } as SummaryQuery]) {
      const [row] = (await store.summarize(q)).rows;
      expect(row).toMatchObject({ costUsd: null, unpricedRequests: 1, reportedCostUsd: 0.25, reportedCostRequests: 1 });
    }
    await store.close();
  });

  it('answers rollup-shaped questions from rollups and the rest exactly', async () => {
    const store = await DuckDbTelemetryStore.open({ path: ':memory:' });
    await store.migrate();
    await store.appendBatch({ llmCalls: generateCalls(500, { seed: 6 }), spans: [] });
    const precision = async (q: Partial<SummaryQuery>) =>
      (await store.summarize({ ...byModelPerHour, ...q })).precision;
    expect(await precision({})).toBe('rollup');
    expect(await precision({ fromMs: BASE_MS, toMs: BASE_MS + DAY_MS, intervalMs: DAY_MS })).toBe('rollup');
    expect(await precision({ groupBy: ['provider', 'status'], filter: { projectIds: ['prj_a'] } })).toBe('rollup');
    expect(await precision({ groupBy: ['user'] })).toBe('exact');
    expect(await precision({ filter: { tags: ['beta'] } })).toBe('exact');
    expect(await precision({ fromMs: BASE_MS + 1 })).toBe('exact');
    expect(await precision({ intervalMs: 60_000 })).toBe('exact');
    await store.close();
  });

  it('compaction merges partial rollup rows without changing any answer', async () => {
    const store = await DuckDbTelemetryStore.open({ path: ':memory:', compactAfterAppends: 3 });
    await store.migrate();
    const calls = generateCalls(3000, { seed: 9 });
    for (let i = 0; i < 30; i++) await store.appendBatch({ llmCalls: calls.slice(i * 100, i * 100 + 100), spans: [] });
    const daily: SummaryQuery = { ...byModelPerHour, toMs: BASE_MS + DAY_MS, intervalMs: DAY_MS };
    const before = [await store.summarize(byModelPerHour), await store.summarize(daily)];
    await store.compact();
    const after = [await store.summarize(byModelPerHour), await store.summarize(daily)];
    // Sums of doubles may differ in the last bits after regrouping.
    expect(after.map((r) => r.rows.length)).toEqual(before.map((r) => r.rows.length));
    after.forEach((res, i) => {
      expect(res.precision).toBe(before[i]!.precision);
      res.rows.forEach((row, j) => {
        const was = before[i]!.rows[j]! as unknown as Record<string, unknown>;
        for (const [k, v] of Object.entries(row)) {
          if (typeof v === 'number') expect(v, k).toBeCloseTo(was[k] as number, 9);
          else expect(v, k).toEqual(was[k]);
        }
      });
    });
    expect(store.compactionFailures).toBe(0);
    await store.close();
  });

  it('a failed append leaves nothing behind and the next one works', async () => {
    const store = await DuckDbTelemetryStore.open({ path: ':memory:' });
    await store.migrate();
    const calls = generateCalls(50, { seed: 10 });
    // A call without a latency violates a NOT NULL column: the whole batch must fail,
    // including the new series its first call created.
    const bad = { ...calls[1]!, model: 'a-new-model', latencyMs: null as unknown as number };
    await expect(store.appendBatch({ llmCalls: [calls[0]!, bad], spans: [] })).rejects.toThrow();
    const empty = await store.summarize({ ...byModelPerHour, groupBy: [], intervalMs: null });
    expect(empty.rows).toEqual([]);
    const ok = await store.appendBatch({ llmCalls: calls, spans: [] });
    expect(ok.llmCallsInserted).toBe(50);
    const s = await store.summarize({ ...byModelPerHour, groupBy: [], intervalMs: null });
    expect(s.rows[0]?.requests).toBe(50);
    await store.close();
  });

  it('close waits for running reads and queued appends', async () => {
    const store = await DuckDbTelemetryStore.open({ path: ':memory:' });
    await store.migrate();
    const calls = generateCalls(3000, { seed: 12 });
    const append = store.appendBatch({ llmCalls: calls, spans: [] });
    const summary = store.summarize({ ...byModelPerHour, groupBy: ['user'] });
    const closing = store.close();
    expect((await append).llmCallsInserted).toBe(3000);
    await expect(summary).resolves.toBeDefined();
    await closing;
    await expect(store.appendBatch({ llmCalls: calls, spans: [] })).rejects.toThrow(/closed/);
  });

  it('compacts an hour that is over once it got rows from several appends', async () => {
    const clock = new FakeClock(BASE_MS + 30 * 60_000);
    const store = await DuckDbTelemetryStore.open({ path: ':memory:', clock });
    await store.migrate();
    const calls = generateCalls(200, { seed: 13, hours: 1 });
    await store.appendBatch({ llmCalls: calls.slice(0, 100), spans: [] });
    await store.appendBatch({ llmCalls: calls.slice(100), spans: [] });
    await store.summarize(byModelPerHour); // any read: the writer chain has settled
    expect(store.compactions).toBe(0);
    clock.advance(3 * HOUR_MS);
    const later = generateCalls(10, { seed: 14, hours: 1, idPrefix: 'later' }).map((c) => ({
      ...c,
      startTimeMs: c.startTimeMs + 3 * HOUR_MS,
    }));
    await store.appendBatch({ llmCalls: later, spans: [] });
    // The background compaction of the closed hour runs before this one on the writer.
    await store.compact();
    expect(store.compactions).toBe(2);
    const s = await store.summarize({ ...byModelPerHour, groupBy: [], intervalMs: null });
    expect(s.rows[0]?.requests).toBe(210);
    await store.close();
  });
});
