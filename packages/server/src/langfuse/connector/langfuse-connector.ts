/**
 * The Langfuse pull connector: for a team that keeps Langfuse and wants ReskPoints to chart and
 * alert on its costs. Per project, a Langfuse instance (base URL and key pair) is configured;
 * a periodic job reads its daily metrics for the last `lookbackDays` days and stores them as a
 * daily series, one entry per day, replaced on every pull (today's numbers grow during the
 * day, and late events change past days). The series is kept apart from LLM calls: Langfuse
 * reports per-day sums, not calls, and mixing them into call counts would double count any
 * application that also sends to ReskPoints.
 *
 * State lives in settings: `langfuse.connector.<projectId>` (configuration and last outcome;
 * the secret key is needed to call Langfuse, so it is stored as given) and
 * `langfuse.metrics.<projectId>/<YYYY-MM-DD>` (the day as Langfuse reported it, with the pull time).
 */
import type { Clock } from '@reskpoints/core';
import type { Logger } from 'pino';
import type { StateStore } from '../../store/ports.js';
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

const CONNECTOR = 'langfuse.connector.';
const METRICS = 'langfuse.metrics.';

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

function parse<T>(v: string | null): T | null {
  if (v === null) return null;
  try {
    return JSON.parse(v) as T;
  } catch {
    return null;
  }
}

/** Configurations, outcomes and the stored series. */
export class LangfuseConnectorRepository {
  constructor(private readonly state: StateStore) {}

  async get(projectId: string): Promise<ConnectorRecord | null> {
    return parse<ConnectorRecord>(await this.state.getSetting(CONNECTOR + projectId));
  }

  async configure(projectId: string, config: LangfuseConnectorConfig): Promise<ConnectorRecord> {
    const before = await this.get(projectId);
    // A new source starts with a clean outcome; an unchanged one keeps its history.
    const same = before && before.config.baseUrl === config.baseUrl && before.config.publicKey === config.publicKey;
    const record: ConnectorRecord = { config, status: same ? before.status : { ...EMPTY_STATUS } };
    await this.state.setSetting(CONNECTOR + projectId, JSON.stringify(record));
    return record;
  }

  async remove(projectId: string): Promise<boolean> {
    return (await this.state.deleteSettings([CONNECTOR + projectId])) > 0;
  }

  async setStatus(projectId: string, status: LangfuseConnectorStatus): Promise<void> {
    const r = await this.get(projectId);
    if (r) await this.state.setSetting(CONNECTOR + projectId, JSON.stringify({ ...r, status }));
  }

  async list(): Promise<Array<{ projectId: string } & ConnectorRecord>> {
    const out: Array<{ projectId: string } & ConnectorRecord> = [];
    let after = '';
    for (;;) {
      const rows = await this.state.listSettings(CONNECTOR, 200, after);
      if (rows.length === 0) return out;
      after = (rows[rows.length - 1] as { key: string }).key;
      for (const row of rows) {
        const r = parse<ConnectorRecord>(row.value);
        if (r) out.push({ projectId: row.key.slice(CONNECTOR.length), ...r });
      }
    }
  }

  async putDays(projectId: string, days: LangfuseDailyMetric[], pulledAtMs: number): Promise<void> {
    for (const d of days)
      await this.state.setSetting(`${METRICS}${projectId}/${d.date}`, JSON.stringify({ ...d, pulledAtMs }));
  }

  /** Stored days with fromDate <= date <= toDate (YYYY-MM-DD), oldest first. */
  async days(projectId: string, fromDate: string, toDate: string): Promise<StoredLangfuseDay[]> {
    const prefix = `${METRICS}${projectId}/`;
    const out: StoredLangfuseDay[] = [];
    let after = `${prefix}${fromDate}`.slice(0, -1);
    for (;;) {
      const rows = await this.state.listSettings(prefix, 500, after);
      if (rows.length === 0) return out;
      after = (rows[rows.length - 1] as { key: string }).key;
      for (const row of rows) {
        const date = row.key.slice(prefix.length);
        if (date < fromDate) continue;
        if (date > toDate) return out;
        const d = parse<StoredLangfuseDay>(row.value);
        if (d) out.push(d);
      }
    }
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
