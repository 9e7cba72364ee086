/**
 * The budgets module's state (DuckDB embedded, PostgreSQL in cluster mode): definitions, the
 * events of threshold crossings (one row per budget, period and threshold: the primary key makes
 * "once per threshold per period" hold across restarts and leaders), and each budget's status as
 * of its last evaluation.
 */
import type { SqlExecutor } from '../platform/sql.js';
import type { StateMigration } from '../platform/state-migrations.js';
import type { Budget } from './definition.js';

export const BUDGET_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    name: 'budgets, their events and status',
    steps: [
      `CREATE TABLE budgets_definitions (
        id TEXT NOT NULL PRIMARY KEY,
        project_id TEXT,
        definition_json TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      )`,
      `CREATE TABLE budgets_events (
        id TEXT NOT NULL PRIMARY KEY,
        budget_id TEXT NOT NULL,
        project_id TEXT,
        period_start_ms BIGINT NOT NULL,
        period_end_ms BIGINT NOT NULL,
        threshold_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        at_ms BIGINT NOT NULL,
        spend_usd DOUBLE PRECISION NOT NULL,
        amount_usd DOUBLE PRECISION NOT NULL,
        target_usd DOUBLE PRECISION,
        detail_json TEXT NOT NULL
      )`,
      'CREATE INDEX budgets_events_budget ON budgets_events (budget_id, at_ms)',
      'CREATE INDEX budgets_events_period_end ON budgets_events (period_end_ms)',
      `CREATE TABLE budgets_status (
        budget_id TEXT NOT NULL PRIMARY KEY,
        evaluated_at_ms BIGINT NOT NULL,
        status_json TEXT NOT NULL
      )`,
    ],
  },
];

export type ThresholdKind = 'percent' | 'absolute' | 'forecast' | 'burn-rate';

/** What the event records beyond the columns: the numbers behind the crossing. */
export interface BudgetEventDetail {
  /** One sentence for people: "spend reached 80% ($800.00 of $1,000.00)". */
  message: string;
  percentUsed: number;
  /** Forecast: the projected period total and when it reaches the target. */
  projectedUsd?: number;
  crossesAtMs?: number;
  /** Burn rate: the multiples of the even rate over the long and short windows. */
  burnRate?: number;
  shortBurnRate?: number;
  windowMs?: number;
  shortWindowMs?: number;
  /** The quota the threshold's action put in force (until the period's end). */
  action?: { kind: 'block' | 'throttle'; quotaId: string; untilMs: number };
}

export interface BudgetEvent {
  /** `<budget>|<period start>|<threshold>`: at most one per threshold and period. */
  id: string;
  budgetId: string;
  projectId: string | null;
  periodStartMs: number;
  periodEndMs: number;
  thresholdId: string;
  kind: ThresholdKind;
  /** When the evaluation found the crossing, epoch ms. */
  atMs: number;
  spendUsd: number;
  amountUsd: number;
  /** The amount the threshold stands for, USD (null for burn rates). */
  targetUsd: number | null;
  detail: BudgetEventDetail;
}

export const eventId = (budgetId: string, periodStartMs: number, thresholdId: string) =>
  `${budgetId}|${periodStartMs}|${thresholdId}`;

type DefinitionRow = {
  id: string;
  project_id: string | null;
  definition_json: string;
  created_at_ms: number;
  updated_at_ms: number;
};

type EventRow = {
  id: string;
  budget_id: string;
  project_id: string | null;
  period_start_ms: number;
  period_end_ms: number;
  threshold_id: string;
  kind: string;
  at_ms: number;
  spend_usd: number;
  amount_usd: number;
  target_usd: number | null;
  detail_json: string;
};

const budgetOf = (r: DefinitionRow): Budget => ({
  ...(JSON.parse(r.definition_json) as Omit<Budget, 'id' | 'createdAtMs' | 'updatedAtMs'>),
  id: r.id,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
});

const eventOf = (r: EventRow): BudgetEvent => ({
  id: r.id,
  budgetId: r.budget_id,
  projectId: r.project_id,
  periodStartMs: r.period_start_ms,
  periodEndMs: r.period_end_ms,
  thresholdId: r.threshold_id,
  kind: r.kind as ThresholdKind,
  atMs: r.at_ms,
  spendUsd: r.spend_usd,
  amountUsd: r.amount_usd,
  targetUsd: r.target_usd,
  detail: JSON.parse(r.detail_json) as BudgetEventDetail,
});

function definitionJson(b: Budget): string {
  const { id: _id, createdAtMs: _c, updatedAtMs: _u, ...rest } = b;
  return JSON.stringify(rest);
}

export class BudgetRepo {
  constructor(private readonly db: SqlExecutor) {}

  /** Every budget, or those of one project (scoped to exactly that project), by id. */
  async list(projectId?: string): Promise<Budget[]> {
    const rows =
      projectId === undefined
        ? await this.db.query<DefinitionRow>('SELECT * FROM budgets_definitions ORDER BY id')
        : await this.db.query<DefinitionRow>('SELECT * FROM budgets_definitions WHERE project_id = $1 ORDER BY id', [
            projectId,
          ]);
    return rows.map(budgetOf);
  }

  async get(id: string): Promise<Budget | null> {
    const rows = await this.db.query<DefinitionRow>('SELECT * FROM budgets_definitions WHERE id = $1', [id]);
    return rows[0] ? budgetOf(rows[0]) : null;
  }

  async count(): Promise<number> {
    const rows = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM budgets_definitions');
    return rows[0]?.n ?? 0;
  }

  /** Creates the budget; false when one with its id exists. */
  async create(b: Budget, projectId: string | null): Promise<boolean> {
    const n = await this.db.exec(
      `INSERT INTO budgets_definitions (id, project_id, definition_json, created_at_ms, updated_at_ms)
       VALUES ($1, $2, $3, CAST($4 AS BIGINT), CAST($5 AS BIGINT)) ON CONFLICT (id) DO NOTHING`,
      [b.id, projectId, definitionJson(b), b.createdAtMs, b.updatedAtMs],
    );
    return n > 0;
  }

  /** Creates or replaces the budget, keeping its first creation time; returns it as stored. */
  async put(b: Budget, projectId: string | null): Promise<Budget> {
    const rows = await this.db.query<DefinitionRow>(
      `INSERT INTO budgets_definitions (id, project_id, definition_json, created_at_ms, updated_at_ms)
       VALUES ($1, $2, $3, CAST($4 AS BIGINT), CAST($5 AS BIGINT))
       ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id, definition_json = excluded.definition_json,
         updated_at_ms = excluded.updated_at_ms
       RETURNING *`,
      [b.id, projectId, definitionJson(b), b.createdAtMs, b.updatedAtMs],
    );
    return budgetOf(rows[0] as DefinitionRow);
  }

  /** Deletes the budget with its events and status; false when there was none. */
  async delete(id: string): Promise<boolean> {
    await this.db.exec('DELETE FROM budgets_events WHERE budget_id = $1', [id]);
    await this.db.exec('DELETE FROM budgets_status WHERE budget_id = $1', [id]);
    return (await this.db.exec('DELETE FROM budgets_definitions WHERE id = $1', [id])) > 0;
  }

  /** Records a crossing; false when this threshold already crossed in this period. */
  async insertEvent(e: BudgetEvent): Promise<boolean> {
    const n = await this.db.exec(
      `INSERT INTO budgets_events (id, budget_id, project_id, period_start_ms, period_end_ms, threshold_id, kind, at_ms,
         spend_usd, amount_usd, target_usd, detail_json)
       VALUES ($1, $2, $3, CAST($4 AS BIGINT), CAST($5 AS BIGINT), $6, $7, CAST($8 AS BIGINT), $9, $10, $11, $12)
       ON CONFLICT (id) DO NOTHING`,
      [
        e.id,
        e.budgetId,
        e.projectId,
        e.periodStartMs,
        e.periodEndMs,
        e.thresholdId,
        e.kind,
        e.atMs,
        e.spendUsd,
        e.amountUsd,
        e.targetUsd,
        JSON.stringify(e.detail),
      ],
    );
    return n > 0;
  }

  /** A budget's events, newest first; `periodStartMs` narrows to one period. */
  async events(budgetId: string, opts: { limit: number; periodStartMs?: number }): Promise<BudgetEvent[]> {
    const rows =
      opts.periodStartMs === undefined
        ? await this.db.query<EventRow>(
            'SELECT * FROM budgets_events WHERE budget_id = $1 ORDER BY at_ms DESC, id DESC LIMIT CAST($2 AS BIGINT)',
            [budgetId, opts.limit],
          )
        : await this.db.query<EventRow>(
            `SELECT * FROM budgets_events WHERE budget_id = $1 AND period_start_ms = CAST($2 AS BIGINT)
             ORDER BY at_ms DESC, id DESC LIMIT CAST($3 AS BIGINT)`,
            [budgetId, opts.periodStartMs, opts.limit],
          );
    return rows.map(eventOf);
  }

  /** Events of periods not ended by `nowMs` (every budget), oldest first. */
  async openPeriodEvents(nowMs: number): Promise<BudgetEvent[]> {
    const rows = await this.db.query<EventRow>(
      'SELECT * FROM budgets_events WHERE period_end_ms > CAST($1 AS BIGINT) ORDER BY at_ms, id',
      [nowMs],
    );
    return rows.map(eventOf);
  }

  async putStatus(budgetId: string, evaluatedAtMs: number, status: unknown): Promise<void> {
    await this.db.exec(
      `INSERT INTO budgets_status (budget_id, evaluated_at_ms, status_json) VALUES ($1, CAST($2 AS BIGINT), $3)
       ON CONFLICT (budget_id) DO UPDATE SET evaluated_at_ms = excluded.evaluated_at_ms, status_json = excluded.status_json`,
      [budgetId, evaluatedAtMs, JSON.stringify(status)],
    );
  }

  /** Status as of each budget's last evaluation, by budget id. */
  async statuses<S>(): Promise<Map<string, S>> {
    const rows = await this.db.query<{ budget_id: string; status_json: string }>(
      'SELECT budget_id, status_json FROM budgets_status',
    );
    return new Map(rows.map((r) => [r.budget_id, JSON.parse(r.status_json) as S]));
  }

  async status<S>(budgetId: string): Promise<S | null> {
    const rows = await this.db.query<{ status_json: string }>(
      'SELECT status_json FROM budgets_status WHERE budget_id = $1',
      [budgetId],
    );
    return rows[0] ? (JSON.parse(rows[0].status_json) as S) : null;
  }
}
