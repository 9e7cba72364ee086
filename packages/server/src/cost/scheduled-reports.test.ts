/**
 * Cost reports made on a schedule: the leader's `cost.reports` job stores the report of each
 * day, ISO week and month after it ends (plus the configured delay); the API and the CLI list
 * and fetch them, as JSON and CSV with the same numbers; a re-costing of their range rebuilds
 * them.
 */
import { FakeClock } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../cli/io.js';
import { runCli } from '../cli/program.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { type CostReport, parseReportCsv } from './reports.js';

const DAY_MS = 86_400_000;
/** Monday 30 November 2026, 12:00 UTC: the last day of a month and the first of an ISO week. */
const NOW = Date.UTC(2026, 10, 30, 12);
const DAY = Date.UTC(2026, 10, 30);
const clock = new FakeClock(NOW);
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

function io(): CliIo & { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: () => out.join(''),
    err: () => err.join(''),
    stdout: { write: (s) => void out.push(s) },
    stderr: { write: (s) => void err.push(s) },
    env: {},
    cwd: process.cwd(),
    clock,
    fetch: globalThis.fetch,
    onSignal: () => {},
    exit: (code) => {
      throw new Error(`exit(${code})`);
    },
  };
}

interface Listed {
  reports: Array<{
    id: string;
    period: string;
    fromMs: number;
    toMs: number;
    createdAtMs: number;
    updatedAtMs: number;
    costUsd: number | null;
    requests: number;
    unpricedRequests: number;
    costIsLowerBound: boolean;
  }>;
}

describe('scheduled cost reports', () => {
  let s: TestServer;
  let key: string;
  const get = async <T>(path: string, headers: Record<string, string> = admin) => {
    const res = await fetch(`${s.url}${path}`, { headers });
    return { status: res.status, body: (await res.json()) as T };
  };
  const cli = async (args: string[]) => {
    const x = io();
    const r = await runCli([...args, '--url', s.url, '--token', ADMIN_TOKEN], x);
    return { code: r.exitCode, out: x.out(), err: x.err() };
  };

  beforeAll(async () => {
    s = await startTestServer({ cost: { reports: { delayMinutes: 30 } } }, { clock });
    ({ key } = await s.createProject('shop', 'shop'));
    const lab = await s.createProject('lab', 'lab');
    const send = async (k: string, batch: unknown[]) => {
      const res = await fetch(`${s.url}/api/v1/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      });
      expect(res.status).toBe(200);
    };
    const call = (id: string, atMs: number, model: string, input: number, output: number, user: string) => ({
      id,
      timestamp: atMs,
      provider: 'openai',
      model,
      userId: user,
      usage: { inputTokens: input, outputTokens: output },
    });
    // 30 Nov: shop 2 × gpt-4o-mini (1M input each: $0.15), lab 1 × gpt-4o (1M in, 100k out:
    // $2.50 + $1.00) and one unpriced call. 29 Nov (the day before): shop 1 × gpt-4o-mini.
    await send(key, [
      call('a1', DAY + 3_600_000, 'gpt-4o-mini', 1_000_000, 0, 'ann'),
      call('a2', DAY + 7_200_000, 'gpt-4o-mini', 1_000_000, 0, 'bob'),
      call('a0', DAY - 3_600_000, 'gpt-4o-mini', 1_000_000, 0, 'ann'),
      { ...call('a3', DAY + 7_300_000, 'house-model-x', 10, 1, 'ann'), provider: 'acme' },
    ]);
    await send(lab.key, [call('b1', DAY + 10_800_000, 'gpt-4o', 1_000_000, 100_000, 'cy')]);
  });
  afterAll(() => s?.stop());

  it('makes the report of each period after it ends and the delay, once, for every project', async () => {
    // At noon on 30 Nov the job has run at the start: the 29 Nov report, the ISO week of
    // 23–30 Nov and October.
    await s.app.tickJobs();
    const before = await get<Listed>('/api/v1/reports/cost/stored');
    expect(before.body.reports.map((r) => r.id).sort()).toEqual([
      'day-2026-11-29',
      'month-2026-10-01',
      'week-2026-11-23',
    ]);
    // 1 Dec 00:20: the period ended, the 30-minute delay has not passed.
    clock.set(DAY + DAY_MS + 20 * 60_000);
    await s.app.tickJobs();
    expect((await get<Listed>('/api/v1/reports/cost/stored?period=day')).body.reports.map((r) => r.id)).toEqual([
      'day-2026-11-29',
    ]);
    clock.set(DAY + DAY_MS + 31 * 60_000);
    await s.app.tickJobs();
    const after = await get<Listed>('/api/v1/reports/cost/stored');
    expect(after.status).toBe(200);
    expect(after.body.reports.map((r) => r.id)).toEqual([
      'day-2026-11-30',
      'day-2026-11-29',
      'week-2026-11-23',
      'month-2026-11-01',
      'month-2026-10-01',
    ]);
    const day = after.body.reports[0]!;
    expect(day).toMatchObject({ period: 'day', fromMs: DAY, toMs: DAY + DAY_MS, requests: 4, unpricedRequests: 1 });
    expect(day.costIsLowerBound).toBe(true);
    expect(day.costUsd).toBeCloseTo(0.15 * 2 + 2.5 + 1.0, 10);
    const month = after.body.reports.find((r) => r.id === 'month-2026-11-01')!;
    expect(month.costUsd).toBeCloseTo(0.15 * 3 + 3.5, 10);
    expect(month.requests).toBe(5);
    // Another minute later nothing new is made and nothing is remade.
    clock.advance(61_000);
    await s.app.tickJobs();
    const again = await get<Listed>('/api/v1/reports/cost/stored');
    expect(again.body.reports).toEqual(after.body.reports);
  });

  it('serves a stored report as JSON and CSV with the same numbers as the report built on demand', async () => {
    const stored = await get<CostReport & { id: string }>('/api/v1/reports/cost/stored/day-2026-11-30');
    expect(stored.status).toBe(200);
    const onDemand = await get<CostReport>(`/api/v1/reports/cost?period=day&at=${DAY + DAY_MS}`);
    expect(stored.body.rows).toEqual(onDemand.body.rows);
    expect(stored.body).toMatchObject({
      id: 'day-2026-11-30',
      period: 'day',
      fromMs: DAY,
      previousFromMs: DAY - DAY_MS,
    });
    const byGroup = Object.fromEntries(stored.body.rows.map((r) => [`${r.section}:${r.group}`, r]));
    expect(byGroup['project:shop']?.costUsd).toBeCloseTo(0.3, 10);
    expect(byGroup['project:shop']?.previousCostUsd).toBeCloseTo(0.15, 10);
    expect(byGroup['project:lab']?.costUsd).toBeCloseTo(3.5, 10);
    expect(byGroup['driver:gpt-4o / lab']?.costUsd).toBeCloseTo(3.5, 10);

    const csv = await fetch(`${s.url}/api/v1/reports/cost/stored/day-2026-11-30?format=csv`, { headers: admin });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(parseReportCsv(await csv.text())).toEqual(stored.body.rows);
  });

  it('lists and prints stored reports from the CLI', async () => {
    const list = await cli(['report', '--stored', '--period', 'day']);
    expect(list.err).toBe('');
    expect(list.code).toBe(0);
    expect(list.out).toContain('day-2026-11-30');
    expect(list.out).toContain('$3.80');
    expect(list.out).not.toContain('month-2026-11-01');
    const csv = await cli(['report', '--id', 'day-2026-11-30', '--format', 'csv']);
    expect(csv.code).toBe(0);
    const stored = await get<CostReport>('/api/v1/reports/cost/stored/day-2026-11-30');
    expect(parseReportCsv(csv.out)).toEqual(stored.body.rows);
    const json = await cli(['report', '--id', 'day-2026-11-30', '--format', 'json']);
    expect((JSON.parse(json.out) as CostReport).rows).toEqual(stored.body.rows);
    const bad = await cli(['report', '--id', 'yesterday']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--id: expected a stored report id/);
    const missing = await cli(['report', '--id', 'day-1999-01-01']);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/no stored report day-1999-01-01/);
  });

  it('refuses project keys, unknown reports and bad periods', async () => {
    expect((await get('/api/v1/reports/cost/stored', { authorization: `Bearer ${key}` })).status).toBe(403);
    expect((await get('/api/v1/reports/cost/stored/day-1999-01-01')).status).toBe(404);
    const bad = await get<{ error: { message: string } }>('/api/v1/reports/cost/stored?period=year');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/period/);
  });

  it('rebuilds the stored reports of a re-costed range with the new prices', async () => {
    const created = await fetch(`${s.url}/api/v1/prices`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        provider: 'openai',
        model: 'gpt-4o-mini',
        effectiveFrom: '2026-01-01',
        rates: { inputPerMtokUsd: 1, outputPerMtokUsd: 4 },
      }),
    });
    expect(created.status).toBe(201);
    const started = await fetch(`${s.url}/api/v1/cost/recost`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ from: String(DAY), to: String(DAY + DAY_MS) }),
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    let state = 'queued';
    for (let i = 0; i < 400 && (state === 'queued' || state === 'running'); i++) {
      await s.app.tickJobs();
      state = (await get<{ state: string }>(`/api/v1/cost/recost/${id}`)).body.state;
    }
    expect(state).toBe('done');
    const after = await get<Listed>('/api/v1/reports/cost/stored');
    const day = after.body.reports.find((r) => r.id === 'day-2026-11-30')!;
    // Two gpt-4o-mini calls now at $1 per million input tokens, and the gpt-4o call.
    expect(day.costUsd).toBeCloseTo(2 + 3.5, 10);
    expect(day.updatedAtMs).toBeGreaterThan(day.createdAtMs);
    // The month's report reads 30 Nov too; 29 Nov was not re-costed, so its report stays.
    expect(after.body.reports.find((r) => r.id === 'month-2026-11-01')?.costUsd).toBeCloseTo(2 + 0.15 + 3.5, 10);
    expect(after.body.reports.find((r) => r.id === 'day-2026-11-29')?.updatedAtMs).toBe(
      after.body.reports.find((r) => r.id === 'day-2026-11-29')?.createdAtMs,
    );
  });
});
