/**
 * TelemetryStore on an embedded DuckDB file. See docs/storage.md for the schema, the
 * rollups and the measured figures.
 *
 * Write path (one writer connection, serialised): the batch is de-duplicated in memory;
 * events that may be stored already (older than what `RecentKeys` covers, or whose key it
 * holds) have their keys staged in a connection-local table and matched against the stored
 * events of the batch's time range; then, in one transaction, the new calls are appended
 * column-wise to `llm_calls` with partial rollup rows for them. Retried events therefore add
 * nothing, to raw data or rollups, and live traffic skips the database lookup.
 */
import {
  batchEventCount,
  type Clock,
  type CostSums,
  costSummary,
  emptyCostSums,
  groupCostUsd,
  type LlmCall,
  type LlmCallListQuery,
  type LlmCallPage,
  LOG_SEVERITIES,
  type LogPage,
  type LogPatternCount,
  type LogPatternRatePoint,
  type LogRecord,
  type LogSearchQuery,
  type Span,
  type SummaryDimension,
  type SummaryQuery,
  type SummaryResult,
  type SummaryRow,
  systemClock,
  type TelemetryBatch,
} from '@reskpoints/core';
import { decodeLlmCallCursorOrThrow, encodeLlmCallCursor } from '../llm-call-cursor.js';
import {
  type AppendResult,
  type IngestedSinceQuery,
  type LlmCallExcerpts,
  type RecostProgress,
  type RecostQuery,
  type SpanListQuery,
  type TelemetryStore,
  type TelemetryWriteStats,
  TRACE_MAX_ITEMS,
  type TraceListQuery,
  type TracePage,
  type TraceQuery,
  type TraceRecord,
} from '../ports.js';
import { keyHash, RecentKeys } from '../recent-keys.js';
import { appendColumnar, type Column } from './columnar-append.js';
import { COST_SUMS } from './cost-columns.js';
import {
  DuckDbDatabase,
  type DuckDbOptions,
  type SqlRow,
  sqlString,
  toNumber,
  toNumberOrNull,
} from './duckdb-database.js';
import { classifyDuckDbWriteError } from './duckdb-errors.js';
import { bucketSql } from './latency-histogram.js';
import { logPatternCountsSql, logPatternRatesSql, searchLogsSql } from './log-sql.js';
import { DAY_MS, HISTOGRAM_COLUMNS, HOUR_MS, ROLLUP_COLUMNS, rollupsOf } from './rollup-rows.js';
import { SeriesIndex } from './series-index.js';
import {
  callConditions,
  callTextCondition,
  exactRankingSql,
  exactSummarySql,
  planSummary,
  rankFirst,
  rollupSummarySql,
  type SUMMARY_COLUMNS,
} from './summary-sql.js';
import {
  costFromRow,
  LOG_COLUMNS,
  llmCallColumns,
  parseLlmCallDetail,
  parseSpanDetail,
  SERIES_COLUMNS,
  SPAN_COLUMNS,
} from './telemetry-columns.js';
import { TELEMETRY_MIGRATIONS } from './telemetry-migrations.js';

export interface DuckDbTelemetryStoreOptions extends DuckDbOptions {
  /**
   * A rollup period (hour or day) that received partial rows from this many appends is
   * compacted into one row per key, in the background on the writer connection. Default 32.
   */
  compactAfterAppends?: number;
  /** Memory for the keys of recently committed events (see recent-keys.ts); default 64 MB. */
  recentKeysMaxBytes?: number;
}

/** Reads a column back: BIGINTs as DOUBLE (exact below 2^53), so no bigint per value. */
const selectColumn =
  <T>(alias: string) =>
  (c: Column<T>) =>
    c.kind === 'bigint' ? `${alias}.${c.name}::DOUBLE AS ${c.name}` : `${alias}.${c.name}`;
const LLM_CALL_SELECT = [
  ...llmCallColumns(new Int32Array(0)).map(selectColumn('page')),
  ...SERIES_COLUMNS.map((c) => `ser.${c}`),
].join(', ');
const SPAN_SELECT = SPAN_COLUMNS.map(selectColumn('s')).join(', ');

const EMPTY_RESULT = (): AppendResult => ({
  llmCallsInserted: 0,
  llmCallDuplicates: 0,
  spansInserted: 0,
  spanDuplicates: 0,
  insertedLlmCallKeys: [],
});

interface StagedKey {
  seq: number;
  key: string;
}
const STAGED_KEY_COLUMNS: readonly Column<StagedKey>[] = [
  { name: 'seq', kind: 'integer', get: (k) => k.seq },
  { name: 'key', kind: 'varchar', get: (k) => k.key },
];

export class DuckDbTelemetryStore implements TelemetryStore {
  /** Mirror of llm_series, loaded by the writer on its first append. */
  private series: SeriesIndex | null = null;
  private stagingReady = false;
  /** Keys of recently committed calls and spans; loaded by the writer on its first append. */
  private recentCalls: RecentKeys | null = null;
  private recentSpans: RecentKeys | null = null;
  private recentLogs: RecentKeys | null = null;
  /** Appends that touched each period since it was last compacted. */
  private readonly hourTouches = new Map<number, number>();
  private readonly dayTouches = new Map<number, number>();
  /** Compactions that ran, and background ones that failed (their periods stay due). */
  compactions = 0;
  compactionFailures = 0;
  /** Events whose keys were looked up in the database by the duplicate check. */
  keyLookups = 0;
  private compactionQueued = false;
  private readonly compactAfterAppends: number;
  private readonly clock: Clock;
  /** The ingestion stamp of the last commit; each commit stamps a larger one (see `stamp`). */
  private lastStampMs: number | null = null;

  private constructor(
    private readonly db: DuckDbDatabase,
    private readonly options: DuckDbTelemetryStoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.compactAfterAppends = options.compactAfterAppends ?? 32;
  }

  /** Opens (creating if needed) the database file; call `migrate()` before use. */
  static async open(options: DuckDbTelemetryStoreOptions): Promise<DuckDbTelemetryStore> {
    return new DuckDbTelemetryStore(await DuckDbDatabase.open(options), options);
  }

  async migrate(): Promise<void> {
    await this.db.migrate(TELEMETRY_MIGRATIONS, this.clock.nowMs());
  }

  // --- writes -------------------------------------------------------------------------------

  appendBatch(batch: TelemetryBatch): Promise<AppendResult> {
    if (batchEventCount(batch) === 0) return Promise.resolve(EMPTY_RESULT());
    return this.db.write(async (c) => {
      await this.prepareWriter(c);
      const result = EMPTY_RESULT();
      // Duplicates inside the batch: the first occurrence wins.
      const calls = uniqueBy(
        batch.llmCalls,
        (x) => x.projectId,
        (x) => x.id,
      );
      const spans = uniqueBy(
        batch.spans,
        (x) => x.projectId,
        (x) => `${x.traceId}\u0000${x.spanId}`,
      );
      const logs = uniqueBy(
        batch.logs ?? [],
        (x) => x.projectId,
        (x) => x.id,
      );
      // One writer, commits in order: stamps that only grow make "visible" follow stamp order,
      // which lets derived processing read by ingestion time with no safety lag.
      const stampMs = Math.max(this.clock.nowMs(), (this.lastStampMs as number) + 1);
      const { seriesIds, newSeries } = this.assignSeries(calls);
      const callHashes = hashes(calls, (x) => keyHash(x.projectId, x.id));
      const spanHashes = hashes(spans, (x) => keyHash(x.projectId, x.traceId, x.spanId));
      const logHashes = hashes(logs, (x) => keyHash(x.projectId, x.id));
      let inserted: LlmCall[] = [];
      let storedCalls: ReadonlySet<number> = NONE;
      let storedSpans: ReadonlySet<number> = NONE;
      let storedLogs: ReadonlySet<number> = NONE;
      let touched: ReturnType<typeof rollupsOf> | null = null;
      await c.run('BEGIN TRANSACTION');
      try {
        if (newSeries.length > 0) {
          const values = newSeries.map(
            ([id, s]) =>
              `(${id}, ${[s.projectId, s.environment, s.provider, s.model, s.operation, s.status].map(sqlString).join(', ')})`,
          );
          await c.run(`INSERT INTO llm_series VALUES ${values.join(', ')}`);
        }
        if (calls.length > 0) {
          const stored = await this.storedCalls(c, calls, candidates(this.recentCalls!, calls, callHashes));
          storedCalls = stored;
          const freshIds = new Int32Array(calls.length - stored.size);
          inserted = stored.size === 0 ? calls : [];
          if (stored.size > 0) {
            for (let i = 0, k = 0; i < calls.length; i++) {
              if (stored.has(i)) continue;
              inserted.push(calls[i]!);
              freshIds[k++] = seriesIds[i]!;
            }
          } else freshIds.set(seriesIds);
          if (inserted.length > 0) {
            for (const call of inserted) call.ingestedAtMs = stampMs;
            await this.appendRows(c, 'llm_calls', llmCallColumns(freshIds), inserted);
            touched = rollupsOf(inserted, freshIds);
            await this.appendRows(c, 'llm_rollup_1h', ROLLUP_COLUMNS, touched.rollups);
            await this.appendRows(c, 'llm_hist_1h', HISTOGRAM_COLUMNS, touched.hourly);
            await this.appendRows(c, 'llm_hist_1d', HISTOGRAM_COLUMNS, touched.daily);
          }
        }
        if (spans.length > 0) {
          storedSpans = await this.storedSpans(c, spans, candidates(this.recentSpans!, spans, spanHashes));
          const fresh = storedSpans.size === 0 ? spans : spans.filter((_, i) => !storedSpans.has(i));
          for (const span of fresh) span.ingestedAtMs = stampMs;
          await this.appendRows(c, 'spans', SPAN_COLUMNS, fresh);
          result.spansInserted = fresh.length;
        }
        if (logs.length > 0) {
          storedLogs = await this.storedLogs(c, logs, candidates(this.recentLogs!, logs, logHashes, logTime));
          const fresh = storedLogs.size === 0 ? logs : logs.filter((_, i) => !storedLogs.has(i));
          for (const log of fresh) log.ingestedAtMs = stampMs;
          await this.appendRows(c, 'logs', LOG_COLUMNS, fresh);
          result.logsInserted = fresh.length;
          result.logDuplicates = (batch.logs?.length ?? 0) - fresh.length;
        }
        await c.run('COMMIT');
        this.lastStampMs = stampMs;
      } catch (e) {
        await c.run('ROLLBACK').catch(() => undefined);
        this.forgetSeries(newSeries);
        throw classifyDuckDbWriteError(e);
      }
      remember(this.recentCalls!, calls, callHashes, storedCalls);
      remember(this.recentSpans!, spans, spanHashes, storedSpans);
      remember(this.recentLogs!, logs, logHashes, storedLogs, logTime);
      result.llmCallsInserted = inserted.length;
      result.llmCallDuplicates = batch.llmCalls.length - inserted.length;
      result.spanDuplicates = batch.spans.length - result.spansInserted;
      result.insertedLlmCallKeys = inserted.map((x) => ({ projectId: x.projectId, id: x.id }));
      if (inserted.length + result.spansInserted > 0) result.ingestedAtRange = { fromMs: stampMs, toMs: stampMs };
      if (touched) this.noteTouched(touched.hours, touched.days);
      return result;
    });
  }

  private async appendRows<T>(c: DuckDbConnection, table: string, columns: readonly Column<T>[], rows: readonly T[]) {
    if (rows.length === 0) return;
    const appender = await c.createAppender(table);
    try {
      appendColumnar(appender, columns, rows);
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  private assignSeries(calls: readonly LlmCall[]) {
    const series = this.series!;
    const seriesIds = new Int32Array(calls.length);
    const newSeries: Array<[number, LlmCall]> = [];
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]!;
      let id = series.get(call);
      if (id === undefined) {
        id = series.add(call);
        newSeries.push([id, call]);
      }
      seriesIds[i] = id;
    }
    return { seriesIds, newSeries };
  }

  /** Series created by an append that rolled back were not stored: forget them. */
  private forgetSeries(newSeries: Array<[number, LlmCall]>): void {
    for (const [id, call] of newSeries.reverse()) this.series!.delete(call, id);
  }

  /**
   * Positions (among `candidates`, positions in `calls`) of the calls that are stored
   * already. Only ids travel to the database (one string per call); matches are checked
   * against the project in memory. The scan is limited to the candidates' time range, where
   * a retried call must be.
   */
  private async storedCalls(c: DuckDbConnection, calls: LlmCall[], candidates: number[]): Promise<ReadonlySet<number>> {
    if (candidates.length === 0) return NONE;
    this.keyLookups += candidates.length;
    const rows = await this.matchStaged(
      c,
      candidates.map((seq) => ({ seq, key: calls[seq]!.id })),
      `SELECT s.seq, t.series_id FROM stage_keys s JOIN llm_calls t ON t.id = s.key
       WHERE t.start_time_ms BETWEEN ${range(candidates.map((i) => calls[i]!))}`,
    );
    const stored = new Set<number>();
    for (const [seq, seriesId] of rows) {
      const i = Number(seq);
      if (this.series!.project(Number(seriesId)) === calls[i]!.projectId) stored.add(i);
    }
    return stored;
  }

  private async storedSpans(c: DuckDbConnection, spans: Span[], candidates: number[]): Promise<ReadonlySet<number>> {
    if (candidates.length === 0) return NONE;
    this.keyLookups += candidates.length;
    const rows = await this.matchStaged(
      c,
      candidates.map((seq) => ({ seq, key: spans[seq]!.spanId })),
      `SELECT s.seq, t.project_id, t.trace_id FROM stage_keys s JOIN spans t ON t.span_id = s.key
       WHERE t.start_time_ms BETWEEN ${range(candidates.map((i) => spans[i]!))}`,
    );
    const stored = new Set<number>();
    for (const [seq, projectId, traceId] of rows) {
      const span = spans[Number(seq)]!;
      if (span.projectId === projectId && span.traceId === traceId) stored.add(Number(seq));
    }
    return stored;
  }

  private async storedLogs(c: DuckDbConnection, logs: LogRecord[], candidates: number[]): Promise<ReadonlySet<number>> {
    if (candidates.length === 0) return NONE;
    this.keyLookups += candidates.length;
    const rows = await this.matchStaged(
      c,
      candidates.map((seq) => ({ seq, key: logs[seq]!.id })),
      `SELECT s.seq, t.project_id FROM stage_keys s JOIN logs t ON t.id = s.key
       WHERE t.time_ms BETWEEN ${range(
         candidates.map((i) => logs[i]!),
         logTime,
       )}`,
    );
    const stored = new Set<number>();
    for (const [seq, projectId] of rows) if (logs[Number(seq)]!.projectId === projectId) stored.add(Number(seq));
    return stored;
  }

  private async matchStaged(c: DuckDbConnection, keys: StagedKey[], sql: string): Promise<unknown[][]> {
    await c.run('DELETE FROM stage_keys');
    await this.appendRows(c, 'stage_keys', STAGED_KEY_COLUMNS, keys);
    return (await c.runAndReadAll(sql)).getRows() as unknown[][];
  }

  private async prepareWriter(c: DuckDbConnection): Promise<void> {
    if (!this.stagingReady) {
      // Connection-local, in memory, never logged.
      await c.run('CREATE OR REPLACE TEMP TABLE stage_keys (seq INTEGER, key VARCHAR)');
      this.stagingReady = true;
    }
    if (this.recentCalls === null || this.recentSpans === null || this.recentLogs === null) {
      // Nothing stored is newer than the newest event now in each table.
      const [calls, spans, logs] = (
        await c.runAndReadAll(
          `SELECT (SELECT max(start_time_ms) FROM llm_calls)::DOUBLE, (SELECT max(start_time_ms) FROM spans)::DOUBLE,
                  (SELECT max(time_ms) FROM logs)::DOUBLE`,
        )
      ).getRows()[0] as [number | null, number | null, number | null];
      const options = { maxBytes: this.options.recentKeysMaxBytes };
      this.recentCalls = new RecentKeys(calls === null ? Number.NEGATIVE_INFINITY : calls + 1, options);
      this.recentSpans = new RecentKeys(spans === null ? Number.NEGATIVE_INFINITY : spans + 1, options);
      this.recentLogs = new RecentKeys(logs === null ? Number.NEGATIVE_INFINITY : logs + 1, options);
    }
    if (this.lastStampMs === null) {
      const row = (await c.runAndReadAll('SELECT max(ingested_at_ms)::DOUBLE FROM llm_calls')).getRows()[0];
      this.lastStampMs = (row?.[0] as number | null) ?? 0;
    }
    if (this.series === null) {
      const rows = (await c.runAndReadAll(`SELECT series_id, ${SERIES_COLUMNS.join(', ')} FROM llm_series`)).getRows();
      const index = new SeriesIndex();
      for (const r of rows) index.set(r.slice(1) as string[], Number(r[0]));
      this.series = index;
    }
  }

  writeStats(): TelemetryWriteStats {
    return {
      duplicateCheckLookups: this.keyLookups,
      recentKeysBytes:
        (this.recentCalls?.memoryBytes ?? 0) +
        (this.recentSpans?.memoryBytes ?? 0) +
        (this.recentLogs?.memoryBytes ?? 0),
    };
  }

  // --- compaction ---------------------------------------------------------------------------

  private noteTouched(hours: Set<number>, days: Set<number>): void {
    for (const h of hours) this.hourTouches.set(h, (this.hourTouches.get(h) ?? 0) + 1);
    for (const d of days) this.dayTouches.set(d, (this.dayTouches.get(d) ?? 0) + 1);
    this.scheduleCompaction();
  }

  /**
   * A period is due for compaction once `compactAfterAppends` appends touched it, or once it
   * is over (by an hour) and got partial rows from more than one append: live traffic keeps
   * the current hour busy, and the last few appends of an hour are merged after it.
   */
  private duePeriods(touches: Map<number, number>, periodMs: number, all: boolean): number[] {
    const closedBefore = this.clock.nowMs() - HOUR_MS - periodMs;
    const due: number[] = [];
    for (const [period, n] of touches) {
      if (all || n >= this.compactAfterAppends || (n >= 2 && period <= closedBefore)) due.push(period);
    }
    return due;
  }

  private scheduleCompaction(): void {
    if (this.compactionQueued) return;
    if (
      this.duePeriods(this.hourTouches, HOUR_MS, false).length === 0 &&
      this.duePeriods(this.dayTouches, DAY_MS, false).length === 0
    ) {
      return;
    }
    this.compactionQueued = true;
    this.db
      .write(async (c) => {
        this.compactionQueued = false;
        await this.compactDue(c, false);
      })
      .catch(() => {
        this.compactionQueued = false;
        this.compactionFailures++;
      });
  }

  /** Merges the partial rollup rows of every period touched since its last compaction. */
  compact(): Promise<void> {
    return this.db.write((c) => this.compactDue(c, true));
  }

  private async compactDue(c: DuckDbConnection, all: boolean): Promise<void> {
    const hours = this.duePeriods(this.hourTouches, HOUR_MS, all);
    const days = this.duePeriods(this.dayTouches, DAY_MS, all);
    if (hours.length === 0 && days.length === 0) return;
    await c.run('BEGIN TRANSACTION');
    try {
      if (hours.length > 0) {
        const list = hours.join(', ');
        await rewrite(
          c,
          'llm_rollup_1h',
          `SELECT series_id, hour_ms, ${ROLLUP_SUMS} FROM llm_rollup_1h WHERE hour_ms IN (${list}) GROUP BY series_id, hour_ms`,
          `hour_ms IN (${list})`,
          'hour_ms',
        );
        await compactHistogram(c, 'llm_hist_1h', list);
      }
      if (days.length > 0) {
        const list = days.join(', ');
        await compactHistogram(c, 'llm_hist_1d', list);
      }
      await c.run('COMMIT');
    } catch (e) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
    for (const h of hours) this.hourTouches.delete(h);
    for (const d of days) this.dayTouches.delete(d);
    this.compactions++;
  }

  // --- reads --------------------------------------------------------------------------------

  async listLlmCalls(query: LlmCallListQuery): Promise<LlmCallPage> {
    const where = [
      `k.start_time_ms >= ${safeInt(query.fromMs)}`,
      `k.start_time_ms < ${safeInt(query.toMs)}`,
      ...callConditions(query.filter, 'k'),
    ];
    if (query.text !== undefined && query.text !== '') where.push(callTextCondition(query.text, 'k'));
    if (query.cursor !== undefined) {
      const cur = decodeLlmCallCursorOrThrow(query.cursor);
      const t = safeInt(cur.startTimeMs);
      const id = sqlString(cur.id);
      // Calls of different projects may share (startTimeMs, id); they are ordered by
      // series_id, and the cursor's project names the series the page ended on.
      const lastSeries =
        cur.projectId === undefined
          ? 'NULL'
          : `(SELECT max(series_id) FROM llm_calls WHERE start_time_ms = ${t} AND id = ${id}
               AND series_id IN (SELECT series_id FROM llm_series WHERE project_id = ${sqlString(cur.projectId)}))`;
      where.push(
        `(k.start_time_ms < ${t} OR (k.start_time_ms = ${t} AND (k.id < ${id} OR (k.id = ${id} AND k.series_id < ${lastSeries}))))`,
      );
    }
    const limit = safeInt(query.limit);
    const order = 'start_time_ms DESC, id DESC, series_id DESC';
    const rows = await this.db.query(
      `WITH page AS (SELECT * FROM llm_calls k WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${limit + 1})
       SELECT ${LLM_CALL_SELECT} FROM page JOIN llm_series ser ON ser.series_id = page.series_id
       ORDER BY ${order.replaceAll(/(\w+) DESC/g, 'page.$1 DESC')}`,
    );
    const items = rows.slice(0, limit).map(rowToCall);
    const last = items[items.length - 1];
    const nextCursor =
      rows.length > limit && last
        ? encodeLlmCallCursor({ startTimeMs: last.startTimeMs, id: last.id, projectId: last.projectId })
        : null;
    return { items, nextCursor };
  }

  // --- logs ---------------------------------------------------------------------------------

  async searchLogs(query: LogSearchQuery): Promise<LogPage> {
    const rows = await this.db.query(searchLogsSql(query));
    const items = rows.slice(0, query.limit).map(rowToLog);
    const last = items[items.length - 1];
    const nextCursor =
      rows.length > query.limit && last
        ? encodeLlmCallCursor({ startTimeMs: last.timeMs, id: last.id, projectId: last.projectId })
        : null;
    return { items, nextCursor };
  }

  async logPatternCounts(query: LogSearchQuery): Promise<LogPatternCount[]> {
    const rows = await this.db.query(logPatternCountsSql(query));
    return rows.map((r) => {
      const severities: LogPatternCount['severities'] = {};
      for (const s of LOG_SEVERITIES) {
        const n = toNumber(r[`sev_${s}`]);
        if (n > 0) severities[s] = n;
      }
      return {
        projectId: str(r['project_id']),
        serviceName: strOrNull(r['service_name']),
        patternId: strOrNull(r['pattern_id']),
        count: toNumber(r['n']),
        bytes: toNumber(r['bytes']),
        firstSeenMs: toNumber(r['first_ms']),
        lastSeenMs: toNumber(r['last_ms']),
        severities,
        example: str(r['example']),
      };
    });
  }

  async logPatternRates(query: LogSearchQuery, bucketMs: number): Promise<LogPatternRatePoint[]> {
    const rows = await this.db.query(logPatternRatesSql(query, bucketMs));
    return rows.map((r) => ({
      bucketStartMs: toNumber(r['bucket']),
      serviceName: strOrNull(r['service_name']),
      patternId: strOrNull(r['pattern_id']),
      count: toNumber(r['n']),
    }));
  }

  readonly ingestedVisibilityLagMs = 0;

  async listLlmCallsIngestedSince(query: IngestedSinceQuery): Promise<LlmCall[]> {
    const where = [`k.ingested_at_ms <= ${safeInt(query.untilMs)}`];
    const a = query.after;
    if (a) {
      const t = safeInt(a.ingestedAtMs);
      where.push(
        a.projectId === null || a.id === null
          ? `k.ingested_at_ms > ${t}`
          : `(k.ingested_at_ms > ${t} OR (k.ingested_at_ms = ${t} AND (ser.project_id > ${sqlString(a.projectId)}
               OR (ser.project_id = ${sqlString(a.projectId)} AND k.id > ${sqlString(a.id)}))))`,
      );
    }
    const limit = safeInt(Math.max(1, Math.min(10_000, query.limit)));
    const cond = where.join(' AND ');
    // The stamp of the limit-th call first (top-N on one column), then only the calls up to
    // it, so a long backlog is not sorted in full for every page.
    const rows = await this.db.query(
      `WITH bound AS (SELECT max(i) AS b FROM (SELECT k.ingested_at_ms AS i FROM llm_calls k
                        JOIN llm_series ser ON ser.series_id = k.series_id
                        WHERE ${cond} ORDER BY k.ingested_at_ms LIMIT ${limit}))
       SELECT ${LLM_CALL_SELECT.replaceAll('page.', 'k.')} FROM llm_calls k JOIN llm_series ser ON ser.series_id = k.series_id
       WHERE ${cond} AND k.ingested_at_ms <= (SELECT b FROM bound)
       ORDER BY k.ingested_at_ms, ser.project_id, k.id
       LIMIT ${limit}`,
    );
    return rows.map(rowToCall);
  }

  async summarize(query: SummaryQuery): Promise<SummaryResult> {
    const groupBy = [...new Set(query.groupBy)];
    const q: SummaryQuery = { ...query, groupBy };
    const plan = planSummary(q);
    const toRows = (rows: SqlRow[]) => rows.map((r) => rowToSummary(r, groupBy));
    if (plan.kind === 'rollup') {
      return { rows: toRows(await this.db.query(rollupSummarySql(q, plan.histogram))), precision: 'rollup' };
    }
    if (!rankFirst(q)) return { rows: toRows(await this.db.query(exactSummarySql(q))), precision: 'exact' };
    const winners = await this.db.query(exactRankingSql(q));
    if (winners.length === 0) return { rows: [], precision: 'exact' };
    const keyOf = (r: SqlRow) =>
      JSON.stringify([Number(r['bucket_start_ms']), ...groupBy.map((_, i) => r[`g${i}`] ?? null)]);
    const wanted = new Set(winners.map(keyOf));
    const rows = (await this.db.query(exactSummarySql(q, winners))).filter((r) => wanted.has(keyOf(r)));
    return { rows: toRows(rows), precision: 'exact' };
  }

  async listSpans(query: SpanListQuery): Promise<Span[]> {
    const where = [
      `s.project_id = ${sqlString(query.projectId)}`,
      `s.start_time_ms >= ${safeInt(query.fromMs)}`,
      `s.start_time_ms < ${safeInt(query.toMs)}`,
    ];
    if (query.traceId !== undefined) where.push(`s.trace_id = ${sqlString(query.traceId)}`);
    if (query.serviceName !== undefined) where.push(`s.service_name = ${sqlString(query.serviceName)}`);
    const rows = await this.db.query(
      `SELECT ${SPAN_SELECT} FROM spans s WHERE ${where.join(' AND ')}
       ORDER BY s.start_time_ms, s.span_id LIMIT ${safeInt(query.limit)}`,
    );
    return rows.map(rowToSpan);
  }

  async getTrace(query: TraceQuery): Promise<TraceRecord> {
    const range = (a: string) =>
      `${a}.start_time_ms >= ${safeInt(query.fromMs)} AND ${a}.start_time_ms < ${safeInt(query.toMs)}`;
    const callWhere = [range('k'), ...callConditions({ traceId: query.traceId, projectIds: query.projectIds }, 'k')];
    const spanWhere = [range('s'), `s.trace_id = ${sqlString(query.traceId)}`];
    if (query.projectIds !== undefined)
      spanWhere.push(
        query.projectIds.length === 0 ? 'FALSE' : `s.project_id IN (${query.projectIds.map(sqlString).join(', ')})`,
      );
    const [calls, spans] = await Promise.all([
      this.db.query(
        `SELECT ${LLM_CALL_SELECT.replaceAll('page.', 'k.')} FROM llm_calls k JOIN llm_series ser ON ser.series_id = k.series_id
         WHERE ${callWhere.join(' AND ')} ORDER BY k.start_time_ms, k.id LIMIT ${TRACE_MAX_ITEMS}`,
      ),
      this.db.query(
        `SELECT ${SPAN_SELECT} FROM spans s WHERE ${spanWhere.join(' AND ')}
         ORDER BY s.start_time_ms, s.span_id LIMIT ${TRACE_MAX_ITEMS}`,
      ),
    ]);
    return { llmCalls: calls.map(rowToCall), spans: spans.map(rowToSpan) };
  }

  async listTraces(query: TraceListQuery): Promise<TracePage> {
    const where = [
      `k.start_time_ms >= ${safeInt(query.fromMs)}`,
      `k.start_time_ms < ${safeInt(query.toMs)}`,
      'k.trace_id IS NOT NULL',
      ...callConditions(query.filter, 'k'),
    ];
    const having: string[] = [];
    if (query.cursor !== undefined) {
      const cur = decodeLlmCallCursorOrThrow(query.cursor);
      const t = safeInt(cur.startTimeMs);
      const id = sqlString(cur.id);
      const project = cur.projectId === undefined ? null : sqlString(cur.projectId);
      having.push(
        `(min(k.start_time_ms) < ${t} OR (min(k.start_time_ms) = ${t} AND (k.trace_id < ${id}${
          project === null ? '' : ` OR (k.trace_id = ${id} AND ser.project_id < ${project})`
        })))`,
      );
    }
    const limit = safeInt(Math.max(1, Math.min(1000, query.limit)));
    // Traces having a matching call, then every call of those traces (not only the matching ones).
    const rows = await this.db.query(
      `WITH hit AS (SELECT ser.project_id, k.trace_id, min(k.start_time_ms) AS first_ms
                    FROM llm_calls k JOIN llm_series ser ON ser.series_id = k.series_id
                    WHERE ${where.join(' AND ')}
                    GROUP BY ser.project_id, k.trace_id
                    ${having.length > 0 ? `HAVING ${having.join(' AND ')}` : ''}
                    ORDER BY first_ms DESC, k.trace_id DESC, ser.project_id DESC LIMIT ${limit + 1}),
            agg AS (SELECT ser.project_id, k.trace_id, min(k.start_time_ms) AS start_ms,
                      max(k.start_time_ms + k.latency_ms) AS end_ms, count(*) AS calls,
                      count(*) FILTER (WHERE ser.status = 'error') AS errors,
                      coalesce(sum(k.cost_usd), 0) AS cost_usd, count(*) FILTER (WHERE k.cost_usd IS NULL) AS unpriced,
                      list_sort(list(DISTINCT ser.model)) AS models
                    FROM llm_calls k JOIN llm_series ser ON ser.series_id = k.series_id
                    JOIN hit ON hit.project_id = ser.project_id AND hit.trace_id = k.trace_id
                    WHERE k.start_time_ms >= ${safeInt(query.fromMs)} AND k.start_time_ms < ${safeInt(query.toMs)}
                    GROUP BY ser.project_id, k.trace_id)
       SELECT agg.*, hit.first_ms,
              (SELECT min(s.name) FROM spans s WHERE s.project_id = agg.project_id AND s.trace_id = agg.trace_id
                        AND s.parent_span_id IS NULL) AS root_name
       FROM agg JOIN hit ON hit.project_id = agg.project_id AND hit.trace_id = agg.trace_id
       ORDER BY hit.first_ms DESC, agg.trace_id DESC, agg.project_id DESC`,
    );
    const items = rows.slice(0, Number(limit)).map((r) => {
      const calls = toNumber(r['calls']);
      const unpriced = toNumber(r['unpriced']);
      return {
        projectId: String(r['project_id']),
        traceId: String(r['trace_id']),
        startTimeMs: toNumber(r['start_ms']),
        endTimeMs: toNumber(r['end_ms']),
        llmCalls: calls,
        errors: toNumber(r['errors']),
        costUsd: groupCostUsd(toNumber(r['cost_usd']), calls, unpriced),
        unpricedCalls: unpriced,
        models: ((r['models'] as unknown[] | null) ?? []).map(String),
        rootSpanName: r['root_name'] == null ? null : String(r['root_name']),
      };
    });
    const last = rows[items.length - 1];
    const nextCursor =
      rows.length > items.length && last
        ? encodeLlmCallCursor({
            startTimeMs: toNumber(last['first_ms']),
            id: String(last['trace_id']),
            projectId: String(last['project_id']),
          })
        : null;
    return { items, nextCursor };
  }

  // --- retention ----------------------------------------------------------------------------

  deleteBefore(beforeMs: number): Promise<number> {
    const before = safeInt(beforeMs);
    return this.db.transaction(async (c) => {
      const calls = await c.run(`DELETE FROM llm_calls WHERE start_time_ms < ${before}`);
      const spans = await c.run(`DELETE FROM spans WHERE start_time_ms < ${before}`);
      const logs = await c.run(`DELETE FROM logs WHERE time_ms < ${before}`);
      const hour = Math.floor(before / HOUR_MS) * HOUR_MS;
      const day = Math.floor(before / DAY_MS) * DAY_MS;
      // Periods wholly before the cut go; the period the cut falls into is rebuilt from
      // the calls that remain in it.
      const cut = (column: string, start: number) =>
        `${column} < ${start}${start < before ? ` OR ${column} = ${start}` : ''}`;
      await c.run(`DELETE FROM llm_rollup_1h WHERE ${cut('hour_ms', hour)}`);
      await c.run(`DELETE FROM llm_hist_1h WHERE ${cut('period_ms', hour)}`);
      await c.run(`DELETE FROM llm_hist_1d WHERE ${cut('period_ms', day)}`);
      if (hour < before) await this.rebuildPeriod(c, HOUR_MS, hour);
      if (day < before) await this.rebuildPeriod(c, DAY_MS, day);
      for (const h of this.hourTouches.keys()) if (h < before) this.hourTouches.delete(h);
      for (const d of this.dayTouches.keys()) if (d < before) this.dayTouches.delete(d);
      return Number(calls.rowsChanged) + Number(spans.rowsChanged) + Number(logs.rowsChanged);
    });
  }

  /** Recomputes the rollup rows of one hour or day from the calls stored in it. */
  private async rebuildPeriod(c: DuckDbConnection, periodMs: number, startMs: number): Promise<void> {
    const where = `k.start_time_ms >= ${startMs} AND k.start_time_ms < ${startMs + periodMs}`;
    const histogram = periodMs === HOUR_MS ? 'llm_hist_1h' : 'llm_hist_1d';
    await c.run(
      `INSERT INTO ${histogram}
       SELECT series_id, ${startMs}, metric, bucket, count(*) FROM (
         SELECT k.series_id, 0::UTINYINT AS metric, ${bucketSql('k.latency_ms')} AS bucket FROM llm_calls k WHERE ${where}
         UNION ALL
         SELECT k.series_id, 1::UTINYINT, ${bucketSql('k.ttft_ms')} FROM llm_calls k WHERE ${where} AND k.ttft_ms IS NOT NULL)
       GROUP BY ALL`,
    );
    if (periodMs !== HOUR_MS) return;
    await this.rebuildRollup(c, startMs);
  }

  /** Rollup rows of one hour from the calls stored in it (the hour's rows must be gone). */
  private async rebuildRollup(c: DuckDbConnection, startMs: number): Promise<void> {
    const where = `k.start_time_ms >= ${startMs} AND k.start_time_ms < ${startMs + HOUR_MS}`;
    await c.run(
      `INSERT INTO llm_rollup_1h (${ROLLUP_COLUMNS.map((x) => x.name).join(', ')})
       SELECT k.series_id, ${startMs}, count(*), count_if(ser.status = 'error'), sum(k.input_tokens)::BIGINT,
         sum(k.output_tokens)::BIGINT, sum(k.cache_read_tokens)::BIGINT, sum(k.cache_write_tokens)::BIGINT,
         sum(k.reasoning_tokens)::BIGINT, sum(k.total_tokens)::BIGINT,
         ${ROLLUP_FROM_CALLS}
       FROM llm_calls k JOIN llm_series ser ON ser.series_id = k.series_id
       WHERE ${where}
       GROUP BY k.series_id`,
    );
  }

  /**
   * Hour by hour, on the writer connection (so no append interleaves): the hour's calls are
   * read, re-priced, deleted and appended again with their new cost, and the hour's rollup
   * rows rebuilt from the calls, in one transaction. Histograms do not depend on cost.
   */
  async recost(
    query: RecostQuery,
    reprice: (call: LlmCall) => LlmCall,
    onProgress?: (p: RecostProgress) => void,
  ): Promise<RecostProgress> {
    const first = Math.floor(safeInt(query.fromMs) / HOUR_MS) * HOUR_MS;
    const end = safeInt(query.toMs);
    const progress: RecostProgress = {
      periodsDone: 0,
      periodsTotal: end > first ? Math.ceil((end - first) / HOUR_MS) : 0,
      callsRecosted: 0,
    };
    const project = query.projectId === undefined ? '' : ` AND ser.project_id = ${sqlString(query.projectId)}`;
    for (let hour = first; hour < end; hour += HOUR_MS) {
      const lo = Math.max(hour, query.fromMs);
      const hi = Math.min(hour + HOUR_MS, end);
      progress.callsRecosted += await this.db.write(async (c) => {
        await this.prepareWriter(c);
        const where = `k.start_time_ms >= ${lo} AND k.start_time_ms < ${hi}${project}`;
        const rows = (
          await c.runAndReadAll(
            `SELECT k.series_id AS sid, ${LLM_CALL_SELECT.replaceAll('page.', 'k.')}
             FROM llm_calls k JOIN llm_series ser ON ser.series_id = k.series_id WHERE ${where}`,
          )
        ).getRowObjectsJS() as SqlRow[];
        if (rows.length === 0) return 0;
        const seriesIds = Int32Array.from(rows, (r) => Number(r['sid']));
        const calls = rows.map((r) => reprice(rowToCall(r)));
        await c.run('BEGIN TRANSACTION');
        try {
          await c.run(
            `DELETE FROM llm_calls WHERE start_time_ms >= ${lo} AND start_time_ms < ${hi}${
              query.projectId === undefined
                ? ''
                : ` AND series_id IN (SELECT series_id FROM llm_series WHERE project_id = ${sqlString(query.projectId)})`
            }`,
          );
          await this.appendRows(c, 'llm_calls', llmCallColumns(seriesIds), calls);
          await c.run(`DELETE FROM llm_rollup_1h WHERE hour_ms = ${hour}`);
          await this.rebuildRollup(c, hour);
          await c.run('COMMIT');
        } catch (e) {
          await c.run('ROLLBACK').catch(() => undefined);
          throw e;
        }
        this.hourTouches.delete(hour);
        return calls.length;
      });
      progress.periodsDone++;
      onProgress?.({ ...progress });
    }
    return progress;
  }

  async fillLlmCallExcerpts(items: readonly LlmCallExcerpts[]): Promise<void> {
    if (items.length === 0) return;
    await this.db.write(async (c) => {
      for (const it of items) {
        // Excerpts live in the call's `detail` JSON; rewrite it with the missing ones.
        const where = `start_time_ms = ${safeInt(it.startTimeMs)} AND id = ${sqlString(it.id)}
          AND series_id IN (SELECT series_id FROM llm_series WHERE project_id = ${sqlString(it.projectId)})`;
        const rows = (
          await c.runAndReadAll(`SELECT detail FROM llm_calls WHERE ${where}`)
        ).getRowObjectsJS() as SqlRow[];
        const row = rows[0];
        if (!row) continue;
        const detail = (row['detail'] == null ? {} : JSON.parse(String(row['detail']))) as Record<string, unknown>;
        let changed = false;
        if (detail['promptExcerpt'] == null && it.promptExcerpt !== null) {
          detail['promptExcerpt'] = it.promptExcerpt;
          changed = true;
        }
        if (detail['responseExcerpt'] == null && it.responseExcerpt !== null) {
          detail['responseExcerpt'] = it.responseExcerpt;
          changed = true;
        }
        if (changed) await c.run(`UPDATE llm_calls SET detail = ${sqlString(JSON.stringify(detail))} WHERE ${where}`);
      }
    });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

type DuckDbConnection = DuckDbDatabase['writer'];

/** Every rollup column after (series_id, hour_ms), summed, for compaction. */
const ROLLUP_SUMS = ROLLUP_COLUMNS.slice(2)
  .map((c) => (c.kind === 'bigint' ? `sum(${c.name})::BIGINT` : `sum(${c.name})`))
  .join(', ');

/** The cost columns of a rollup row computed from raw calls, in rollup column order. */
const ROLLUP_FROM_CALLS = ROLLUP_COLUMNS.slice(10)
  .map((col) => {
    const sum = COST_SUMS.find((x) => x.column === col.name);
    if (!sum) throw new Error(`no cost sum for rollup column ${col.name}`);
    return col.kind === 'bigint' ? `(${sum.exact})::BIGINT` : `(${sum.exact})::DOUBLE`;
  })
  .join(', ');

async function rewrite(
  c: DuckDbConnection,
  table: string,
  mergedSelect: string,
  where: string,
  orderBy: string,
): Promise<void> {
  await c.run(`CREATE OR REPLACE TEMP TABLE compacted AS ${mergedSelect}`);
  await c.run(`DELETE FROM ${table} WHERE ${where}`);
  // In period order, so that zone maps keep pruning by time.
  await c.run(`INSERT INTO ${table} SELECT * FROM compacted ORDER BY ${orderBy}`);
  await c.run('DROP TABLE compacted');
}

/** Merges the partial histogram rows of the periods in `list` into one row per key. */
function compactHistogram(c: DuckDbConnection, table: 'llm_hist_1h' | 'llm_hist_1d', list: string): Promise<void> {
  return rewrite(
    c,
    table,
    `SELECT series_id, period_ms, metric, bucket, sum(n)::BIGINT FROM ${table}
     WHERE period_ms IN (${list}) GROUP BY ALL`,
    `period_ms IN (${list})`,
    'period_ms',
  );
}

/** Keeps the first event of each identity; `group` and `key` together form the identity. */
function uniqueBy<T>(items: readonly T[], group: (x: T) => string, key: (x: T) => string): T[] {
  const seen = new Map<string, Set<string>>();
  const out: T[] = [];
  let duplicates = 0;
  for (const x of items) {
    const g = group(x);
    let set = seen.get(g);
    if (!set) {
      set = new Set();
      seen.set(g, set);
    }
    const k = key(x);
    if (set.has(k)) {
      duplicates++;
      continue;
    }
    set.add(k);
    out.push(x);
  }
  return duplicates === 0 ? (items as T[]) : out;
}

const NONE: ReadonlySet<number> = new Set();

function hashes<T>(events: readonly T[], hash: (x: T) => number): Float64Array {
  const out = new Float64Array(events.length);
  for (let i = 0; i < events.length; i++) out[i] = hash(events[i]!);
  return out;
}

/** Positions of the events that may be stored already, for the database to check. */
type Timed = { startTimeMs: number };
const startTime = (x: Timed) => x.startTimeMs;
const logTime = (x: LogRecord) => x.timeMs;

function candidates<T = Timed>(
  recent: RecentKeys,
  events: readonly T[],
  hashes: Float64Array,
  time: (x: T) => number = startTime as unknown as (x: T) => number,
) {
  const out: number[] = [];
  for (let i = 0; i < events.length; i++) if (recent.mayBeStored(hashes[i]!, time(events[i]!))) out.push(i);
  return out;
}

/** Records the committed events (all but the positions in `stored`). */
function remember<T = Timed>(
  recent: RecentKeys,
  events: readonly T[],
  hashes: Float64Array,
  stored: ReadonlySet<number>,
  time: (x: T) => number = startTime as unknown as (x: T) => number,
): void {
  for (let i = 0; i < events.length; i++) if (!stored.has(i)) recent.add(hashes[i]!, time(events[i]!));
}

/** `lo AND hi` of the events' start times, for a BETWEEN. */
function range<T = Timed>(
  events: readonly T[],
  time: (x: T) => number = startTime as unknown as (x: T) => number,
): string {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const e of events) {
    const t = time(e);
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  return `${safeInt(Math.floor(lo))} AND ${safeInt(Math.ceil(hi))}`;
}

function safeInt(n: number): number {
  if (!Number.isSafeInteger(n)) throw new Error(`expected a safe integer, got ${n}`);
  return n;
}

const str = (v: unknown): string => v as string;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));

function rowToCall(r: SqlRow): LlmCall {
  const usage = {
    inputTokens: toNumber(r['input_tokens']),
    outputTokens: toNumber(r['output_tokens']),
    cacheReadTokens: toNumber(r['cache_read_tokens']),
    cacheWriteTokens: toNumber(r['cache_write_tokens']),
    reasoningTokens: toNumber(r['reasoning_tokens']),
    totalTokens: toNumber(r['total_tokens']),
  };
  const d = parseLlmCallDetail(
    strOrNull(r['detail']),
    toNumberOrNull(r['flags']),
    toNumberOrNull(r['ingested_at_ms']),
    usage,
  );
  return {
    id: str(r['id']),
    projectId: str(r['project_id']),
    environment: str(r['environment']),
    source: d.source,
    traceId: strOrNull(r['trace_id']),
    spanId: d.spanId,
    parentSpanId: d.parentSpanId,
    serviceName: strOrNull(r['service_name']),
    provider: str(r['provider']),
    model: str(r['model']),
    requestModel: d.requestModel,
    responseModel: d.responseModel,
    operation: str(r['operation']),
    startTimeMs: toNumber(r['start_time_ms']),
    latencyMs: toNumber(r['latency_ms']),
    ttftMs: toNumberOrNull(r['ttft_ms']),
    status: str(r['status']) as LlmCall['status'],
    errorType: d.errorType,
    errorMessage: d.errorMessage,
    userId: strOrNull(r['user_id']),
    sessionId: strOrNull(r['session_id']),
    tags: (r['tags'] as string[] | null) ?? [],
    metadata: d.metadata,
    usageRaw: d.usageRaw,
    usage,
    reportedCostUsd: toNumberOrNull(r['reported_cost_usd']),
    cost: costFromRow(r, toNumberOrNull(r['flags'])),
    promptExcerpt: d.promptExcerpt,
    responseExcerpt: d.responseExcerpt,
    ingestedAtMs: d.ingestedAtMs,
  };
}

function rowToLog(r: SqlRow): LogRecord {
  return {
    projectId: str(r['project_id']),
    id: str(r['id']),
    timeMs: toNumber(r['time_ms']),
    observedTimeMs: toNumber(r['observed_time_ms']),
    ingestedAtMs: toNumber(r['ingested_at_ms']),
    source: str(r['source']) as LogRecord['source'],
    serviceName: strOrNull(r['service_name']),
    environment: str(r['environment']),
    severity: str(r['severity']) as LogRecord['severity'],
    severityNumber: toNumber(r['severity_number']),
    severityText: strOrNull(r['severity_text']),
    body: str(r['body']),
    traceId: strOrNull(r['trace_id']),
    spanId: strOrNull(r['span_id']),
    eventName: strOrNull(r['event_name']),
    patternId: strOrNull(r['pattern_id']),
    attributes: JSON.parse(str(r['attributes'])),
    resource: JSON.parse(str(r['resource'])),
  };
}

function rowToSpan(r: SqlRow): Span {
  const d = parseSpanDetail(str(r['detail']));
  return {
    projectId: str(r['project_id']),
    traceId: str(r['trace_id']),
    spanId: str(r['span_id']),
    parentSpanId: strOrNull(r['parent_span_id']),
    serviceName: strOrNull(r['service_name']),
    name: str(r['name']),
    kind: d.kind,
    startTimeMs: toNumber(r['start_time_ms']),
    durationMs: toNumber(r['duration_ms']),
    statusCode: str(r['status_code']) as Span['statusCode'],
    statusMessage: d.statusMessage,
    attributes: d.attributes,
    ingestedAtMs: d.ingestedAtMs,
  };
}

function costSumsOf(r: SqlRow): CostSums {
  const sums = emptyCostSums();
  for (const c of COST_SUMS) sums[c.field] = toNumber(r[c.column]);
  return sums;
}

function rowToSummary(r: SqlRow, groupBy: SummaryDimension[]): SummaryRow {
  const group: SummaryRow['group'] = {};
  groupBy.forEach((d, i) => {
    group[d] = strOrNull(r[`g${i}`]);
  });
  const n = (k: (typeof SUMMARY_COLUMNS)[number]) => toNumber(r[k]);
  const requests = n('requests');
  const errors = n('errors');
  return {
    bucketStartMs: n('bucket_start_ms'),
    group,
    requests,
    errors,
    errorRate: requests > 0 ? errors / requests : 0,
    inputTokens: n('input_tokens'),
    outputTokens: n('output_tokens'),
    cacheReadTokens: n('cache_read_tokens'),
    cacheWriteTokens: n('cache_write_tokens'),
    reasoningTokens: n('reasoning_tokens'),
    totalTokens: n('total_tokens'),
    ...costSummary(costSumsOf(r), requests),
    latencyP50Ms: toNumberOrNull(r['latency_p50_ms']),
    latencyP95Ms: toNumberOrNull(r['latency_p95_ms']),
    latencyP99Ms: toNumberOrNull(r['latency_p99_ms']),
    ttftP95Ms: toNumberOrNull(r['ttft_p95_ms']),
  };
}
