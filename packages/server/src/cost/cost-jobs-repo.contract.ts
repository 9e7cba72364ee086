/**
 * The cost module's job state contract (stored reports, re-costing jobs): run on DuckDB
 * (`cost-jobs-repo.test.ts`) and PostgreSQL (`cost-jobs-repo.cluster.test.ts`).
 */
import { expect, it } from 'vitest';
import { fencedTransaction, StaleFenceError } from '../platform/fencing.js';
import type { SqlDatabase } from '../platform/sql.js';
import { RecostJobRepo, ReportRepo, reportId } from './cost-jobs-repo.js';
import type { CostReport, ReportPeriod, ReportRow } from './reports.js';

const DAY = 86_400_000;

function row(section: ReportRow['section'], group: string, costUsd: number | null, requests: number): ReportRow {
  return {
    section,
    group,
    costUsd,
    previousCostUsd: 1.5,
    changeUsd: costUsd === null ? null : costUsd - 1.5,
    shareOfCost: 1,
    requests,
    costPerRequestUsd: costUsd === null ? null : costUsd / requests,
    inputCostUsd: 0.1,
    outputCostUsd: 0.2,
    cacheCostUsd: 0,
    reasoningCostUsd: 0,
    requestCostUsd: 0,
    unpricedRequests: 2,
    costIsLowerBound: true,
  };
}

function report(period: ReportPeriod, fromMs: number, toMs: number, costUsd: number): CostReport {
  return {
    period,
    fromMs,
    toMs,
    previousFromMs: fromMs - (toMs - fromMs),
    changeRatio: (costUsd - 1.5) / 1.5,
    rows: [row('total', '', costUsd, 10), row('model', 'gpt-4o, "quoted"', costUsd, 10)],
  };
}

export function costJobsRepoContract(db: () => SqlDatabase): void {
  const fence = { name: 'leader', token: 3 };

  it('stores a report under its period and first day, lists it newest first and returns it whole', async () => {
    const repo = new ReportRepo(db());
    const d1 = Date.UTC(2026, 10, 29);
    const d2 = d1 + DAY;
    await fencedTransaction(db(), fence, 1000, async (tx) => {
      await repo.save(tx, report('day', d1, d1 + DAY, 2.25), 1000);
      await repo.save(tx, report('day', d2, d2 + DAY, 3.5), 2000);
      await repo.save(tx, report('month', Date.UTC(2026, 9, 1), Date.UTC(2026, 10, 1), 70.125), 3000);
    });
    expect(reportId('day', d1)).toBe('day-2026-11-29');
    const days = await repo.list({ period: 'day', limit: 10 });
    expect(days.map((r) => r.id)).toEqual(['day-2026-11-30', 'day-2026-11-29']);
    expect(days[0]).toEqual({
      id: 'day-2026-11-30',
      period: 'day',
      fromMs: d2,
      toMs: d2 + DAY,
      createdAtMs: 2000,
      updatedAtMs: 2000,
      costUsd: 3.5,
      previousCostUsd: 1.5,
      changeRatio: (3.5 - 1.5) / 1.5,
      requests: 10,
      unpricedRequests: 2,
      costIsLowerBound: true,
    });
    expect((await repo.list({ limit: 10 })).map((r) => r.id)).toEqual([
      'day-2026-11-30',
      'day-2026-11-29',
      'month-2026-10-01',
    ]);
    expect(await repo.list({ limit: 1 })).toHaveLength(1);
    const month = await repo.get('month-2026-10-01');
    expect(month?.report).toEqual(report('month', Date.UTC(2026, 9, 1), Date.UTC(2026, 10, 1), 70.125));
    expect(await repo.get('month-1999-01-01')).toBeNull();
    expect(await repo.exists('day-2026-11-29')).toBe(true);
  });

  it('replaces a rebuilt report and keeps when it was first made; prunes the oldest of a period', async () => {
    const repo = new ReportRepo(db());
    const d = Date.UTC(2026, 10, 1);
    for (let i = 0; i < 5; i++)
      await fencedTransaction(db(), fence, 1000, (tx) =>
        repo.save(tx, report('day', d + i * DAY, d + (i + 1) * DAY, i), 1000 + i),
      );
    await fencedTransaction(db(), fence, 1000, (tx) => repo.save(tx, report('day', d, d + DAY, 9.75), 9000));
    const first = await repo.get('day-2026-11-01');
    expect(first).toMatchObject({ createdAtMs: 1000, updatedAtMs: 9000, costUsd: 9.75 });
    expect(first?.report.rows[0]?.costUsd).toBe(9.75);
    await fencedTransaction(db(), fence, 1000, (tx) => repo.save(tx, report('week', d, d + 7 * DAY, 1), 1000));
    expect(await db().transaction((tx) => repo.prune(tx, 'day', 3))).toBe(2);
    expect((await repo.list({ period: 'day', limit: 10 })).map((r) => r.id)).toEqual([
      'day-2026-11-05',
      'day-2026-11-04',
      'day-2026-11-03',
    ]);
    expect(await repo.list({ period: 'week', limit: 10 })).toHaveLength(1);
  });

  it('finds the reports that read a range: their own period or the one before it', async () => {
    const repo = new ReportRepo(db());
    const nov = Date.UTC(2026, 10, 1);
    const dec = Date.UTC(2026, 11, 1);
    await fencedTransaction(db(), fence, 1000, async (tx) => {
      await repo.save(tx, report('month', nov, dec, 1), 1);
      await repo.save(tx, report('day', dec - DAY, dec, 1), 1);
      await repo.save(tx, report('day', dec - 3 * DAY, dec - 2 * DAY, 1), 1);
    });
    const ids = async (from: number, to: number) => (await repo.overlapping(from, to)).map((r) => r.id).sort();
    // A range in October: November's report compares against October.
    expect(await ids(Date.UTC(2026, 9, 10), Date.UTC(2026, 9, 11))).toEqual(['month-2026-11-01']);
    // The day before the last day: that day's report compares against it.
    expect(await ids(dec - 2 * DAY, dec - 2 * DAY + 1)).toEqual(['day-2026-11-30', 'month-2026-11-01']);
    expect(await ids(dec, dec + DAY)).toEqual([]);
  });

  it('queues re-costing jobs, hands out an interrupted one first, and records progress only from where it stood', async () => {
    const jobs = new RecostJobRepo(db());
    const from = Date.UTC(2026, 10, 1, 6);
    const a = await jobs.enqueue({ fromMs: from, toMs: from + 2 * DAY }, 100);
    const b = await jobs.enqueue({ fromMs: from, toMs: from + DAY, projectId: 'shop' }, 200);
    expect(a).toMatchObject({ state: 'queued', doneUntilMs: from, periodsDone: 0, periodsTotal: 3, callsRecosted: 0 });
    expect(await jobs.get(b.id)).toEqual(b);
    expect((await jobs.next())?.id).toBe(a.id);
    // b is started (by a leader that then stopped); it comes before the older queued a.
    expect(await fencedTransaction(db(), fence, 300, (tx) => jobs.markRunning(tx, b.id, 300))).toBe(true);
    expect((await jobs.next())?.id).toBe(b.id);
    const step = { fromMs: from, untilMs: Date.UTC(2026, 10, 2), periods: 1, calls: 40 };
    expect(await fencedTransaction(db(), fence, 300, (tx) => jobs.advance(tx, b.id, step))).toBe(true);
    // The same step again (a stale writer's) is refused: the job has moved on.
    expect(await fencedTransaction(db(), fence, 300, (tx) => jobs.advance(tx, b.id, step))).toBe(false);
    // A restart keeps when it started.
    await fencedTransaction(db(), fence, 400, (tx) => jobs.markRunning(tx, b.id, 400));
    expect(await jobs.get(b.id)).toMatchObject({
      state: 'running',
      startedAtMs: 300,
      doneUntilMs: Date.UTC(2026, 10, 2),
      periodsDone: 1,
      callsRecosted: 40,
      projectId: 'shop',
    });
    await fencedTransaction(db(), fence, 500, (tx) => jobs.finish(tx, b.id, 500, null));
    await fencedTransaction(db(), fence, 600, (tx) => jobs.finish(tx, a.id, 600, 'disk full'));
    expect(await jobs.get(b.id)).toMatchObject({ state: 'done', finishedAtMs: 500, error: null });
    expect(await jobs.get(a.id)).toMatchObject({ state: 'failed', finishedAtMs: 600, error: 'disk full' });
    expect(await jobs.next()).toBeNull();
    // A finished job is not started again.
    expect(await fencedTransaction(db(), fence, 700, (tx) => jobs.markRunning(tx, a.id, 700))).toBe(false);
    expect((await jobs.list(10)).map((j) => j.id)).toEqual([b.id, a.id]);
    expect(await db().transaction((tx) => jobs.prune(tx, 1))).toBe(1);
    expect((await jobs.list(10)).map((j) => j.id)).toEqual([b.id]);
  });

  it("refuses a former leader's writes once a newer leader wrote", async () => {
    const jobs = new RecostJobRepo(db());
    const job = await jobs.enqueue({ fromMs: 0, toMs: DAY }, 1);
    await fencedTransaction(db(), { name: 'leader', token: 7 }, 10, (tx) => jobs.markRunning(tx, job.id, 10));
    const stale = await fencedTransaction(db(), { name: 'leader', token: 6 }, 20, (tx) =>
      jobs.finish(tx, job.id, 20, null),
    ).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(StaleFenceError);
    expect(await jobs.get(job.id)).toMatchObject({ state: 'running', finishedAtMs: null });
  });
}
