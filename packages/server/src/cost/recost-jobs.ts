/**
 * The cost module's leader jobs.
 *
 * Re-costing: recompute the cost of a range of stored calls with the prices in force now
 * (after a price change), and the rollups with it, through `TelemetryStore.recost`. The API
 * queues a job in the state database; the leader runs queued jobs one at a time, a UTC day
 * per step, recording after each step how far it got (fenced with its lease token). A job
 * left running by a leader that stopped is resumed by the next leader from the last recorded
 * day. Re-costing a range twice gives the same result as once, so a day redone after a crash
 * changes nothing. When a job ends, the stored reports whose figures read its range are
 * rebuilt.
 *
 * Scheduled reports: after each day, ISO week and month (UTC) ends, and a configured delay
 * for late calls, the leader builds the report of the period for all projects and stores it.
 */
import type { Clock, PriceBook } from '@reskpoints/core';
import { type Fence, fencedTransaction, StaleFenceError } from '../platform/fencing.js';
import type { SqlDatabase, SqlExecutor } from '../platform/sql.js';
import type { TelemetryStore } from '../store/ports.js';
import { RecostJobRepo, ReportRepo, reportId } from './cost-jobs-repo.js';
import { repriced } from './price-calls.js';
import { buildCostReport, type ReportPeriod, reportRange } from './reports.js';

const DAY_MS = 86_400_000;

export interface CostJobsDeps {
  state: SqlDatabase;
  telemetry: TelemetryStore;
  book: () => PriceBook;
  clock: Clock;
  logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

export interface ReportSchedule {
  periods: readonly ReportPeriod[];
  /** A period's report is made this long after it ends, so calls arriving late are in it. */
  delayMs: number;
  /** Reports kept per period. */
  keep: number;
  /** Groups per section. */
  groupsPerSection: number;
}

/**
 * Makes the report of the last whole period of each scheduled kind, when it is not stored yet.
 * Returns the ids of the reports it made.
 */
export async function runScheduledReports(
  deps: CostJobsDeps,
  schedule: ReportSchedule,
  fence: Fence,
  signal?: AbortSignal,
): Promise<string[]> {
  const repo = new ReportRepo(deps.state);
  const made: string[] = [];
  const nowMs = deps.clock.nowMs();
  for (const period of schedule.periods) {
    if (signal?.aborted) break;
    const atMs = nowMs - schedule.delayMs;
    const id = reportId(period, reportRange(period, atMs).fromMs);
    if (await repo.exists(id)) continue;
    const report = await buildCostReport(deps.telemetry, {
      period,
      atMs,
      filter: {},
      limit: schedule.groupsPerSection,
    });
    await fencedTransaction(deps.state, fence, deps.clock.nowMs(), async (tx) => {
      await repo.save(tx, report, deps.clock.nowMs());
      await repo.prune(tx, period, schedule.keep);
    });
    made.push(id);
  }
  return made;
}

/**
 * Works through queued (and interrupted) re-costing jobs until none is left, the lease is lost
 * (`signal`) or a newer leader wrote (`StaleFenceError`, rethrown). Returns the ids of the
 * jobs it finished.
 */
export async function runRecostJobs(
  deps: CostJobsDeps,
  fence: Fence,
  opts: { signal?: AbortSignal; keepJobs?: number; reportGroupsPerSection?: number } = {},
): Promise<string[]> {
  const jobs = new RecostJobRepo(deps.state);
  const finished: string[] = [];
  const fenced = <T>(fn: (tx: SqlExecutor) => Promise<T>) =>
    fencedTransaction(deps.state, fence, deps.clock.nowMs(), fn);
  for (;;) {
    if (opts.signal?.aborted) return finished;
    const job = await jobs.next();
    if (!job) return finished;
    if (!(await fenced((tx) => jobs.markRunning(tx, job.id, deps.clock.nowMs())))) continue;
    let error: string | null = null;
    try {
      let at = job.doneUntilMs;
      while (at < job.toMs) {
        if (opts.signal?.aborted) return finished;
        const until = Math.min(job.toMs, Math.floor(at / DAY_MS) * DAY_MS + DAY_MS);
        const book = deps.book();
        const p = await deps.telemetry.recost(
          { fromMs: at, toMs: until, ...(job.projectId === undefined ? {} : { projectId: job.projectId }) },
          (call) => repriced(call, book),
        );
        const from = at;
        const moved = await fenced((tx) =>
          jobs.advance(tx, job.id, { fromMs: from, untilMs: until, periods: 1, calls: p.callsRecosted }),
        );
        // Someone else moved the job on (it cannot happen under one fence): leave it be.
        if (!moved) return finished;
        at = until;
      }
    } catch (e) {
      if (e instanceof StaleFenceError) throw e;
      error = (e as Error).message;
      deps.logger?.warn({ err: e, job: job.id }, 're-costing job failed');
    }
    if (error === null) await rebuildReports(deps, fence, job.fromMs, job.toMs, opts.reportGroupsPerSection ?? 50);
    await fenced(async (tx) => {
      await jobs.finish(tx, job.id, deps.clock.nowMs(), error);
      await jobs.prune(tx, opts.keepJobs ?? 100);
    });
    finished.push(job.id);
  }
}

/** Rebuilds the stored reports that read calls in [fromMs, toMs), so they carry the new costs. */
async function rebuildReports(
  deps: CostJobsDeps,
  fence: Fence,
  fromMs: number,
  toMs: number,
  groupsPerSection: number,
): Promise<void> {
  const repo = new ReportRepo(deps.state);
  for (const stored of await repo.overlapping(fromMs, toMs)) {
    // The report of the period that ends at `toMs` is the one built at its end.
    const report = await buildCostReport(deps.telemetry, {
      period: stored.period,
      atMs: stored.toMs,
      filter: {},
      limit: groupsPerSection,
    });
    await fencedTransaction(deps.state, fence, deps.clock.nowMs(), (tx) => repo.save(tx, report, deps.clock.nowMs()));
  }
}
