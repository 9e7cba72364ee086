/**
 * The cost module's job state: cost reports made on a schedule (kept so they can be listed and
 * fetched later) and re-costing jobs (queued by the API, run by the leader, resumable after a
 * restart or a change of leader). Written once against the state SQL port (DuckDB embedded,
 * PostgreSQL in cluster mode); the contract suite (`cost-jobs-repo.contract.ts`) runs on both.
 *
 * Writes made by leader jobs take an executor: the caller passes the transaction of
 * `fencedTransaction`, so a former leader's late write is refused.
 */
import { randomHex } from '@reskpoints/core';
import { type SqlExecutor, sqlNumber, sqlNumberOrNull } from '../platform/sql.js';
import type { StateMigration } from '../platform/state-migrations.js';
import type { CostReport, ReportPeriod } from './reports.js';

const DAY_MS = 86_400_000;

export const COST_JOBS_MIGRATION: StateMigration = {
  version: 2,
  name: 'stored cost reports, re-costing jobs',
  steps: [
    // One report per period and start (id `month-2026-11-01`); `summary` is the total row's
    // headline figures (JSON) so a listing need not parse every body.
    `CREATE TABLE cost_reports (
      id TEXT NOT NULL PRIMARY KEY,
      period TEXT NOT NULL,
      from_ms BIGINT NOT NULL,
      to_ms BIGINT NOT NULL,
      created_at_ms BIGINT NOT NULL,
      updated_at_ms BIGINT NOT NULL,
      summary TEXT NOT NULL,
      body TEXT NOT NULL
    )`,
    'CREATE INDEX cost_reports_period ON cost_reports (period, from_ms)',
    `CREATE TABLE cost_recost_jobs (
      id TEXT NOT NULL PRIMARY KEY,
      from_ms BIGINT NOT NULL,
      to_ms BIGINT NOT NULL,
      project_id TEXT,
      state TEXT NOT NULL,
      done_until_ms BIGINT NOT NULL,
      periods_done BIGINT NOT NULL,
      periods_total BIGINT NOT NULL,
      calls_recosted BIGINT NOT NULL,
      created_at_ms BIGINT NOT NULL,
      started_at_ms BIGINT,
      finished_at_ms BIGINT,
      error TEXT
    )`,
    'CREATE INDEX cost_recost_jobs_state ON cost_recost_jobs (state, created_at_ms)',
  ],
};

/** `day-2026-11-30`, `week-2026-11-23`, `month-2026-11-01`: the period and its first UTC day. */
export function reportId(period: ReportPeriod, fromMs: number): string {
  return `${period}-${new Date(fromMs).toISOString().slice(0, 10)}`;
}

/** A stored report's headline: what a listing shows. */
export interface StoredReportSummary {
  id: string;
  period: ReportPeriod;
  fromMs: number;
  toMs: number;
  createdAtMs: number;
  /** Later than `createdAtMs` when the report was rebuilt (after a re-costing of its range). */
  updatedAtMs: number;
  costUsd: number | null;
  previousCostUsd: number | null;
  changeRatio: number | null;
  requests: number;
  unpricedRequests: number;
  costIsLowerBound: boolean;
}

export interface StoredReport extends StoredReportSummary {
  report: CostReport;
}

interface ReportRow {
  id: string;
  period: string;
  from_ms: unknown;
  to_ms: unknown;
  created_at_ms: unknown;
  updated_at_ms: unknown;
  summary: string;
  body?: string;
}

function summaryOf(report: CostReport): Record<string, unknown> {
  const total = report.rows.find((r) => r.section === 'total');
  return {
    costUsd: total?.costUsd ?? null,
    previousCostUsd: total?.previousCostUsd ?? null,
    changeRatio: report.changeRatio,
    requests: total?.requests ?? 0,
    unpricedRequests: total?.unpricedRequests ?? 0,
    costIsLowerBound: total?.costIsLowerBound ?? false,
  };
}

function summaryFromRow(r: ReportRow): StoredReportSummary {
  const s = JSON.parse(r.summary) as Omit<
    StoredReportSummary,
    'id' | 'period' | 'fromMs' | 'toMs' | 'createdAtMs' | 'updatedAtMs'
  >;
  return {
    id: r.id,
    period: r.period as ReportPeriod,
    fromMs: sqlNumber(r.from_ms),
    toMs: sqlNumber(r.to_ms),
    createdAtMs: sqlNumber(r.created_at_ms),
    updatedAtMs: sqlNumber(r.updated_at_ms),
    costUsd: s.costUsd,
    previousCostUsd: s.previousCostUsd,
    changeRatio: s.changeRatio,
    requests: s.requests,
    unpricedRequests: s.unpricedRequests,
    costIsLowerBound: s.costIsLowerBound,
  };
}

const REPORT_HEAD = 'id, period, from_ms, to_ms, created_at_ms, updated_at_ms, summary';

export class ReportRepo {
  constructor(private readonly db: SqlExecutor) {}

  /** Newest first; `period` narrows to one kind. */
  async list(q: { period?: ReportPeriod; limit: number }): Promise<StoredReportSummary[]> {
    const rows = await this.db.query<ReportRow & Record<string, unknown>>(
      q.period
        ? `SELECT ${REPORT_HEAD} FROM cost_reports WHERE period = $1 ORDER BY from_ms DESC, id LIMIT $2`
        : `SELECT ${REPORT_HEAD} FROM cost_reports ORDER BY from_ms DESC, period, id LIMIT $1`,
      q.period ? [q.period, q.limit] : [q.limit],
    );
    return rows.map(summaryFromRow);
  }

  async get(id: string): Promise<StoredReport | null> {
    const rows = await this.db.query<ReportRow & Record<string, unknown>>(
      `SELECT ${REPORT_HEAD}, body FROM cost_reports WHERE id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) return null;
    return { ...summaryFromRow(r), report: JSON.parse(r.body as string) as CostReport };
  }

  async exists(id: string, exec: SqlExecutor = this.db): Promise<boolean> {
    return (await exec.query('SELECT id FROM cost_reports WHERE id = $1', [id])).length > 0;
  }

  /** Reports whose figures read calls in [fromMs, toMs): their period or the one before it. */
  async overlapping(fromMs: number, toMs: number): Promise<StoredReportSummary[]> {
    const rows = await this.db.query<ReportRow & Record<string, unknown>>(
      `SELECT ${REPORT_HEAD} FROM cost_reports WHERE to_ms > $1 ORDER BY from_ms`,
      [fromMs],
    );
    // A report reads calls from the start of the period before its own.
    return rows.map(summaryFromRow).filter((r) => previousStart(r) < toMs);
  }

  /** Inserts the report, or replaces the one with its id (keeping when it was first made). */
  async save(tx: SqlExecutor, report: CostReport, nowMs: number): Promise<string> {
    const id = reportId(report.period, report.fromMs);
    await tx.exec(
      `INSERT INTO cost_reports (id, period, from_ms, to_ms, created_at_ms, updated_at_ms, summary, body)
       VALUES ($1, $2, $3, $4, $5, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET updated_at_ms = excluded.updated_at_ms, summary = excluded.summary,
         body = excluded.body`,
      [id, report.period, report.fromMs, report.toMs, nowMs, JSON.stringify(summaryOf(report)), JSON.stringify(report)],
    );
    return id;
  }

  /** Keeps the newest `keep` reports of the period; returns how many were deleted. */
  async prune(tx: SqlExecutor, period: ReportPeriod, keep: number): Promise<number> {
    const rows = await tx.query<{ from_ms: unknown }>(
      'SELECT from_ms FROM cost_reports WHERE period = $1 ORDER BY from_ms DESC LIMIT 1 OFFSET $2',
      [period, Math.max(0, keep - 1)],
    );
    const oldestKept = rows[0] ? sqlNumber(rows[0].from_ms) : null;
    if (oldestKept === null) return 0;
    return tx.exec('DELETE FROM cost_reports WHERE period = $1 AND from_ms < $2', [period, oldestKept]);
  }
}

function previousStart(r: StoredReportSummary): number {
  if (r.period === 'day') return r.fromMs - DAY_MS;
  if (r.period === 'week') return r.fromMs - 7 * DAY_MS;
  const d = new Date(r.fromMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
}

export type RecostJobState = 'queued' | 'running' | 'done' | 'failed';

export interface RecostJob {
  id: string;
  fromMs: number;
  toMs: number;
  projectId?: string;
  state: RecostJobState;
  /** Calls that started before this are re-costed (the job resumes from here). */
  doneUntilMs: number;
  /** UTC days of the range done, and how many the range has. */
  periodsDone: number;
  periodsTotal: number;
  callsRecosted: number;
  createdAtMs: number;
  startedAtMs: number | null;
  finishedAtMs: number | null;
  error: string | null;
}

interface JobRow {
  id: string;
  from_ms: unknown;
  to_ms: unknown;
  project_id: string | null;
  state: string;
  done_until_ms: unknown;
  periods_done: unknown;
  periods_total: unknown;
  calls_recosted: unknown;
  created_at_ms: unknown;
  started_at_ms: unknown;
  finished_at_ms: unknown;
  error: string | null;
}

const JOB_COLUMNS =
  'id, from_ms, to_ms, project_id, state, done_until_ms, periods_done, periods_total, calls_recosted, created_at_ms, started_at_ms, finished_at_ms, error';

function jobFromRow(r: JobRow): RecostJob {
  return {
    id: r.id,
    fromMs: sqlNumber(r.from_ms),
    toMs: sqlNumber(r.to_ms),
    ...(r.project_id === null ? {} : { projectId: r.project_id }),
    state: r.state as RecostJobState,
    doneUntilMs: sqlNumber(r.done_until_ms),
    periodsDone: sqlNumber(r.periods_done),
    periodsTotal: sqlNumber(r.periods_total),
    callsRecosted: sqlNumber(r.calls_recosted),
    createdAtMs: sqlNumber(r.created_at_ms),
    startedAtMs: sqlNumberOrNull(r.started_at_ms),
    finishedAtMs: sqlNumberOrNull(r.finished_at_ms),
    error: r.error,
  };
}

/** The UTC days [fromMs, toMs) touches: the job's periods. */
export function recostDays(fromMs: number, toMs: number): number {
  const first = Math.floor(fromMs / DAY_MS) * DAY_MS;
  return toMs > fromMs ? Math.ceil((toMs - first) / DAY_MS) : 0;
}

export class RecostJobRepo {
  constructor(private readonly db: SqlExecutor) {}

  /** Queues a job (state `queued`); the leader picks it up. */
  async enqueue(q: { fromMs: number; toMs: number; projectId?: string }, nowMs: number): Promise<RecostJob> {
    const job: RecostJob = {
      id: `rc_${randomHex(8)}`,
      fromMs: q.fromMs,
      toMs: q.toMs,
      ...(q.projectId === undefined ? {} : { projectId: q.projectId }),
      state: 'queued',
      doneUntilMs: q.fromMs,
      periodsDone: 0,
      periodsTotal: recostDays(q.fromMs, q.toMs),
      callsRecosted: 0,
      createdAtMs: nowMs,
      startedAtMs: null,
      finishedAtMs: null,
      error: null,
    };
    await this.db.exec(
      `INSERT INTO cost_recost_jobs (${JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, NULL)`,
      [
        job.id,
        job.fromMs,
        job.toMs,
        q.projectId ?? null,
        job.state,
        job.doneUntilMs,
        job.periodsDone,
        job.periodsTotal,
        job.callsRecosted,
        nowMs,
      ],
    );
    return job;
  }

  async get(id: string, exec: SqlExecutor = this.db): Promise<RecostJob | null> {
    const rows = await exec.query<JobRow & Record<string, unknown>>(
      `SELECT ${JOB_COLUMNS} FROM cost_recost_jobs WHERE id = $1`,
      [id],
    );
    return rows[0] ? jobFromRow(rows[0]) : null;
  }

  /** Newest first. */
  async list(limit: number): Promise<RecostJob[]> {
    const rows = await this.db.query<JobRow & Record<string, unknown>>(
      `SELECT ${JOB_COLUMNS} FROM cost_recost_jobs ORDER BY created_at_ms DESC, id DESC LIMIT $1`,
      [limit],
    );
    return rows.map(jobFromRow);
  }

  /** The job to work on: one left running (by a leader that stopped), else the oldest queued. */
  async next(exec: SqlExecutor = this.db): Promise<RecostJob | null> {
    const rows = await exec.query<JobRow & Record<string, unknown>>(
      `SELECT ${JOB_COLUMNS} FROM cost_recost_jobs WHERE state IN ('queued', 'running')
       ORDER BY CASE WHEN state = 'running' THEN 0 ELSE 1 END, created_at_ms, id LIMIT 1`,
    );
    return rows[0] ? jobFromRow(rows[0]) : null;
  }

  /** queued → running (a running job stays running); false when the job is neither. */
  async markRunning(tx: SqlExecutor, id: string, nowMs: number): Promise<boolean> {
    const n = await tx.exec(
      `UPDATE cost_recost_jobs SET state = 'running', started_at_ms = COALESCE(started_at_ms, $2)
       WHERE id = $1 AND state IN ('queued', 'running')`,
      [id, nowMs],
    );
    return n === 1;
  }

  /**
   * Records a part of the range done: from `fromMs` (which must be where the job stood, so a
   * stale writer's progress is refused) to `untilMs`, with the calls re-costed in it.
   */
  async advance(
    tx: SqlExecutor,
    id: string,
    step: { fromMs: number; untilMs: number; periods: number; calls: number },
  ): Promise<boolean> {
    const n = await tx.exec(
      `UPDATE cost_recost_jobs SET done_until_ms = $3, periods_done = periods_done + $4,
         calls_recosted = calls_recosted + $5
       WHERE id = $1 AND state = 'running' AND done_until_ms = $2`,
      [id, step.fromMs, step.untilMs, step.periods, step.calls],
    );
    return n === 1;
  }

  async finish(tx: SqlExecutor, id: string, nowMs: number, error: string | null): Promise<void> {
    await tx.exec(
      `UPDATE cost_recost_jobs SET state = $2, finished_at_ms = $3, error = $4
       WHERE id = $1 AND state IN ('queued', 'running')`,
      [id, error === null ? 'done' : 'failed', nowMs, error],
    );
  }

  /** Forgets finished jobs beyond the newest `keep`. */
  async prune(tx: SqlExecutor, keep: number): Promise<number> {
    const rows = await tx.query<{ created_at_ms: unknown }>(
      `SELECT created_at_ms FROM cost_recost_jobs WHERE state IN ('done', 'failed')
       ORDER BY created_at_ms DESC LIMIT 1 OFFSET $1`,
      [Math.max(0, keep - 1)],
    );
    if (!rows[0]) return 0;
    return tx.exec(`DELETE FROM cost_recost_jobs WHERE state IN ('done', 'failed') AND created_at_ms < $1`, [
      sqlNumber(rows[0].created_at_ms),
    ]);
  }
}
