/**
 * Re-costing jobs: queued in the state database, run by the leader a UTC day per step with
 * fenced progress, resumed after a restart from the last day done; the rollups follow.
 */
import { FakeClock, UNPRICED } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaleFenceError } from '../platform/fencing.js';
import { migrateForTest, openStateSql } from '../platform/testing/state-sql.js';
import { BASE_MS, DAY_MS, HOUR_MS, makeLlmCall } from '../store/contract/fixtures.js';
import { DuckDbTelemetryStore } from '../store/duckdb/duckdb-telemetry-store.js';
import type { TelemetryStore } from '../store/ports.js';
import { ADMIN_TOKEN, startTestServer, type TestServer, tempDir } from '../test-support/harness.js';
import { loadCatalogue } from './catalogue.js';
import { RecostJobRepo } from './cost-jobs-repo.js';
import { IndexedPriceBook } from './price-book.js';
import { COST_STATE_MODULE } from './price-repo.contract.js';
import { runRecostJobs } from './recost-jobs.js';

const book = new IndexedPriceBook({ catalogue: loadCatalogue(), userEntries: [], aliases: [] });
const usage = {
  inputTokens: 1_000_000,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  totalTokens: 1_000_000,
};

describe('re-costing jobs', () => {
  it('price calls stored unpriced a day per step, resume where a stopped leader left off, and the rollups follow', async () => {
    const store = await DuckDbTelemetryStore.open({ path: ':memory:', clock: new FakeClock() });
    await store.migrate();
    const state = await openStateSql('duckdb');
    await migrateForTest(state.db, [COST_STATE_MODULE]);
    // 30 calls an hour apart from BASE_MS + 6h: over two UTC days.
    const calls = Array.from({ length: 30 }, (_, i) =>
      makeLlmCall({
        id: `r${i}`,
        projectId: i % 3 === 0 ? 'prj_b' : 'prj_a',
        model: 'gpt-4o-mini',
        startTimeMs: BASE_MS + 6 * HOUR_MS + i * HOUR_MS,
        usage,
        reportedCostUsd: 0.2,
        cost: { ...UNPRICED },
      }),
    );
    await store.appendBatch({ llmCalls: calls, spans: [] });
    const jobs = new RecostJobRepo(state.db);
    const job = await jobs.enqueue(
      { fromMs: BASE_MS + 6 * HOUR_MS, toMs: BASE_MS + 2 * DAY_MS, projectId: 'prj_a' },
      1,
    );
    expect(job).toMatchObject({ state: 'queued', periodsTotal: 2 });

    // The first leader stops (its lease is lost) after the first day.
    const abort = new AbortController();
    const stopping: TelemetryStore = new Proxy(store, {
      get(target, prop) {
        if (prop === 'recost')
          return async (...args: Parameters<TelemetryStore['recost']>) => {
            const p = await target.recost(...args);
            abort.abort();
            return p;
          };
        const v = Reflect.get(target, prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const clock = new FakeClock(BASE_MS + 3 * DAY_MS);
    const deps = { state: state.db, book: () => book, clock };
    expect(
      await runRecostJobs({ ...deps, telemetry: stopping }, { name: 'leader', token: 1 }, { signal: abort.signal }),
    ).toEqual([]);
    const firstDay = calls.filter((c) => c.projectId === 'prj_a' && c.startTimeMs < BASE_MS + DAY_MS).length;
    expect(await jobs.get(job.id)).toMatchObject({
      state: 'running',
      doneUntilMs: BASE_MS + DAY_MS,
      periodsDone: 1,
      callsRecosted: firstDay,
    });

    // The next leader resumes from the second day.
    expect(await runRecostJobs({ ...deps, telemetry: store }, { name: 'leader', token: 2 })).toEqual([job.id]);
    const expected = calls.filter((c) => c.projectId === 'prj_a' && c.startTimeMs < BASE_MS + 2 * DAY_MS).length;
    expect(await jobs.get(job.id)).toMatchObject({
      state: 'done',
      doneUntilMs: BASE_MS + 2 * DAY_MS,
      periodsDone: 2,
      periodsTotal: 2,
      callsRecosted: expected,
      error: null,
    });
    // The former leader cannot write any more.
    const again = await jobs.enqueue({ fromMs: BASE_MS, toMs: BASE_MS + DAY_MS }, 2);
    await expect(runRecostJobs({ ...deps, telemetry: store }, { name: 'leader', token: 1 })).rejects.toBeInstanceOf(
      StaleFenceError,
    );
    expect(await jobs.get(again.id)).toMatchObject({ state: 'queued' });

    const res = await store.summarize({
      fromMs: BASE_MS,
      toMs: BASE_MS + 3 * DAY_MS,
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
    await state.close();
  });
});

const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

async function waitForJob(url: string, id: string): Promise<Record<string, unknown>> {
  let body: Record<string, unknown> = {};
  for (let i = 0; i < 400; i++) {
    const r = await fetch(`${url}/api/v1/cost/recost/${id}`, { headers: admin });
    body = (await r.json()) as Record<string, unknown>;
    if (body['state'] === 'done' || body['state'] === 'failed') return body;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`re-costing job ${id} did not finish: ${JSON.stringify(body)}`);
}

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
    expect(await waitForJob(s.url, id)).toMatchObject({ state: 'done', callsRecosted: 1 });
    expect((await cost()).totalUsd).toBeCloseTo(1.25, 9);
  });

  it('queues a job, reports its progress and refuses bad ranges and project keys', async () => {
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
    const job = (await started.json()) as { id: string; state: string };
    expect(job.state).toBe('queued');
    expect(await waitForJob(s.url, job.id)).toMatchObject({
      state: 'done',
      periodsDone: 1,
      periodsTotal: 1,
      callsRecosted: 3,
    });
    const listed = (await (await fetch(`${s.url}/api/v1/cost/recost`, { headers: admin })).json()) as {
      jobs: Array<{ id: string }>;
    };
    expect(listed.jobs[0]?.id).toBe(job.id);
    const bad = await post({ from: 'yesterday', to: String(day) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/from/);
    expect((await post({ from: String(day), to: String(day + DAY_MS) }, key)).status).toBe(403);
    const missing = await fetch(`${s.url}/api/v1/cost/recost/rc_nope`, { headers: admin });
    expect(missing.status).toBe(404);
  });
});

describe('re-costing across a restart', () => {
  it('a job interrupted by a shutdown is resumed by the next start from the last day done', async () => {
    const dataDir = tempDir();
    const day = Date.UTC(2026, 10, 10);
    // The second day's re-costing waits until the server is shutting down.
    let recosts = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const wrap = (store: TelemetryStore): TelemetryStore =>
      new Proxy(store, {
        get(target, prop) {
          if (prop === 'recost')
            return async (...args: Parameters<TelemetryStore['recost']>) => {
              if (++recosts === 2) await gate;
              return target.recost(...args);
            };
          const v = Reflect.get(target, prop);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    const first = await startTestServer({ dataDir, cost: { priceAtIngest: false } }, { wrapTelemetryStore: wrap });
    const { key } = await first.createProject('restart', 'restart');
    const batch = [0, 1, 2, 3].map((d) => ({
      id: `d${d}`,
      timestamp: day + d * DAY_MS + HOUR_MS,
      provider: 'openai',
      model: 'gpt-4o-mini',
      usage: { inputTokens: 1_000_000, outputTokens: 0 },
    }));
    const ingested = await fetch(`${first.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(ingested.status).toBe(200);
    const started = await fetch(`${first.url}/api/v1/cost/recost`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ from: String(day), to: String(day + 4 * DAY_MS) }),
    });
    const { id } = (await started.json()) as { id: string };
    for (let i = 0; i < 400 && recosts < 2; i++) await new Promise((r) => setTimeout(r, 25));
    const mid = (await (await fetch(`${first.url}/api/v1/cost/recost/${id}`, { headers: admin })).json()) as Record<
      string,
      unknown
    >;
    expect(mid).toMatchObject({ state: 'running', periodsDone: 1, callsRecosted: 1 });
    // Shut down: the running step finishes and is recorded; the job stops before the next day.
    const closing = first.app.close();
    release();
    await closing;

    const second = await startTestServer({ dataDir, cost: { priceAtIngest: false } });
    try {
      const done = await waitForJob(second.url, id);
      // Each call re-costed once: the restart went on from the third day.
      expect(done).toMatchObject({ state: 'done', periodsDone: 4, periodsTotal: 4, callsRecosted: 4 });
      const summary = await fetch(
        `${second.url}/api/v1/llm/summary?from=${day}&to=${day + 4 * DAY_MS}&groupBy=project`,
        { headers: admin },
      );
      const rows = ((await summary.json()) as { rows: Array<{ costUsd: number | null; unpricedRequests: number }> })
        .rows;
      // 4 × 1M input tokens of gpt-4o-mini at $0.15 per million.
      expect(rows[0]?.costUsd).toBeCloseTo(0.6, 9);
      expect(rows[0]?.unpricedRequests).toBe(0);
    } finally {
      await second.stop();
    }
  });
});
