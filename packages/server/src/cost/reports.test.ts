import { FakeClock } from '@reskpoints/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, generateCalls } from '../store/contract/fixtures.js';
import { DuckDbTelemetryStore } from '../store/duckdb/duckdb-telemetry-store.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import {
  buildCostReport,
  type CostReport,
  parseReportCsv,
  REPORT_COLUMNS,
  reportRange,
  reportToCsv,
} from './reports.js';

describe('report periods', () => {
  it('cover the last whole UTC day, ISO week and calendar month before the instant', () => {
    const at = Date.UTC(2026, 2, 4, 15); // Wednesday 4 March 2026
    expect(reportRange('day', at)).toEqual({
      fromMs: Date.UTC(2026, 2, 3),
      toMs: Date.UTC(2026, 2, 4),
      previousFromMs: Date.UTC(2026, 2, 2),
    });
    expect(reportRange('week', at)).toEqual({
      fromMs: Date.UTC(2026, 1, 23),
      toMs: Date.UTC(2026, 2, 2),
      previousFromMs: Date.UTC(2026, 1, 16),
    });
    expect(reportRange('month', at)).toEqual({
      fromMs: Date.UTC(2026, 1, 1),
      toMs: Date.UTC(2026, 2, 1),
      previousFromMs: Date.UTC(2026, 0, 1),
    });
  });
});

describe('cost reports', () => {
  let store: DuckDbTelemetryStore;
  // Two days of calls from BASE_MS (a Monday): the report of the second day has a previous day.
  const calls = generateCalls(1500, { seed: 41, hours: 48 });
  const at = Date.UTC(2026, 0, 7, 9);
  beforeAll(async () => {
    store = await DuckDbTelemetryStore.open({ path: ':memory:', clock: new FakeClock() });
    await store.migrate();
    await store.appendBatch({ llmCalls: calls, spans: [] });
  });
  afterAll(() => store.close());

  it('sections add up to the total, with the change against the day before', async () => {
    const report = await buildCostReport(store, { period: 'day', atMs: at, filter: {}, limit: 1000 });
    const total = report.rows.find((r) => r.section === 'total')!;
    const day = (from: number) => calls.filter((c) => c.startTimeMs >= from && c.startTimeMs < from + DAY_MS);
    const cost = (cs: typeof calls) => cs.reduce((s, c) => s + (c.cost.totalUsd ?? 0), 0);
    expect(total.costUsd).toBeCloseTo(cost(day(report.fromMs)), 9);
    expect(total.previousCostUsd).toBeCloseTo(cost(day(report.previousFromMs)), 9);
    expect(total.requests).toBe(day(report.fromMs).length);
    for (const section of ['model', 'project', 'user', 'driver'] as const) {
      const rows = report.rows.filter((r) => r.section === section);
      expect(
        rows.reduce((s, r) => s + (r.costUsd ?? 0), 0),
        section,
      ).toBeCloseTo(total.costUsd ?? 0, 9);
      expect(
        rows.reduce((s, r) => s + r.requests, 0),
        section,
      ).toBe(total.requests);
    }
  });

  it('CSV and JSON carry the same numbers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('day', 'week', 'month' as const),
        fc.integer({ min: 0, max: 40 }),
        async (period, days) => {
          const report = await buildCostReport(store, {
            period,
            atMs: at + (days - 20) * DAY_MS,
            filter: {},
            limit: 1000,
          });
          const json = JSON.parse(JSON.stringify(report)) as CostReport;
          const fromCsv = parseReportCsv(reportToCsv(report));
          expect(fromCsv.length).toBe(json.rows.length);
          fromCsv.forEach((row, i) => {
            for (const c of REPORT_COLUMNS) expect(row[c], `${i} ${c}`).toEqual(json.rows[i]![c]);
          });
        },
      ),
      { numRuns: 20 },
    );
  });

  it('quotes groups that hold commas and quotes', () => {
    const report: CostReport = {
      period: 'day',
      fromMs: 0,
      toMs: DAY_MS,
      previousFromMs: -DAY_MS,
      changeRatio: null,
      rows: [
        {
          section: 'user',
          group: 'a "quoted", name',
          costUsd: 0.1 + 0.2,
          previousCostUsd: null,
          changeUsd: null,
          shareOfCost: 1 / 3,
          requests: 3,
          costPerRequestUsd: null,
          inputCostUsd: 1e-10,
          outputCostUsd: 0,
          cacheCostUsd: 0,
          reasoningCostUsd: 0,
          requestCostUsd: 0,
          unpricedRequests: 0,
          costIsLowerBound: true,
        },
      ],
    };
    expect(parseReportCsv(reportToCsv(report))).toEqual(report.rows);
  });
});

describe('report API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  it('answers the same report as JSON and as CSV', async () => {
    const { key } = await s.createProject('report-api', 'report-api');
    const day = Date.UTC(2026, 10, 20);
    const res = await fetch(`${s.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [1, 2, 3].map((i) => ({
          id: `c${i}`,
          timestamp: day + i * 3_600_000,
          provider: 'openai',
          model: i === 3 ? 'gpt-4o' : 'gpt-4o-mini',
          userId: `u${i}`,
          usage: { inputTokens: 1_000_000, outputTokens: 0 },
        })),
      }),
    });
    expect(res.status).toBe(200);
    const get = (format: string) =>
      fetch(`${s.url}/api/v1/reports/cost?period=day&at=${day + DAY_MS + 5}&format=${format}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
    const json = (await (await get('json')).json()) as CostReport;
    const csvRes = await get('csv');
    expect(csvRes.headers.get('content-type')).toMatch(/^text\/csv/);
    const csv = parseReportCsv(await csvRes.text());
    expect(csv).toEqual(json.rows);
    const total = json.rows.find((r) => r.section === 'total')!;
    // 2 × $0.15 (gpt-4o-mini) + $2.50 (gpt-4o) per million input tokens.
    expect(total.costUsd).toBeCloseTo(2.8, 9);
    expect(json.rows.filter((r) => r.section === 'model').map((r) => r.group)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(json.rows.filter((r) => r.section === 'driver')[0]?.group).toBe('gpt-4o / report-api');
    const bad = await fetch(`${s.url}/api/v1/reports/cost?period=year`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(bad.status).toBe(400);
  });
});
