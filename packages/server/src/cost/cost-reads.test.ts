import { FakeClock, SUMMARY_DIMENSIONS, type SummaryDimension } from '@reskpoints/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_MS, DAY_MS, generateCalls, HOUR_MS } from '../store/contract/fixtures.js';
import { DuckDbTelemetryStore } from '../store/duckdb/duckdb-telemetry-store.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { compareCost, costBreakdown, rollingAverages } from './cost-reads.js';

describe('cost reads over a store', () => {
  let store: DuckDbTelemetryStore;
  const calls = generateCalls(3000, { seed: 21, hours: 48 });
  beforeAll(async () => {
    store = await DuckDbTelemetryStore.open({ path: ':memory:', clock: new FakeClock() });
    await store.migrate();
    await store.appendBatch({ llmCalls: calls, spans: [] });
  });
  afterAll(() => store.close());

  it('breakdowns add up to the total for every grouping', async () => {
    const total = calls.reduce((s, c) => s + (c.cost.totalUsd ?? 0), 0);
    await fc.assert(
      fc.asyncProperty(
        fc.subarray([...SUMMARY_DIMENSIONS], { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (by, wholeHours) => {
          const toMs = BASE_MS + 48 * HOUR_MS + (wholeHours ? 0 : 1);
          const b = await costBreakdown(store, { fromMs: BASE_MS, toMs, filter: {}, by: by as SummaryDimension[] });
          expect(b.total.costUsd).toBeCloseTo(total, 9);
          expect(b.total.requests).toBe(calls.length);
          const sum = (f: (r: (typeof b.rows)[number]) => number) => b.rows.reduce((s, r) => s + f(r), 0);
          expect(sum((r) => r.costUsd ?? 0)).toBeCloseTo(b.total.costUsd ?? 0, 9);
          expect(sum((r) => r.requests)).toBe(b.total.requests);
          expect(sum((r) => r.unpricedRequests)).toBe(b.total.unpricedRequests);
          expect(sum((r) => r.inputCostUsd)).toBeCloseTo(b.total.inputCostUsd, 9);
          expect(sum((r) => r.shareOfCost ?? 0)).toBeCloseTo(1, 9);
          // Parts add up to the cost of every row.
          for (const r of b.rows) {
            const parts =
              r.inputCostUsd +
              r.outputCostUsd +
              r.cacheReadCostUsd +
              r.cacheWriteCostUsd +
              r.reasoningCostUsd +
              r.requestCostUsd;
            expect(parts).toBeCloseTo(r.costUsd ?? 0, 9);
          }
        },
      ),
      {
        numRuns: 15,
        // The tag dimension (a call's tag set) always, alone and with others.
        examples: [
          [['tag'], true],
          [['tag'], false],
          [['model', 'tag'], false],
        ],
      },
    );
  });

  it('groups by the set of tags a call carries; a call counts once', async () => {
    const b = await costBreakdown(store, { fromMs: BASE_MS, toMs: BASE_MS + 48 * HOUR_MS, filter: {}, by: ['tag'] });
    const expected = new Map<string | null, number>();
    for (const c of calls) {
      const key = c.tags.length ? [...new Set(c.tags)].sort().join(',') : null;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    expect(new Map(b.rows.map((r) => [r.group.tag ?? null, r.requests]))).toEqual(expected);
    expect([...expected.keys()].sort()).toEqual(['beta', 'beta,eu', null]);
  });

  it('attributes the change between periods to groups whose shares add up to one', async () => {
    const c = await compareCost(store, {
      fromMs: BASE_MS + DAY_MS,
      toMs: BASE_MS + 2 * DAY_MS,
      filter: {},
      by: ['model', 'project'],
      limit: 1000,
    });
    const inRange = (from: number, to: number) =>
      calls.filter((x) => x.startTimeMs >= from && x.startTimeMs < to).reduce((s, x) => s + (x.cost.totalUsd ?? 0), 0);
    expect(c.current.costUsd).toBeCloseTo(inRange(BASE_MS + DAY_MS, BASE_MS + 2 * DAY_MS), 9);
    expect(c.previous.costUsd).toBeCloseTo(inRange(BASE_MS, BASE_MS + DAY_MS), 9);
    expect(c.changeUsd).toBeCloseTo((c.current.costUsd ?? 0) - (c.previous.costUsd ?? 0), 9);
    expect(c.attribution.reduce((s, a) => s + a.changeUsd, 0)).toBeCloseTo(c.changeUsd, 9);
    expect(c.attribution.reduce((s, a) => s + (a.shareOfChange ?? 0), 0)).toBeCloseTo(1, 9);
    expect(c.costIsLowerBound).toBe(true);
    const top = c.attribution[0]!;
    expect(c.explanation).toContain(`model ${top.group.model} in project ${top.group.project}`);
    expect(c.explanation).toMatch(
      /^spend (up|down) \d+\.\d% \(\$\d+\.\d\d → \$\d+\.\d\d\): -?\d+(\.\d)?% of the change/,
    );
  });

  it('says when a rolling window has not enough history', async () => {
    const r = await rollingAverages(store, { toMs: BASE_MS + 3 * DAY_MS, filter: {} });
    expect(r.firstDayMs).toBe(BASE_MS);
    const byDays = Object.fromEntries(r.windows.map((w) => [w.days, w]));
    expect(byDays[7]).toMatchObject({ enoughHistory: false, averageDailyCostUsd: null, daysWithHistory: 3 });
    expect(byDays[90]).toMatchObject({ enoughHistory: false, daysWithHistory: 3 });
    const later = await rollingAverages(store, { toMs: BASE_MS + 2 * DAY_MS, filter: {}, windows: [1, 2] });
    const total = calls.reduce((s, c) => s + (c.cost.totalUsd ?? 0), 0);
    expect(later.windows[1]).toMatchObject({ days: 2, enoughHistory: true });
    expect(later.windows[1]!.averageDailyCostUsd).toBeCloseTo(total / 2, 9);
  });
});

describe('cost API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  it('prices ingested calls and explains the change between two days in dollars', async () => {
    const { key } = await s.createProject('cost-api', 'cost-api');
    const day = Date.UTC(2026, 10, 20);
    const call = (id: string, t: number, model: string, input: number, output: number) => ({
      id,
      timestamp: t,
      provider: 'openai',
      model,
      latencyMs: 100,
      usage: { inputTokens: input, outputTokens: output },
    });
    const batch = [
      call('a1', day + 1000, 'gpt-4o-mini', 1_000_000, 0),
      call('b1', day + DAY_MS + 1000, 'gpt-4o-mini', 1_000_000, 0),
      call('b2', day + DAY_MS + 2000, 'gpt-4o', 1_000_000, 0),
      call('b3', day + DAY_MS + 3000, 'no-such-model-xyz', 1000, 10),
    ];
    const res = await fetch(`${s.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(res.status).toBe(200);
    const get = async (path: string) => {
      const r = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(r.status, path).toBe(200);
      return r.json() as Promise<Record<string, unknown>>;
    };
    const range = `from=${day + DAY_MS}&to=${day + 2 * DAY_MS}`;
    // List prices per million input tokens: gpt-4o-mini $0.15, gpt-4o $2.50.
    const c = (await get(`/api/v1/cost/compare?${range}&by=model`)) as {
      current: { costUsd: number; unpricedRequests: number; costIsLowerBound: boolean };
      previous: { costUsd: number };
      attribution: Array<{ group: { model: string }; changeUsd: number; shareOfChange: number }>;
      explanation: string;
    };
    expect(c.previous.costUsd).toBeCloseTo(0.15, 9);
    expect(c.current.costUsd).toBeCloseTo(2.65, 9);
    expect(c.current).toMatchObject({ unpricedRequests: 1, costIsLowerBound: true });
    expect(c.attribution[0]).toMatchObject({ group: { model: 'gpt-4o' } });
    expect(c.attribution[0]!.changeUsd).toBeCloseTo(2.5, 9);
    expect(c.explanation).toBe(
      'spend up 1666.7% ($0.15 → $2.65): 100% of the change from model gpt-4o (unpriced calls left out: lower bounds)',
    );
    const b = (await get(`/api/v1/cost/breakdown?${range}&by=model`)) as {
      rows: Array<{ group: { model: string }; costUsd: number | null; unpricedRequests: number }>;
    };
    expect(b.rows.map((r) => [r.group.model, r.costUsd === null ? null : Math.round(r.costUsd * 100) / 100])).toEqual([
      ['gpt-4o', 2.5],
      ['gpt-4o-mini', 0.15],
      ['no-such-model-xyz', null],
    ]);
    const summary = (await get(`/api/v1/llm/summary?${range}&groupBy=model`)) as {
      rows: Array<{ group: { model: string }; costUsd: number | null; costPerRequestUsd: number | null }>;
    };
    const mini = summary.rows.find((r) => r.group.model === 'gpt-4o-mini');
    expect(mini?.costPerRequestUsd).toBeCloseTo(0.15, 9);
    const rolling = (await get(`/api/v1/cost/rolling?to=${day + 2 * DAY_MS}&project=cost-api`)) as {
      windows: Array<{ days: number; enoughHistory: boolean; daysWithHistory: number }>;
    };
    expect(rolling.windows.map((w) => [w.days, w.enoughHistory, w.daysWithHistory])).toEqual([
      [7, false, 2],
      [30, false, 2],
      [90, false, 2],
    ]);
    const bad = await fetch(`${s.url}/api/v1/cost/breakdown?${range}&by=colour`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(bad.status).toBe(400);
  });
});
