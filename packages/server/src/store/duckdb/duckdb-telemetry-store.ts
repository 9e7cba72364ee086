/**
 * TelemetryStore on an embedded DuckDB file. See docs/storage.md for the schema, the
 * rollups and the measured figures.
 *
 * Write path (one writer connection, serialised): the batch is de-duplicated in memory,
 * written column-wise into a connection-local staging table, and then, in one transaction,
 * calls already stored are removed from the staging table (an anti-join restricted to the
 * batch's time range), the rest is inserted into `llm_calls`, and partial rollup rows for
 * the new calls are appended. Retried events therefore add nothing, to raw data or rollups.
 */
import {
  type Clock,
  type LlmCall,
  type LlmCallListQuery,
  type LlmCallPage,
  type Span,
  type SummaryDimension,
  type SummaryQuery,
  type SummaryResult,
  type SummaryRow,
  systemClock,
  type TelemetryBatch,
} from '@reskpoints/core';
import { decodeLlmCallCursorOrThrow, encodeLlmCallCursor } from '../llm-call-cursor.js';
import type { AppendResult, SpanListQuery, TelemetryStore } from '../ports.js';
import { appendColumnar, stagingSqlType } from './columnar-append.js';
import {
  DuckDbDatabase,
  type DuckDbOptions,
  type SqlRow,
  sqlString,
  toNumber,
  toNumberOrNull,
} from './duckdb-database.js';
import { bucketSql } from './latency-histogram.js';
import {
  DAY_MS,
  exactSummarySql,
  filterConditions,
  HOUR_MS,
  planSummary,
  rollupSummarySql,
  type SUMMARY_COLUMNS,
} from './summary-sql.js';
import { BIGINT_COLUMNS, llmCallStaging, SERIES_COLUMNS, SPAN_STAGING, seriesKey } from './telemetry-columns.js';
import { TELEMETRY_MIGRATIONS } from './telemetry-migrations.js';

export interface DuckDbTelemetryStoreOptions extends DuckDbOptions {
  /**
   * A rollup period (hour or day) that received partial rows from this many appends is
   * compacted into one row per key, in the background on the writer connection. Default 32.
   */
  compactAfterAppends?: number;
}

const LLM_CALL_COLUMNS = [
  'project_id',
  'id',
  'start_time_ms',
  'environment',
  'source',
  'trace_id',
  'span_id',
  'parent_span_id',
  'service_name',
  'provider',
  'model',
  'request_model',
  'operation',
  'latency_ms',
  'ttft_ms',
  'status',
  'error_type',
  'error_message',
  'user_id',
  'session_id',
  'tags',
  'metadata',
  'raw_semantics',
  'raw_input_tokens',
  'raw_output_tokens',
  'raw_cache_read_tokens',
  'raw_cache_write_tokens',
  'raw_reasoning_tokens',
  'raw_total_tokens',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
  'total_tokens',
  'cost_usd',
  'prompt_excerpt',
  'response_excerpt',
  'ingested_at_ms',
] as const;

const SPAN_COLUMNS = SPAN_STAGING.filter((c) => c.name !== 'seq').map((c) => c.name);

/** SELECT list that reads calls back with BIGINTs as DOUBLE (exact below 2^53): no bigint per value. */
const LLM_CALL_SELECT = LLM_CALL_COLUMNS.map((c) => (BIGINT_COLUMNS.has(c) ? `${c}::DOUBLE AS ${c}` : c)).join(', ');
const SPAN_SELECT = SPAN_COLUMNS.map((c) => (BIGINT_COLUMNS.has(c) ? `${c}::DOUBLE AS ${c}` : c)).join(', ');

const EMPTY_RESULT = (): AppendResult => ({
  llmCallsInserted: 0,
  llmCallDuplicates: 0,
  spansInserted: 0,
  spanDuplicates: 0,
  insertedLlmCallKeys: [],
});

export class DuckDbTelemetryStore implements TelemetryStore {
  /** series key → series_id, mirrored from llm_series; loaded lazily by the writer. */
  private series: Map<string, number> | null = null;
  private nextSeriesId = 1;
  private stagingReady = false;
  /** Appends that touched each period since it was last compacted. */
  private readonly hourTouches = new Map<number, number>();
  private readonly dayTouches = new Map<number, number>();
  /** Background compactions that failed (they are retried by later appends). */
  compactionFailures = 0;
  private readonly compactAfterAppends: number;
  private readonly clock: Clock;

  private constructor(
    private readonly db: DuckDbDatabase,
    options: DuckDbTelemetryStoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.compactAfterAppends = options.compactAfterAppends ?? 32;
  }

  /** Opens (creating if needed) the database; call `migrate()` before use. */
  static async open(options: DuckDbTelemetryStoreOptions): Promise<DuckDbTelemetryStore> {
    return new DuckDbTelemetryStore(await DuckDbDatabase.open(options), options);
  }

  async migrate(): Promise<void> {
    await this.db.migrate(TELEMETRY_MIGRATIONS, this.clock.nowMs());
  }

  // --- writes -------------------------------------------------------------------------------

  appendBatch(batch: TelemetryBatch): Promise<AppendResult> {
    if (batch.llmCalls.length === 0 && batch.spans.length === 0) return Promise.resolve(EMPTY_RESULT());
    return this.db.write(async (c) => {
      await this.prepareWriter();
      const series = this.series!;
      const result = EMPTY_RESULT();

      // Duplicates inside the batch: keep the first occurrence.
      const calls = uniqueBy(batch.llmCalls, (x) => `${x.projectId}\u0000${x.id}`);
      const spans = uniqueBy(batch.spans, (x) => `${x.projectId}\u0000${x.traceId}\u0000${x.spanId}`);
      result.llmCallDuplicates = batch.llmCalls.length - calls.length;
      result.spanDuplicates = batch.spans.length - spans.length;

      const seriesIds = new Int32Array(calls.length);
      const newSeries: Array<[number, LlmCall]> = [];
      for (let i = 0; i < calls.length; i++) {
        const call = calls[i]!;
        const key = seriesKey(call);
        let id = series.get(key);
        if (id === undefined) {
          id = this.nextSeriesId++;
          series.set(key, id);
          newSeries.push([id, call]);
        }
        seriesIds[i] = id;
      }

      try {
        await c.run('DELETE FROM stage_calls');
        await c.run('DELETE FROM stage_spans');
        if (calls.length > 0) {
          const appender = await c.createAppender('stage_calls');
          appendColumnar(appender, llmCallStaging(seriesIds), calls);
          appender.closeSync();
        }
        if (spans.length > 0) {
          const appender = await c.createAppender('stage_spans');
          appendColumnar(appender, SPAN_STAGING, spans);
          appender.closeSync();
        }

        await c.run('BEGIN TRANSACTION');
        try {
          if (newSeries.length > 0) {
            const values = newSeries
              .map(
                ([id, s]) =>
                  `(${id}, ${[s.projectId, s.environment, s.provider, s.model, s.operation, s.status].map(sqlString).join(', ')})`,
              )
              .join(', ');
            await c.run(`INSERT INTO llm_series VALUES ${values}`);
          }
          let insertedCalls: LlmCall[] = [];
          if (calls.length > 0) {
            insertedCalls = await this.insertCalls(c, calls);
          }
          if (spans.length > 0) {
            const stored = await this.removeStored(
              c,
              'stage_spans',
              `SELECT s.seq FROM stage_spans s JOIN (SELECT project_id, trace_id, span_id FROM spans
                 WHERE start_time_ms BETWEEN ${range(spans).lo} AND ${range(spans).hi}) t
               ON t.project_id = s.project_id AND t.trace_id = s.trace_id AND t.span_id = s.span_id`,
            );
            const spanCols = SPAN_COLUMNS.map((n) => (BIGINT_COLUMNS.has(n) ? `${n}::BIGINT` : n)).join(', ');
            await c.run(`INSERT INTO spans (${SPAN_COLUMNS.join(', ')}) SELECT ${spanCols} FROM stage_spans`);
            result.spanDuplicates += stored.size;
            result.spansInserted = spans.length - stored.size;
          }
          await c.run('COMMIT');
          result.llmCallsInserted = insertedCalls.length;
          result.llmCallDuplicates += calls.length - insertedCalls.length;
          result.insertedLlmCallKeys = insertedCalls.map((x) => ({ projectId: x.projectId, id: x.id }));
          this.noteTouched(insertedCalls);
        } catch (e) {
          await c.run('ROLLBACK').catch(() => undefined);
          throw e;
        }
      } catch (e) {
        // The series rows were not committed: forget them so they are inserted next time.
        for (const [id, s] of newSeries) {
          series.delete(seriesKey(s));
          if (id < this.nextSeriesId) this.nextSeriesId = id;
        }
        throw e;
      }
      this.scheduleCompaction();
      return result;
    });
  }

  /** Inserts the staged calls not stored yet, and their rollups; returns the inserted ones. */
  private async insertCalls(c: DuckDbConnection, calls: LlmCall[]): Promise<LlmCall[]> {
    const { lo, hi } = range(calls);
    const stored = await this.removeStored(
      c,
      'stage_calls',
      `SELECT s.seq FROM stage_calls s JOIN llm_series ser ON ser.series_id = s.series_id
       JOIN (SELECT project_id, id FROM llm_calls WHERE start_time_ms BETWEEN ${lo} AND ${hi}) t
         ON t.project_id = ser.project_id AND t.id = s.id`,
    );
    if (stored.size === calls.length) return [];
    const fresh = stored.size === 0 ? calls : calls.filter((_, i) => !stored.has(i));
    const seriesCols = new Set<string>(SERIES_COLUMNS);
    const select = LLM_CALL_COLUMNS.map((n) =>
      seriesCols.has(n) ? `ser.${n}` : BIGINT_COLUMNS.has(n) ? `s.${n}::BIGINT` : `s.${n}`,
    ).join(', ');
    await c.run(
      `INSERT INTO llm_calls (${LLM_CALL_COLUMNS.join(', ')})
       SELECT ${select} FROM stage_calls s JOIN llm_series ser ON ser.series_id = s.series_id`,
    );
    await c.run(
      `INSERT INTO llm_rollup_1h
       SELECT s.series_id, (start_time_ms::BIGINT // ${HOUR_MS}) * ${HOUR_MS} AS hour_ms,
         count(*), count_if(ser.status = 'error'),
         sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT, sum(cache_read_tokens)::BIGINT,
         sum(cache_write_tokens)::BIGINT, sum(reasoning_tokens)::BIGINT, sum(total_tokens)::BIGINT,
         coalesce(sum(cost_usd), 0), count(*) - count(cost_usd)
       FROM stage_calls s JOIN llm_series ser ON ser.series_id = s.series_id
       GROUP BY s.series_id, hour_ms`,
    );
    await c.run(
      `CREATE OR REPLACE TEMP TABLE stage_hist AS
       SELECT series_id, hour_ms, metric, bucket, count(*)::BIGINT AS n FROM (
         SELECT series_id, (start_time_ms::BIGINT // ${HOUR_MS}) * ${HOUR_MS} AS hour_ms, 0::UTINYINT AS metric,
           ${bucketSql('latency_ms')} AS bucket FROM stage_calls
         UNION ALL
         SELECT series_id, (start_time_ms::BIGINT // ${HOUR_MS}) * ${HOUR_MS}, 1::UTINYINT,
           ${bucketSql('ttft_ms')} FROM stage_calls WHERE ttft_ms IS NOT NULL)
       GROUP BY ALL`,
    );
    await c.run('INSERT INTO llm_hist_1h SELECT * FROM stage_hist');
    await c.run(
      `INSERT INTO llm_hist_1d
       SELECT series_id, (hour_ms // ${DAY_MS}) * ${DAY_MS} AS day_ms, metric, bucket, sum(n)::BIGINT
       FROM stage_hist GROUP BY ALL`,
    );
    return fresh;
  }

  /**
   * Deletes from a staging table the rows `seqQuery` names (events already stored) and
   * returns their positions in the batch.
   */
  private async removeStored(c: DuckDbConnection, table: string, seqQuery: string): Promise<Set<number>> {
    const reader = await c.runAndReadAll(`DELETE FROM ${table} WHERE seq IN (${seqQuery}) RETURNING seq`);
    const out = new Set<number>();
    for (const row of reader.getRows()) out.add(Number(row[0]));
    return out;
  }

  private async prepareWriter(): Promise<void> {
    const c = this.db.writer;
    if (!this.stagingReady) {
      const cols = (list: ReadonlyArray<{ name: string; kind: Parameters<typeof stagingSqlType>[0] }>) =>
        list.map((x) => `${x.name} ${stagingSqlType(x.kind)}`).join(', ');
      await c.run(`CREATE OR REPLACE TEMP TABLE stage_calls (${cols(llmCallStaging(new Int32Array(0)))})`);
      await c.run(`CREATE OR REPLACE TEMP TABLE stage_spans (${cols(SPAN_STAGING)})`);
      this.stagingReady = true;
    }
    if (this.series === null) {
      const rows = (await c.runAndReadAll(`SELECT series_id, ${SERIES_COLUMNS.join(', ')} FROM llm_series`)).getRows();
      const map = new Map<string, number>();
      let max = 0;
      for (const r of rows) {
        const id = Number(r[0]);
        map.set((r.slice(1) as string[]).join('\u0000'), id);
        if (id > max) max = id;
      }
      this.series = map;
      this.nextSeriesId = max + 1;
    }
  }

  // --- compaction ---------------------------------------------------------------------------

  private noteTouched(calls: LlmCall[]): void {
    const hours = new Set<number>();
    for (const x of calls) hours.add(Math.floor(x.startTimeMs / HOUR_MS) * HOUR_MS);
    const days = new Set<number>();
    for (const h of hours) {
      this.hourTouches.set(h, (this.hourTouches.get(h) ?? 0) + 1);
      days.add(Math.floor(h / DAY_MS) * DAY_MS);
    }
    for (const d of days) this.dayTouches.set(d, (this.dayTouches.get(d) ?? 0) + 1);
  }

  private compactionQueued = false;

  private scheduleCompaction(): void {
    if (this.compactionQueued) return;
    const due = (m: Map<number, number>) => [...m].some(([, n]) => n >= this.compactAfterAppends);
    if (!due(this.hourTouches) && !due(this.dayTouches)) return;
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
    const pick = (m: Map<number, number>) =>
      [...m].filter(([, n]) => all || n >= this.compactAfterAppends).map(([p]) => p);
    const hours = pick(this.hourTouches);
    const days = pick(this.dayTouches);
    if (hours.length === 0 && days.length === 0) return;
    await c.run('BEGIN TRANSACTION');
    try {
      if (hours.length > 0) {
        const list = hours.join(', ');
        await rewrite(
          c,
          'llm_rollup_1h',
          `SELECT series_id, hour_ms, sum(requests)::BIGINT, sum(errors)::BIGINT, sum(input_tokens)::BIGINT,
             sum(output_tokens)::BIGINT, sum(cache_read_tokens)::BIGINT, sum(cache_write_tokens)::BIGINT,
             sum(reasoning_tokens)::BIGINT, sum(total_tokens)::BIGINT, sum(cost_usd), sum(unpriced_requests)::BIGINT
           FROM llm_rollup_1h WHERE hour_ms IN (${list}) GROUP BY series_id, hour_ms`,
          `hour_ms IN (${list})`,
        );
        await rewrite(
          c,
          'llm_hist_1h',
          `SELECT series_id, hour_ms, metric, bucket, sum(n)::BIGINT FROM llm_hist_1h
           WHERE hour_ms IN (${list}) GROUP BY ALL`,
          `hour_ms IN (${list})`,
        );
      }
      if (days.length > 0) {
        const list = days.join(', ');
        await rewrite(
          c,
          'llm_hist_1d',
          `SELECT series_id, day_ms, metric, bucket, sum(n)::BIGINT FROM llm_hist_1d
           WHERE day_ms IN (${list}) GROUP BY ALL`,
          `day_ms IN (${list})`,
        );
      }
      await c.run('COMMIT');
    } catch (e) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
    for (const h of hours) this.hourTouches.delete(h);
    for (const d of days) this.dayTouches.delete(d);
  }

  // --- reads --------------------------------------------------------------------------------

  async listLlmCalls(query: LlmCallListQuery): Promise<LlmCallPage> {
    const where = [
      `start_time_ms >= ${safeInt(query.fromMs)}`,
      `start_time_ms < ${safeInt(query.toMs)}`,
      ...filterConditions(query.filter),
    ];
    if (query.cursor !== undefined) {
      const cur = decodeLlmCallCursorOrThrow(query.cursor);
      const t = safeInt(cur.startTimeMs);
      const id = sqlString(cur.id);
      const sameId =
        cur.projectId === undefined ? 'FALSE' : `(id = ${id} AND project_id < ${sqlString(cur.projectId)})`;
      where.push(`(start_time_ms < ${t} OR (start_time_ms = ${t} AND (id < ${id} OR ${sameId})))`);
    }
    const limit = safeInt(query.limit);
    const rows = await this.db.query(
      `SELECT ${LLM_CALL_SELECT} FROM llm_calls WHERE ${where.join(' AND ')}
       ORDER BY start_time_ms DESC, id DESC, project_id DESC LIMIT ${limit + 1}`,
    );
    const items = rows.slice(0, limit).map(rowToCall);
    const last = items[items.length - 1];
    const nextCursor =
      rows.length > limit && last
        ? encodeLlmCallCursor({ startTimeMs: last.startTimeMs, id: last.id, projectId: last.projectId })
        : null;
    return { items, nextCursor };
  }

  async summarize(query: SummaryQuery): Promise<SummaryResult> {
    const groupBy = [...new Set(query.groupBy)];
    const q: SummaryQuery = { ...query, groupBy };
    const plan = planSummary(q);
    const sql = plan.kind === 'rollup' ? rollupSummarySql(q, plan.histogram) : exactSummarySql(q);
    const rows = await this.db.query(sql);
    return { rows: rows.map((r) => rowToSummary(r, groupBy)), precision: plan.kind };
  }

  async listSpans(query: SpanListQuery): Promise<Span[]> {
    const where = [
      `project_id = ${sqlString(query.projectId)}`,
      `start_time_ms >= ${safeInt(query.fromMs)}`,
      `start_time_ms < ${safeInt(query.toMs)}`,
    ];
    if (query.traceId !== undefined) where.push(`trace_id = ${sqlString(query.traceId)}`);
    if (query.serviceName !== undefined) where.push(`service_name = ${sqlString(query.serviceName)}`);
    const rows = await this.db.query(
      `SELECT ${SPAN_SELECT} FROM spans WHERE ${where.join(' AND ')}
       ORDER BY start_time_ms, span_id LIMIT ${safeInt(query.limit)}`,
    );
    return rows.map(rowToSpan);
  }

  // --- retention ----------------------------------------------------------------------------

  deleteBefore(beforeMs: number): Promise<number> {
    const before = safeInt(beforeMs);
    return this.db.transaction(async (c) => {
      const calls = await c.run(`DELETE FROM llm_calls WHERE start_time_ms < ${before}`);
      const spans = await c.run(`DELETE FROM spans WHERE start_time_ms < ${before}`);
      const hour = Math.floor(beforeMs / HOUR_MS) * HOUR_MS;
      const day = Math.floor(beforeMs / DAY_MS) * DAY_MS;
      // Periods wholly before the cut go; the period the cut falls into is rebuilt from the
      // calls that remain in it.
      await c.run(`DELETE FROM llm_rollup_1h WHERE hour_ms < ${hour} OR hour_ms = ${hour} AND ${hour} < ${before}`);
      await c.run(`DELETE FROM llm_hist_1h WHERE hour_ms < ${hour} OR hour_ms = ${hour} AND ${hour} < ${before}`);
      await c.run(`DELETE FROM llm_hist_1d WHERE day_ms < ${day} OR day_ms = ${day} AND ${day} < ${before}`);
      if (hour < beforeMs) await this.rebuildPeriod(c, 'hour', hour);
      if (day < beforeMs) await this.rebuildPeriod(c, 'day', day);
      for (const h of this.hourTouches.keys()) if (h < beforeMs) this.hourTouches.delete(h);
      for (const d of this.dayTouches.keys()) if (d < beforeMs) this.dayTouches.delete(d);
      return Number(calls.rowsChanged) + Number(spans.rowsChanged);
    });
  }

  private async rebuildPeriod(c: DuckDbConnection, unit: 'hour' | 'day', startMs: number): Promise<void> {
    const periodMs = unit === 'hour' ? HOUR_MS : DAY_MS;
    const from = `llm_calls k JOIN llm_series ser ON ${SERIES_COLUMNS.map((n) => `ser.${n} = k.${n}`).join(' AND ')}
      WHERE k.start_time_ms >= ${startMs} AND k.start_time_ms < ${startMs + periodMs}`;
    const hist = (table: string) =>
      `INSERT INTO ${table}
       SELECT series_id, ${startMs}, metric, bucket, count(*) FROM (
         SELECT ser.series_id, 0::UTINYINT AS metric, ${bucketSql('k.latency_ms')} AS bucket FROM ${from}
         UNION ALL
         SELECT ser.series_id, 1::UTINYINT, ${bucketSql('k.ttft_ms')} FROM ${from} AND k.ttft_ms IS NOT NULL)
       GROUP BY ALL`;
    if (unit === 'hour') {
      await c.run(
        `INSERT INTO llm_rollup_1h
         SELECT ser.series_id, ${startMs}, count(*), count_if(k.status = 'error'), sum(k.input_tokens)::BIGINT,
           sum(k.output_tokens)::BIGINT, sum(k.cache_read_tokens)::BIGINT, sum(k.cache_write_tokens)::BIGINT,
           sum(k.reasoning_tokens)::BIGINT, sum(k.total_tokens)::BIGINT, coalesce(sum(k.cost_usd), 0),
           count(*) - count(k.cost_usd)
         FROM ${from} GROUP BY ser.series_id`,
      );
      await c.run(hist('llm_hist_1h'));
    } else {
      await c.run(hist('llm_hist_1d'));
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

type DuckDbConnection = DuckDbDatabase['writer'];

async function rewrite(c: DuckDbConnection, table: string, mergedSelect: string, where: string): Promise<void> {
  await c.run(`CREATE OR REPLACE TEMP TABLE compacted AS ${mergedSelect}`);
  await c.run(`DELETE FROM ${table} WHERE ${where}`);
  await c.run(`INSERT INTO ${table} SELECT * FROM compacted`);
  await c.run('DROP TABLE compacted');
}

function uniqueBy<T>(items: readonly T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const x of items) {
    const k = key(x);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(x);
  }
  return out;
}

function range(events: ReadonlyArray<{ startTimeMs: number }>): { lo: number; hi: number } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const e of events) {
    if (e.startTimeMs < lo) lo = e.startTimeMs;
    if (e.startTimeMs > hi) hi = e.startTimeMs;
  }
  return { lo: safeInt(Math.floor(lo)), hi: safeInt(Math.ceil(hi)) };
}

function safeInt(n: number): number {
  if (!Number.isSafeInteger(n)) throw new Error(`expected a safe integer, got ${n}`);
  return n;
}

const str = (v: unknown): string => v as string;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));

function rowToCall(r: SqlRow): LlmCall {
  return {
    id: str(r['id']),
    projectId: str(r['project_id']),
    environment: str(r['environment']),
    source: str(r['source']) as LlmCall['source'],
    traceId: strOrNull(r['trace_id']),
    spanId: strOrNull(r['span_id']),
    parentSpanId: strOrNull(r['parent_span_id']),
    serviceName: strOrNull(r['service_name']),
    provider: str(r['provider']),
    model: str(r['model']),
    requestModel: strOrNull(r['request_model']),
    operation: str(r['operation']),
    startTimeMs: toNumber(r['start_time_ms']),
    latencyMs: toNumber(r['latency_ms']),
    ttftMs: toNumberOrNull(r['ttft_ms']),
    status: str(r['status']) as LlmCall['status'],
    errorType: strOrNull(r['error_type']),
    errorMessage: strOrNull(r['error_message']),
    userId: strOrNull(r['user_id']),
    sessionId: strOrNull(r['session_id']),
    tags: (r['tags'] as string[] | null) ?? [],
    metadata: JSON.parse(str(r['metadata'])) as Record<string, string>,
    usageRaw: {
      semantics: str(r['raw_semantics']) as LlmCall['usageRaw']['semantics'],
      inputTokens: toNumberOrNull(r['raw_input_tokens']),
      outputTokens: toNumberOrNull(r['raw_output_tokens']),
      cacheReadTokens: toNumberOrNull(r['raw_cache_read_tokens']),
      cacheWriteTokens: toNumberOrNull(r['raw_cache_write_tokens']),
      reasoningTokens: toNumberOrNull(r['raw_reasoning_tokens']),
      totalTokens: toNumberOrNull(r['raw_total_tokens']),
    },
    usage: {
      inputTokens: toNumber(r['input_tokens']),
      outputTokens: toNumber(r['output_tokens']),
      cacheReadTokens: toNumber(r['cache_read_tokens']),
      cacheWriteTokens: toNumber(r['cache_write_tokens']),
      reasoningTokens: toNumber(r['reasoning_tokens']),
      totalTokens: toNumber(r['total_tokens']),
    },
    costUsd: toNumberOrNull(r['cost_usd']),
    promptExcerpt: strOrNull(r['prompt_excerpt']),
    responseExcerpt: strOrNull(r['response_excerpt']),
    ingestedAtMs: toNumber(r['ingested_at_ms']),
  };
}

function rowToSpan(r: SqlRow): Span {
  return {
    projectId: str(r['project_id']),
    traceId: str(r['trace_id']),
    spanId: str(r['span_id']),
    parentSpanId: strOrNull(r['parent_span_id']),
    serviceName: strOrNull(r['service_name']),
    name: str(r['name']),
    kind: str(r['kind']),
    startTimeMs: toNumber(r['start_time_ms']),
    durationMs: toNumber(r['duration_ms']),
    statusCode: str(r['status_code']) as Span['statusCode'],
    statusMessage: strOrNull(r['status_message']),
    attributes: JSON.parse(str(r['attributes'])) as Span['attributes'],
    ingestedAtMs: toNumber(r['ingested_at_ms']),
  };
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
    costUsd: n('cost_usd'),
    unpricedRequests: n('unpriced_requests'),
    latencyP50Ms: toNumberOrNull(r['latency_p50_ms']),
    latencyP95Ms: toNumberOrNull(r['latency_p95_ms']),
    latencyP99Ms: toNumberOrNull(r['latency_p99_ms']),
    ttftP95Ms: toNumberOrNull(r['ttft_p95_ms']),
  };
}
