/**
 * The Langfuse pull connector: for a team that keeps Langfuse and wants ReskPoints to chart and
 * alert on its costs. Per project, a Langfuse instance (base URL and key pair) is configured;
 * a periodic job reads its daily metrics for the last `lookbackDays` days and stores them as a
 * daily series, one entry per day, replaced on every pull (today's numbers grow during the
 * day, and late events change past days). The series is kept apart from LLM calls: Langfuse
 * reports per-day sums, not calls, and mixing them into call counts would double count any
 * application that also sends to ReskPoints.
 *
 * State lives in the langfuse module's tables: `langfuse_connectors` (configuration and last
 * outcome; the secret key is needed to call Langfuse, so it is stored as given) and
 * `langfuse_daily_metrics` (each day as Langfuse reported it, with the pull time).
 */
import type { Clock } from '@reskpoints/core';
import type { Logger } from 'pino';
import { type SqlExecutor, sqlNumber } from '../../platform/sql.js';
import type { StateMigration } from '../../platform/state-migrations.js';
import { DAY_MS, type LangfuseDailyMetric, utcDate } from '../daily-metrics.js';
import type { LangfuseMetricsClient, LangfuseSource } from './langfuse-client.js';

export interface LangfuseConnectorConfig extends LangfuseSource {
  /** Days read back on every pull, today included; default 7. */
  lookbackDays: number;
}

export interface LangfuseConnectorStatus {
  lastPullAtMs: number | null;
  lastSuccessAtMs: number | null;
  /** Why the last pull failed; null after a success. */
  lastError: string | null;
  /** Days stored by the last successful pull. */
  daysStored: number;
}

export interface StoredLangfuseDay extends LangfuseDailyMetric {
  /** When this day was last read from Langfuse. */
  pulledAtMs: number;
}

interface ConnectorRecord {
  config: LangfuseConnectorConfig;
  status: LangfuseConnectorStatus;
}

const EMPTY_STATUS: LangfuseConnectorStatus = {
  lastPullAtMs: null,
  lastSuccessAtMs: null,
  lastError: null,
  daysStored: 0,
};

/** The langfuse module's tables (see module.ts). */
export const LANGFUSE_CONNECTOR_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    name: 'Langfuse connectors and the daily metrics they pull',
    steps: [
      `CREATE TABLE langfuse_connectors (
        project_id TEXT NOT NULL PRIMARY KEY,
        config TEXT NOT NULL,
        status TEXT NOT NULL
      )`,
      `CREATE TABLE langfuse_daily_metrics (
        project_id TEXT NOT NULL,
        day TEXT NOT NULL,
        metric TEXT NOT NULL,
        pulled_at_ms BIGINT NOT NULL,
        PRIMARY KEY (project_id, day)
      )`,
    ],
  },
];

/** Configurations, outcomes and the stored series, on the state SQL port. */
export class LangfuseConnectorRepository {
  constructor(private readonly db: SqlExecutor) {}

  async get(projectId: string): Promise<ConnectorRecord | null> {
    const rows = await this.db.query<{ config: string; status: string }>(
      'SELECT config, status FROM langfuse_connectors WHERE project_id = $1',
      [projectId],
    );
    const r = rows[0];
    return r ? { config: JSON.parse(r.config), status: JSON.parse(r.status) } : null;
  }

  async configure(projectId: string, config: LangfuseConnectorConfig): Promise<ConnectorRecord> {
    const before = await this.get(projectId);
    // A new source starts with a clean outcome; an unchanged one keeps its history.
    const same = before && before.config.baseUrl === config.baseUrl && before.config.publicKey === config.publicKey;
    const record: ConnectorRecord = { config, status: same ? before.status : { ...EMPTY_STATUS } };
    await this.db.exec(
      `INSERT INTO langfuse_connectors (project_id, config, status) VALUES ($1, $2, $3)
       ON CONFLICT (project_id) DO UPDATE SET config = excluded.config, status = excluded.status`,
      [projectId, JSON.stringify(record.config), JSON.stringify(record.status)],
    );
    return record;
  }

  async remove(projectId: string): Promise<boolean> {
    return (await this.db.exec('DELETE FROM langfuse_connectors WHERE project_id = $1', [projectId])) > 0;
  }

  async setStatus(projectId: string, status: LangfuseConnectorStatus): Promise<void> {
    await this.db.exec('UPDATE langfuse_connectors SET status = $2 WHERE project_id = $1', [
      projectId,
      JSON.stringify(status),
    ]);
  }

  async list(): Promise<Array<{ projectId: string } & ConnectorRecord>> {
    const rows = await this.db.query<{ project_id: string; config: string; status: string }>(
      'SELECT project_id, config, status FROM langfuse_connectors ORDER BY project_id',
    );
    return rows.map((r) => ({ projectId: r.project_id, config: JSON.parse(r.config), status: JSON.parse(r.status) }));
  }

  async putDays(projectId: string, days: LangfuseDailyMetric[], pulledAtMs: number): Promise<void> {
    for (const d of days)
      await this.db.exec(
        `INSERT INTO langfuse_daily_metrics (project_id, day, metric, pulled_at_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, day) DO UPDATE SET metric = excluded.metric, pulled_at_ms = excluded.pulled_at_ms`,
        [projectId, d.date, JSON.stringify(d), pulledAtMs],
      );
  }

  /** Stored days with fromDate <= date <= toDate (YYYY-MM-DD), oldest first. */
  async days(projectId: string, fromDate: string, toDate: string): Promise<StoredLangfuseDay[]> {
    const rows = await this.db.query<{ metric: string; pulled_at_ms: unknown }>(
      `SELECT metric, pulled_at_ms FROM langfuse_daily_metrics
       WHERE project_id = $1 AND day >= $2 AND day <= $3 ORDER BY day`,
      [projectId, fromDate, toDate],
    );
    return rows.map((r) => ({
      ...(JSON.parse(r.metric) as LangfuseDailyMetric),
      pulledAtMs: sqlNumber(r.pulled_at_ms),
    }));
  }
}

export interface LangfuseMetricsPullerOptions {
  repository: LangfuseConnectorRepository;
  client: LangfuseMetricsClient;
  clock: Clock;
  logger: Logger;
}

/** The periodic job: pulls every configured project. `runOnce` never throws. */
export class LangfuseMetricsPuller {
  constructor(private readonly opts: LangfuseMetricsPullerOptions) {}

  /** Pulls one project now; returns its new status (null when it has no connector). */
  async pullProject(projectId: string): Promise<LangfuseConnectorStatus | null> {
    const record = await this.opts.repository.get(projectId);
    if (!record) return null;
    const now = this.opts.clock.nowMs();
    const lookback = Math.max(1, record.config.lookbackDays);
    const fromMs = Math.floor(now / DAY_MS) * DAY_MS - (lookback - 1) * DAY_MS;
    const r = await this.opts.client.dailyMetrics(record.config, fromMs, now);
    const status: LangfuseConnectorStatus = { ...record.status, lastPullAtMs: now };
    if (r.ok) {
      // Only days inside the asked range: an instance that ignores the range must not
      // overwrite older days with partial numbers.
      const first = utcDate(fromMs);
      const days = r.value.filter((d) => d.date >= first && d.date <= utcDate(now));
      await this.opts.repository.putDays(projectId, days, now);
      status.lastSuccessAtMs = now;
      status.lastError = null;
      status.daysStored = days.length;
    } else {
      status.lastError = `${r.error.kind}: ${r.error.message}`;
      this.opts.logger.warn({ projectId, error: r.error }, 'Langfuse metrics pull failed');
    }
    await this.opts.repository.setStatus(projectId, status);
    return status;
  }

  async runOnce(): Promise<{ pulled: number; failed: number }> {
    let pulled = 0;
    let failed = 0;
    try {
      for (const c of await this.opts.repository.list()) {
        try {
          const s = await this.pullProject(c.projectId);
          if (s?.lastError) failed++;
          else pulled++;
        } catch (e) {
          failed++;
          this.opts.logger.warn({ err: e, projectId: c.projectId }, 'Langfuse metrics pull failed');
        }
      }
    } catch (e) {
      this.opts.logger.warn({ err: e }, 'listing Langfuse connectors failed; retried next run');
    }
    return { pulled, failed };
  }
}
