import { FakeClock, UNPRICED } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_MS, DAY_MS, HOUR_MS, makeLlmCall } from '../store/contract/fixtures.js';
import { DuckDbTelemetryStore } from '../store/duckdb/duckdb-telemetry-store.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { loadCatalogue } from './catalogue.js';
import { IndexedPriceBook } from './price-book.js';
import { RecostJobs } from './recost-jobs.js';

const book = new IndexedPriceBook({ catalogue: loadCatalogue(), userEntries: [], aliases: [] });

describe('re-costing jobs', () => {
  it('prices calls stored unpriced (e.g. before costs were computed), with progress, and the rollups follow', async () => {
    const store = await DuckDbTelemetryStore.open({ path: ':memory:', clock: new FakeClock() });
    await store.migrate();
    const usage = {
      inputTokens: 1_000_000,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      totalTokens: 1_000_000,
    };
    const calls = Array.from({ length: 30 }, (_, i) =>
      makeLlmCall({
        id: `r${i}`,
        projectId: i % 3 === 0 ? 'prj_b' : 'prj_a',
        model: 'gpt-4o-mini',
        startTimeMs: BASE_MS + i * HOUR_MS,
        usage,
        reportedCostUsd: 0.2,
        cost: { ...UNPRICED },
      }),
    );
    await store.appendBatch({ llmCalls: calls, spans: [] });
    const jobs = new RecostJobs({ telemetry: store, book: () => book, clock: new FakeClock() });
    const job = jobs.start({ fromMs: BASE_MS, toMs: BASE_MS + DAY_MS, projectId: 'prj_a' });
    expect(job).toMatchObject({ state: 'running' });
    expect(jobs.start({ fromMs: BASE_MS, toMs: BASE_MS + DAY_MS })).toBeNull();
    await jobs.idle();
    const done = jobs.get(job!.id)!;
    const expected = calls.filter((c) => c.projectId === 'prj_a' && c.startTimeMs < BASE_MS + DAY_MS).length;
    expect(done).toMatchObject({ state: 'done', periodsDone: 24, periodsTotal: 24, callsRecosted: expected });
    const res = await store.summarize({
      fromMs: BASE_MS,
      toMs: BASE_MS + 2 * DAY_MS,
      filter: {},
      groupBy: ['project'],
      intervalMs: null,
    });
    expect(res.precision).toBe('rollup');
    const byProject = Object.fromEntries(res.rows.map((r) => [r.group.project, r]));
    // gpt-4o-mini lists $0.15 per million input tokens.
    expect(byProject['prj_a']?.costUsd).toBeCloseTo(0.15 * expected, 9);
    expect(byProject['prj_a']).toMatchObject({ unpricedRequests: 20 - expected, reportedCostMismatches: expected });
    expect(byProject['prj_b']).toMatchObject({ costUsd: null, unpricedRequests: 10 });
    await store.close();
  });
});

describe('re-costing API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  it('prices ingest and re-costing with the user price book: a model priced after its calls were stored', async () => {
    const { key } = await s.createProject('user-prices', 'user-prices');
    const day = Date.UTC(2026, 9, 5);
    const ingest = await fetch(`${s.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          {
            id: 'f1',
            timestamp: day + 1000,
            provider: 'acme',
            model: 'acme-finetune-7',
            usage: { inputTokens: 1_000_000, outputTokens: 0 },
          },
        ],
      }),
    });
    expect(ingest.status).toBe(200);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const cost = async () => {
      const r = await fetch(`${s.url}/api/v1/llm/calls?from=${day}&to=${day + DAY_MS}&project=user-prices`, {
        headers: admin,
      });
      return ((await r.json()) as { items: Array<{ cost: { totalUsd: number | null; priceId: string | null } }> })
        .items[0]!.cost;
    };
    expect((await cost()).totalUsd).toBeNull();
    const created = await fetch(`${s.url}/api/v1/prices`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        provider: 'acme',
        model: 'acme-finetune-7',
        effectiveFrom: '2026-01-01',
        rates: { inputPerMtokUsd: 1.25, outputPerMtokUsd: 5 },
      }),
    });
    expect(created.status).toBe(201);
    const started = await fetch(`${s.url}/api/v1/cost/recost`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ from: String(day), to: String(day + DAY_MS), project: 'user-prices' }),
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    for (let i = 0; i < 200; i++) {
      const j = (await (await fetch(`${s.url}/api/v1/cost/recost/${id}`, { headers: admin })).json()) as {
        state: string;
      };
      if (j.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await cost()).totalUsd).toBeCloseTo(1.25, 9);
  });

  it('starts a job, reports its progress and refuses bad ranges and project keys', async () => {
    const { key } = await s.createProject('recost-api', 'recost-api');
    const day = Date.UTC(2026, 10, 20);
    const res = await fetch(`${s.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [1, 2, 3].map((i) => ({
          id: `c${i}`,
          timestamp: day + i * HOUR_MS,
          provider: 'openai',
          model: 'gpt-4o',
          usage: { inputTokens: 1000, outputTokens: 100 },
        })),
      }),
    });
    expect(res.status).toBe(200);
    const post = (body: unknown, token = ADMIN_TOKEN) =>
      fetch(`${s.url}/api/v1/cost/recost`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const started = await post({ from: String(day), to: String(day + DAY_MS), project: 'recost-api' });
    expect(started.status).toBe(202);
    const job = (await started.json()) as { id: string };
    let state = 'running';
    let body: Record<string, unknown> = {};
    for (let i = 0; i < 200 && state === 'running'; i++) {
      const r = await fetch(`${s.url}/api/v1/cost/recost/${job.id}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      body = (await r.json()) as Record<string, unknown>;
      state = body['state'] as string;
      if (state === 'running') await new Promise((r) => setTimeout(r, 25));
    }
    expect(body).toMatchObject({ state: 'done', periodsDone: 24, periodsTotal: 24, callsRecosted: 3 });
    expect((await post({ from: 'yesterday', to: String(day) })).status).toBe(400);
    expect((await post({ from: String(day), to: String(day + DAY_MS) }, key)).status).toBe(403);
    const missing = await fetch(`${s.url}/api/v1/cost/recost/rc_nope`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(missing.status).toBe(404);
  });
});
