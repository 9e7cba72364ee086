/**
 * TelemetryStore on ClickHouse over HTTP (`@clickhouse/client`), for cluster mode.
 *
 * Works on ClickHouse 18.16 (what Debian 12 ships) and current releases; see schema.ts for
 * the type choices and docs/cluster.md for the idempotency argument. In short:
 * - `appendBatch` looks up which identities of the batch are already stored (within the
 *   batch's time range, using the sorting key) and inserts only the others. Appends through
 *   one store instance are serialised; across instances (workers) the `writeLock` excludes
 *   every other writer of the batch's UTC days from the lookup until the insert is over, and
 *   a writer that lost its lock while an INSERT of its was running is waited for (its INSERTs
 *   carry a query id that `system.processes` shows). So overlapping appends cannot both miss
 *   each other's rows, and a worker that crashed after inserting and before acking gets its
 *   batch redelivered, and the retry stores nothing twice.
 * - Each INSERT becomes visible atomically per partition (UTC day). A batch spanning several
 *   days is written as one part per day; if a node dies between them, the redelivered batch
 *   writes the missing ones.
 * - Retention never rewrites data: `deleteBefore` raises a watermark that every read
 *   applies (rows before it are gone for readers at once) and drops the day partitions that
 *   lie wholly before it. Rows of the day the cut falls in stay on disk, invisible, until a
 *   later pass drops that day. (A DELETE mutation on 18.16 rewrites every part of the table.)
 */
import { Readable } from 'node:stream';
import { type ClickHouseClient, ClickHouseLogLevel, createClient, drainStream } from '@clickhouse/client';
import {
  COST_SUM_FIELDS,
  type CostSums,
  costSummary,
  emptyCostSums,
  groupCostUsd,
  type LlmCall,
  type LlmCallFilter,
  type LlmCallListQuery,
  type LlmCallPage,
  LOG_SEVERITIES,
  type LogPage,
  type LogPatternCount,
  type LogPatternRatePoint,
  type LogRecord,
  type LogSearchQuery,
  REPORTED_COST_TOLERANCE,
  randomHex,
  type Span,
  type SummaryQuery,
  type SummaryResult,
  type SummaryRow,
  type TelemetryBatch,
} from '@reskpoints/core';
import { DIMENSION_COLUMN } from '../dimension-columns.js';
import { decodeLlmCallCursorOrThrow, encodeLlmCallCursor } from '../llm-call-cursor.js';
import {
  type AppendResult,
  type IngestedSinceQuery,
  type LlmCallExcerpts,
  type RecostProgress,
  type RecostQuery,
  type SpanListQuery,
  type TelemetryStore,
  TRACE_MAX_ITEMS,
  type TraceListQuery,
  type TracePage,
  type TraceQuery,
  type TraceRecord,
  type TraceSummary,
  type WriteLock,
  type WriteLockHold,
} from '../ports.js';
import { classifyClickHouseWriteError } from './clickhouse-errors.js';
import { type ColumnSpec, encodeRowBinary } from './row-binary.js';
import {
  LLM_CALL_COLUMNS,
  LLM_CALL_SPEC,
  type LlmCallRow,
  LOG_COLUMNS,
  LOG_SPEC,
  type LogRow,
  llmCallToRow,
  logToRow,
  num,
  numOrNull,
  rowToLlmCall,
  rowToLog,
  rowToSpan,
  SPAN_COLUMNS,
  SPAN_SPEC,
  type SpanRow,
  spanToRow,
} from './rows.js';
import {
  type AddColumn,
  CLICKHOUSE_MIGRATIONS,
  DAY_MS,
  MIGRATIONS_TABLE,
  migrationsTableDdl,
  RETENTION_TABLE,
} from './schema.js';
import { identifier, inList, int, str, strArray } from './sql.js';

export interface ClickHouseTelemetryStoreOptions {
  /** HTTP endpoint, e.g. `http://127.0.0.1:8123`. */
  url: string;
  /** Database holding the tables; created by `migrate()`. Plain identifier. Default `reskpoints`. */
  database?: string;
  /** Default `default`. */
  username?: string;
  /** Default empty. */
  password?: string;
  /** Per-request timeout in milliseconds. Default 300_000 (inserts of large batches). */
  requestTimeoutMs?: number;
  /** Most sockets kept open to the server. Default 10. */
  maxOpenConnections?: number;
  /**
   * Identities per duplicate lookup query; keeps the query text under ClickHouse's
   * `max_query_size` limit. Default 2000.
   */
  dedupLookupChunk?: number;
  /**
   * Most day partitions one INSERT touches. Current ClickHouse refuses an INSERT that
   * touches more than `max_partitions_per_insert_block` (100) partitions. Default 90.
   */
  maxPartitionsPerInsert?: number;
  /** Clock for the ingestion stamp of appended events. Default `Date.now`. */
  nowMs?: () => number;
  /**
   * Cross-node lock on the UTC days a batch touches, held from the duplicate lookup to the
   * end of the insert. Required when more than one process appends to the database (several
   * workers): without it two of them can both miss the other's rows and store an event twice.
   * Without it, appends are serialised within this instance only. Closed with the store.
   */
  writeLock?: WriteLock;
  /**
   * After taking a day whose previous holder lost it without releasing, how long to wait for
   * that holder's last INSERT to reach the server before looking for it in
   * `system.processes`, ms. Default 5_000.
   */
  lostWriterSettleMs?: number;
}

/** `max_query_size` sent with lookups that inline many identities (the default is 256 KiB). */
const LOOKUP_MAX_QUERY_BYTES = 16 * 1024 * 1024;

const ORDER_EXPRESSIONS = {
  requests: 'requests',
  errors: 'errors',
  totalTokens: 's_total_tokens',
  costUsd: 'costUsd',
  latencyP95Ms: 'latency_q[2]',
} as const;

export class ClickHouseTelemetryStore implements TelemetryStore {
  private readonly client: ClickHouseClient;
  private readonly db: string;
  private readonly calls: string;
  private readonly spans: string;
  private readonly logs: string;
  private readonly dedupLookupChunk: number;
  /** Scalar subquery giving the retention watermark; see deleteBefore. */
  private readonly visibleFrom: string;
  private readonly maxPartitionsPerInsert: number;
  /** Serialises appends of this instance: the duplicate lookup and the insert are one step. */
  private appendTail: Promise<unknown> = Promise.resolve();
  private readonly nowMs: () => number;
  private lastStampMs = 0;
  /** Several workers stamp and insert independently: readers keep a configured safety lag. */
  readonly ingestedVisibilityLagMs = null;
  private readonly writeLock: WriteLock | null;
  private readonly lostWriterSettleMs: number;
  /** Every append INSERT carries a query id with this prefix, so `system.processes` shows writers in flight. */
  private readonly writerQueryPrefix: string;

  constructor(options: ClickHouseTelemetryStoreOptions) {
    this.db = options.database ?? 'reskpoints';
    // Validates the name once; every statement below uses the quoted form.
    const db = identifier(this.db);
    this.calls = `${db}.llm_calls`;
    this.spans = `${db}.spans`;
    this.logs = `${db}.logs`;
    this.dedupLookupChunk = options.dedupLookupChunk ?? 2000;
    this.visibleFrom = `(SELECT max(cut_ms) FROM ${db}.${RETENTION_TABLE})`;
    this.maxPartitionsPerInsert = Math.max(1, options.maxPartitionsPerInsert ?? 90);
    this.nowMs = options.nowMs ?? Date.now;
    this.writeLock = options.writeLock ?? null;
    this.lostWriterSettleMs = options.lostWriterSettleMs ?? 5_000;
    this.writerQueryPrefix = `rp-append-${this.db}-`;
    this.client = createClient({
      url: options.url,
      username: options.username ?? 'default',
      password: options.password ?? '',
      request_timeout: options.requestTimeoutMs ?? 300_000,
      max_open_connections: options.maxOpenConnections ?? 10,
      application: 'reskpoints',
      // Errors reach the caller as rejections; the client's own logging would print them twice.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  async migrate(): Promise<void> {
    await this.ddl(`CREATE DATABASE IF NOT EXISTS ${identifier(this.db)}`);
    await this.ddl(migrationsTableDdl(this.db));
    const current = await this.schemaVersion();
    for (const m of CLICKHOUSE_MIGRATIONS) {
      if (m.version <= current) continue;
      for (const statement of m.statements(this.db)) {
        if (typeof statement === 'string') await this.ddl(statement);
        else if ('ifRows' in statement) {
          if ((await this.select(statement.ifRows)).length > 0) await this.ddl(statement.statement);
        } else await this.addColumn(statement);
      }
      await this.client.insert({
        table: `${identifier(this.db)}.${MIGRATIONS_TABLE}`,
        values: [{ version: m.version, name: m.name, applied_at_ms: Date.now() }],
        format: 'JSONEachRow',
      });
    }
  }

  /** Adds a column unless it exists; a node that loses the race to add it finds it there. */
  private async addColumn(step: AddColumn): Promise<void> {
    const exists = async () =>
      (
        await this.select<{ n: unknown }>(
          `SELECT count() AS n FROM system.columns
           WHERE database = ${str(this.db)} AND table = ${str(step.table)} AND name = ${str(step.column)}`,
        )
      ).some((r) => num(r.n) > 0);
    if (await exists()) return;
    try {
      await this.client.command({
        query: `ALTER TABLE ${identifier(this.db)}.${identifier(step.table)} ADD COLUMN ${identifier(step.column)} ${step.type} AFTER ${identifier(step.after)}`,
      });
    } catch (e) {
      if (!(await exists())) throw e;
    }
  }

  /** Highest applied migration version, 0 before the first. */
  async schemaVersion(): Promise<number> {
    const rows = await this.select<{ v: unknown }>(
      `SELECT max(version) AS v FROM ${identifier(this.db)}.${MIGRATIONS_TABLE}`,
    );
    return rows.length === 0 ? 0 : num(rows[0]?.v ?? 0);
  }

  appendBatch(batch: TelemetryBatch): Promise<AppendResult> {
    const run = this.appendTail.then(() =>
      this.appendNow(batch).catch((e: unknown) => {
        throw classifyClickHouseWriteError(e);
      }),
    );
    // The queue continues whether this append succeeded or not.
    this.appendTail = run.catch(() => undefined);
    return run;
  }

  private async appendNow(batch: TelemetryBatch): Promise<AppendResult> {
    // Duplicates inside the batch: the first occurrence wins.
    const callKey = (c: LlmCall) => `${c.projectId}\u0000${c.id}`;
    const spanKey = (s: Span) => `${s.projectId}\u0000${s.traceId}\u0000${s.spanId}`;
    const uniqueCalls = uniqueBy(batch.llmCalls, callKey);
    const uniqueSpans = uniqueBy(batch.spans, spanKey);
    const logKey = (l: LogRecord) => `${l.projectId}\u0000${l.id}`;
    const uniqueLogs = uniqueBy(batch.logs ?? [], logKey);
    if (uniqueCalls.length === 0 && uniqueSpans.length === 0 && uniqueLogs.length === 0) return emptyAppend();

    // The lookup and the insert must not interleave with another writer's for the same
    // events. Events of one identity share a start time (see the port), hence a day: locking
    // the batch's days excludes every writer that could store one of its events.
    const days = new Set<number>();
    for (const e of [...uniqueCalls, ...uniqueSpans]) days.add(Math.floor(e.startTimeMs / DAY_MS));
    for (const l of uniqueLogs) days.add(Math.floor(l.timeMs / DAY_MS));
    const hold = this.writeLock
      ? await this.writeLock.acquire([...days].map((d) => `clickhouse/${this.db}/day/${d}`))
      : null;
    let settled = true;
    try {
      if (hold && hold.uncleanKeys.length > 0) await this.awaitLostWriters();
      const storedCalls = await this.storedCallKeys(uniqueCalls);
      const storedSpans = await this.storedSpanKeys(uniqueSpans);
      const newCalls = uniqueCalls.filter((c) => !storedCalls.has(callKey(c)));
      const newSpans = uniqueSpans.filter((s) => !storedSpans.has(spanKey(s)));
      const storedLogs = await this.storedLogKeys(uniqueLogs);
      const newLogs = uniqueLogs.filter((l) => !storedLogs.has(logKey(l)));
      // The ingestion stamp: when this node stored the event (derived processing reads by it).
      const stampMs = Math.max(this.nowMs(), this.lastStampMs + 1);
      this.lastStampMs = stampMs;
      for (const c of newCalls) c.ingestedAtMs = stampMs;
      for (const sp of newSpans) sp.ingestedAtMs = stampMs;
      for (const l of newLogs) l.ingestedAtMs = stampMs;

      const track = { settled: true };
      try {
        await this.insertByPartition(this.calls, newCalls.map(llmCallToRow), LLM_CALL_SPEC, hold, track);
        await this.insertByPartition(this.spans, newSpans.map(spanToRow), SPAN_SPEC, hold, track);
        await this.insertByPartition(this.logs, newLogs.map(logToRow), LOG_SPEC, hold, track);
      } finally {
        settled = track.settled;
      }
      return {
        llmCallsInserted: newCalls.length,
        llmCallDuplicates: batch.llmCalls.length - newCalls.length,
        spansInserted: newSpans.length,
        spanDuplicates: batch.spans.length - newSpans.length,
        insertedLlmCallKeys: newCalls.map((c) => ({ projectId: c.projectId, id: c.id })),
        ...(newCalls.length + newSpans.length > 0 ? { ingestedAtRange: { fromMs: stampMs, toMs: stampMs } } : {}),
        ...(batch.logs?.length
          ? { logsInserted: newLogs.length, logDuplicates: batch.logs.length - newLogs.length }
          : {}),
      };
    } finally {
      // A clean release tells the next holder that nothing of ours is in flight; when that is
      // not known (an INSERT whose end we could not observe), the days are given up unclean.
      if (hold) await (settled ? hold.release() : hold.abandon());
    }
  }

  /**
   * A previous holder of one of our days lost it without releasing: it crashed or its lock
   * connection broke, perhaps with an INSERT still running on the server. Wait for such an
   * INSERT to arrive (`lostWriterSettleMs`), then until every append INSERT running now has
   * finished, so that the duplicate lookup sees what it wrote. Appends that start later hold
   * their days, so they cannot be the lost writer's.
   */
  private async awaitLostWriters(): Promise<void> {
    await sleep(this.lostWriterSettleMs);
    const running = await this.runningAppendQueries();
    while (running.size > 0) {
      await sleep(100);
      const now = await this.runningAppendQueries();
      for (const id of running) if (!now.has(id)) running.delete(id);
    }
  }

  private async runningAppendQueries(): Promise<Set<string>> {
    const prefix = this.writerQueryPrefix;
    const rows = await this.select<{ query_id: string }>(
      `SELECT query_id FROM system.processes WHERE substring(query_id, 1, ${int(prefix.length)}) = ${str(prefix)}`,
    );
    return new Set(rows.map((r) => r.query_id));
  }

  /**
   * Identities of `calls` already stored. An event's identity fixes its start time (see the
   * port), so the lookup is narrowed to the batch's time range and uses the sorting key.
   */
  private async storedCallKeys(calls: LlmCall[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const chunk of chunks(calls, this.dedupLookupChunk)) {
      const times = chunk.map((c) => Math.trunc(c.startTimeMs));
      const rows = await this.select<{ project_id: string; id: string }>(
        `SELECT project_id, id FROM ${this.calls}
         WHERE start_time_ms >= ${int(Math.min(...times))} AND start_time_ms <= ${int(Math.max(...times))}
           AND ${this.visible()}
           AND ${inList('project_id', distinct(chunk.map((c) => c.projectId)))}
           AND ${inList('id', distinct(chunk.map((c) => c.id)))}`,
        { max_query_size: String(LOOKUP_MAX_QUERY_BYTES) },
      );
      for (const r of rows) found.add(`${r.project_id}\u0000${r.id}`);
    }
    return found;
  }

  private async storedSpanKeys(spans: Span[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const chunk of chunks(spans, this.dedupLookupChunk)) {
      const times = chunk.map((s) => Math.trunc(s.startTimeMs));
      const rows = await this.select<{ project_id: string; trace_id: string; span_id: string }>(
        `SELECT project_id, trace_id, span_id FROM ${this.spans}
         WHERE start_time_ms >= ${int(Math.min(...times))} AND start_time_ms <= ${int(Math.max(...times))}
           AND ${this.visible()}
           AND ${inList('project_id', distinct(chunk.map((s) => s.projectId)))}
           AND ${inList('trace_id', distinct(chunk.map((s) => s.traceId)))}
           AND ${inList('span_id', distinct(chunk.map((s) => s.spanId)))}`,
        { max_query_size: String(LOOKUP_MAX_QUERY_BYTES) },
      );
      for (const r of rows) found.add(`${r.project_id}\u0000${r.trace_id}\u0000${r.span_id}`);
    }
    return found;
  }

  private async storedLogKeys(logs: LogRecord[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const chunk of chunks(logs, this.dedupLookupChunk)) {
      const times = chunk.map((l) => Math.trunc(l.timeMs));
      const rows = await this.select<{ project_id: string; id: string }>(
        `SELECT project_id, id FROM ${this.logs}
         WHERE start_time_ms >= ${int(Math.min(...times))} AND start_time_ms <= ${int(Math.max(...times))}
           AND ${this.visible()}
           AND ${inList('project_id', distinct(chunk.map((l) => l.projectId)))}
           AND ${inList('id', distinct(chunk.map((l) => l.id)))}`,
        { max_query_size: String(LOOKUP_MAX_QUERY_BYTES) },
      );
      for (const r of rows) found.add(`${r.project_id}\u0000${r.id}`);
    }
    return found;
  }

  /**
   * One INSERT per group of at most `maxPartitionsPerInsert` day partitions, rows sorted by
   * day so that each group is contiguous.
   */
  private async insertByPartition<R extends { start_time_ms: number }>(
    table: string,
    rows: R[],
    columns: ColumnSpec<R>,
    hold: WriteLockHold | null = null,
    track: { settled: boolean } = { settled: true },
  ): Promise<void> {
    if (rows.length === 0) return;
    const day = (r: R) => Math.floor(r.start_time_ms / DAY_MS);
    const sorted = [...rows].sort((a, b) => day(a) - day(b));
    let start = 0;
    while (start < sorted.length) {
      let end = start;
      let days = 0;
      let lastDay = Number.NaN;
      while (end < sorted.length) {
        const d = day(sorted[end] as R);
        if (d !== lastDay) {
          if (days === this.maxPartitionsPerInsert) break;
          days++;
          lastDay = d;
        }
        end++;
      }
      await this.insertRowBinary(table, columns, sorted.slice(start, end), hold, track);
      start = end;
    }
  }

  async listLlmCalls(query: LlmCallListQuery): Promise<LlmCallPage> {
    const conditions = [timeRange(query.fromMs, query.toMs), this.visible(), ...filterConditions(query.filter)];
    if (query.text !== undefined && query.text !== '') conditions.push(textCondition(query.text));
    if (query.cursor !== undefined) {
      const c = decodeLlmCallCursorOrThrow(query.cursor);
      const t = int(c.startTimeMs);
      // (startTimeMs, id, projectId) descending; the project breaks ties between projects
      // that used the same event id at the same millisecond.
      conditions.push(
        c.projectId === undefined
          ? `(start_time_ms < ${t} OR (start_time_ms = ${t} AND id < ${str(c.id)}))`
          : `(start_time_ms < ${t} OR (start_time_ms = ${t} AND (id < ${str(c.id)} OR (id = ${str(c.id)} AND project_id < ${str(c.projectId)}))))`,
      );
    }
    const limit = clampLimit(query.limit);
    // Two steps: ClickHouse 18.16 cannot read in sorting-key order, so ORDER BY … LIMIT reads
    // every matching row; doing that for the four key columns and then fetching the page's
    // full rows by key is ~4x faster on millions of rows than sorting whole rows (see
    // docs/cluster.md). LIMIT 1 BY also hides a not-yet-merged duplicate (see schema.ts).
    const keys = await this.select<{ project_id: string; id: string; start_time_ms: unknown }>(
      `SELECT project_id, id, start_time_ms FROM ${this.calls}
       WHERE ${conditions.join(' AND ')}
       ORDER BY start_time_ms DESC, id DESC, project_id DESC
       LIMIT 1 BY project_id, id
       LIMIT ${int(limit + 1)}`,
    );
    const pageKeys = keys.slice(0, limit);
    if (pageKeys.length === 0) return { items: [], nextCursor: null };
    const times = pageKeys.map((k) => num(k.start_time_ms));
    const rows = await this.select<Record<keyof LlmCallRow, unknown>>(
      `SELECT ${LLM_CALL_COLUMNS.join(', ')} FROM ${this.calls}
       WHERE start_time_ms >= ${int(Math.min(...times))} AND start_time_ms <= ${int(Math.max(...times))}
         AND (project_id, id) IN (${pageKeys.map((k) => `(${str(k.project_id)}, ${str(k.id)})`).join(', ')})`,
      { max_query_size: String(LOOKUP_MAX_QUERY_BYTES) },
    );
    const byKey = new Map<string, LlmCall>();
    for (const r of rows) {
      const call = rowToLlmCall(r);
      byKey.set(`${call.projectId}\u0000${call.id}`, call);
    }
    const items: LlmCall[] = [];
    for (const k of pageKeys) {
      const call = byKey.get(`${k.project_id}\u0000${k.id}`);
      // Absent only if retention deleted it between the two queries.
      if (call) items.push(call);
    }
    const last = pageKeys[pageKeys.length - 1] as { project_id: string; id: string; start_time_ms: unknown };
    return {
      items,
      nextCursor:
        keys.length > limit
          ? encodeLlmCallCursor({ startTimeMs: num(last.start_time_ms), id: last.id, projectId: last.project_id })
          : null,
    };
  }

  async listLlmCallsIngestedSince(query: IngestedSinceQuery): Promise<LlmCall[]> {
    const conditions = [`ingested_at_ms <= ${int(query.untilMs)}`, this.visible()];
    const a = query.after;
    if (a) {
      const t = int(a.ingestedAtMs);
      conditions.push(
        a.projectId === null || a.id === null
          ? `ingested_at_ms > ${t}`
          : `(ingested_at_ms > ${t} OR (ingested_at_ms = ${t} AND (project_id > ${str(a.projectId)} OR (project_id = ${str(a.projectId)} AND id > ${str(a.id)}))))`,
      );
    }
    const limit = Math.max(1, Math.min(10_000, Math.trunc(query.limit)));
    // Keys first, then whole rows by key, as in listLlmCalls.
    const keys = await this.select<{ project_id: string; id: string; start_time_ms: unknown }>(
      `SELECT project_id, id, start_time_ms, ingested_at_ms FROM ${this.calls}
       WHERE ${conditions.join(' AND ')}
       ORDER BY ingested_at_ms, project_id, id
       LIMIT 1 BY project_id, id
       LIMIT ${int(limit)}`,
    );
    if (keys.length === 0) return [];
    const times = keys.map((k) => num(k.start_time_ms));
    const rows = await this.select<Record<keyof LlmCallRow, unknown>>(
      `SELECT ${LLM_CALL_COLUMNS.join(', ')} FROM ${this.calls}
       WHERE start_time_ms >= ${int(Math.min(...times))} AND start_time_ms <= ${int(Math.max(...times))}
         AND (project_id, id) IN (${keys.map((k) => `(${str(k.project_id)}, ${str(k.id)})`).join(', ')})
       LIMIT 1 BY project_id, id`,
      { max_query_size: String(LOOKUP_MAX_QUERY_BYTES) },
    );
    const byKey = new Map<string, LlmCall>();
    for (const r of rows) {
      const call = rowToLlmCall(r);
      byKey.set(`${call.projectId}\u0000${call.id}`, call);
    }
    const out: LlmCall[] = [];
    for (const k of keys) {
      const call = byKey.get(`${k.project_id}\u0000${k.id}`);
      if (call) out.push(call);
    }
    return out;
  }

  async summarize(q: SummaryQuery): Promise<SummaryResult> {
    // Grouping by a constant alone is an aggregation without GROUP BY to ClickHouse, which
    // returns one all-zero row over no data; HAVING removes it.
    const bucket =
      q.intervalMs === null ? int(q.fromMs) : `intDiv(start_time_ms, ${int(q.intervalMs)}) * ${int(q.intervalMs)}`;
    // `tag`: the call's distinct tags sorted and joined (`tagSetValue`), NULL when it has none.
    const groupCols = q.groupBy.map(
      (d, i) =>
        `${d === 'tag' ? "if(empty(tags), NULL, arrayStringConcat(arraySort(arrayDistinct(tags)), ','))" : DIMENSION_COLUMN[d]} AS g${i}`,
    );
    const groupAliases = q.groupBy.map((_, i) => `g${i}`);
    const order = ORDER_EXPRESSIONS[q.orderBy ?? 'requests'];
    const limitBy = q.limit !== undefined ? `LIMIT ${int(Math.max(0, q.limit))} BY bucket` : '';
    const rows = await this.select<Record<string, unknown>>(
      `SELECT
         ${bucket} AS bucket,
         ${[...groupCols, ''].join(', ')}
         count() AS requests,
         countIf(status = 'error') AS errors,
         sum(input_tokens) AS s_input_tokens,
         sum(output_tokens) AS s_output_tokens,
         sum(cache_read_tokens) AS s_cache_read_tokens,
         sum(cache_write_tokens) AS s_cache_write_tokens,
         sum(reasoning_tokens) AS s_reasoning_tokens,
         sum(total_tokens) AS s_total_tokens,
         ${COST_SUMS_SQL},
         quantilesExact(0.5, 0.95, 0.99)(latency_ms) AS latency_q,
         quantileExact(0.95)(ttft_ms) AS ttft_p95,
         count(ttft_ms) AS ttft_count
       FROM ${this.calls}
       WHERE ${[timeRange(q.fromMs, q.toMs), this.visible(), ...filterConditions(q.filter)].join(' AND ')}
       GROUP BY ${['bucket', ...groupAliases].join(', ')}
       HAVING requests > 0
       ORDER BY ${['bucket ASC', `${order} DESC`, ...groupAliases].join(', ')}
       ${limitBy}`,
    );
    return {
      precision: 'exact',
      rows: rows.map((r): SummaryRow => {
        const group: SummaryRow['group'] = {};
        q.groupBy.forEach((d, i) => {
          group[d] = (r[`g${i}`] as string | null) ?? null;
        });
        const requests = num(r.requests);
        const errors = num(r.errors);
        const latency = (r.latency_q as unknown[]).map(num);
        return {
          bucketStartMs: num(r.bucket),
          group,
          requests,
          errors,
          errorRate: requests === 0 ? 0 : errors / requests,
          inputTokens: num(r.s_input_tokens),
          outputTokens: num(r.s_output_tokens),
          cacheReadTokens: num(r.s_cache_read_tokens),
          cacheWriteTokens: num(r.s_cache_write_tokens),
          reasoningTokens: num(r.s_reasoning_tokens),
          totalTokens: num(r.s_total_tokens),
          ...costSummary(costSumsOf(r), requests),
          latencyP50Ms: latency[0] ?? null,
          latencyP95Ms: latency[1] ?? null,
          latencyP99Ms: latency[2] ?? null,
          // quantileExact over no values gives 0 on some versions, so the count decides.
          ttftP95Ms: num(r.ttft_count) === 0 ? null : numOrNull(r.ttft_p95),
        };
      }),
    };
  }

  async listSpans(query: SpanListQuery): Promise<Span[]> {
    const conditions = [`project_id = ${str(query.projectId)}`, timeRange(query.fromMs, query.toMs), this.visible()];
    if (query.traceId !== undefined) conditions.push(`trace_id = ${str(query.traceId)}`);
    if (query.serviceName !== undefined) conditions.push(`service_name = ${str(query.serviceName)}`);
    const rows = await this.select<Record<keyof SpanRow, unknown>>(
      `SELECT ${SPAN_COLUMNS.join(', ')} FROM ${this.spans}
       WHERE ${conditions.join(' AND ')}
       ORDER BY start_time_ms ASC, trace_id ASC, span_id ASC
       LIMIT ${int(clampLimit(query.limit))}`,
    );
    return rows.map(rowToSpan);
  }

  // --- logs ---------------------------------------------------------------------------------

  private logConditions(q: LogSearchQuery): string[] {
    const f = q.filter;
    const out = [timeRange(q.fromMs, q.toMs), this.visible()];
    if (f.projectIds?.length) out.push(inList('project_id', f.projectIds));
    if (f.services?.length) out.push(inList('service_name', f.services));
    if (f.environments?.length) out.push(inList('environment', f.environments));
    if (f.severities?.length) out.push(inList('severity', f.severities));
    if (f.patternIds?.length) out.push(inList('pattern_id', f.patternIds));
    if (f.traceId !== undefined) out.push(`trace_id = ${str(f.traceId)}`);
    if (f.text) out.push(`positionCaseInsensitiveUTF8(body, ${str(f.text)}) > 0`);
    return out;
  }

  async searchLogs(query: LogSearchQuery): Promise<LogPage> {
    const conditions = this.logConditions(query);
    if (query.cursor !== undefined) {
      const c = decodeLlmCallCursorOrThrow(query.cursor);
      const t = int(c.startTimeMs);
      conditions.push(
        `(start_time_ms < ${t} OR (start_time_ms = ${t} AND (id < ${str(c.id)} OR (id = ${str(c.id)} AND project_id < ${str(c.projectId ?? '')}))))`,
      );
    }
    const limit = clampLimit(query.limit);
    // LIMIT 1 BY hides a not-yet-merged copy (see schema.ts).
    const rows = await this.select<Record<keyof LogRow, unknown>>(
      `SELECT ${LOG_COLUMNS.join(', ')} FROM ${this.logs}
       WHERE ${conditions.join(' AND ')}
       ORDER BY start_time_ms DESC, id DESC, project_id DESC
       LIMIT 1 BY project_id, id
       LIMIT ${int(limit + 1)}`,
    );
    const items = rows.slice(0, limit).map(rowToLog);
    const last = items[items.length - 1];
    const nextCursor =
      rows.length > limit && last
        ? encodeLlmCallCursor({ startTimeMs: last.timeMs, id: last.id, projectId: last.projectId })
        : null;
    return { items, nextCursor };
  }

  async logPatternCounts(query: LogSearchQuery): Promise<LogPatternCount[]> {
    const sev = LOG_SEVERITIES.map((s) => `countIf(severity = ${str(s)}) AS sev_${s}`).join(', ');
    const rows = await this.select<Record<string, unknown>>(
      `SELECT project_id, service_name, pattern_id, count() AS n, sum(length(body)) AS bytes,
              min(start_time_ms) AS first_ms, max(start_time_ms) AS last_ms, ${sev}, any(body) AS example
       FROM (SELECT * FROM ${this.logs} WHERE ${this.logConditions(query).join(' AND ')} LIMIT 1 BY project_id, id)
       GROUP BY project_id, service_name, pattern_id ORDER BY n DESC`,
    );
    return rows.map((r) => {
      const severities: LogPatternCount['severities'] = {};
      for (const s of LOG_SEVERITIES) {
        const n = num(r[`sev_${s}`]);
        if (n > 0) severities[s] = n;
      }
      return {
        projectId: r['project_id'] as string,
        serviceName: r['service_name'] as string | null,
        patternId: r['pattern_id'] as string | null,
        count: num(r['n']),
        bytes: num(r['bytes']),
        firstSeenMs: num(r['first_ms']),
        lastSeenMs: num(r['last_ms']),
        severities,
        example: r['example'] as string,
      };
    });
  }

  async logPatternRates(query: LogSearchQuery, bucketMs: number): Promise<LogPatternRatePoint[]> {
    const b = int(bucketMs);
    const rows = await this.select<Record<string, unknown>>(
      `SELECT intDiv(start_time_ms, ${b}) * ${b} AS bucket, service_name, pattern_id, count() AS n
       FROM (SELECT start_time_ms, service_name, pattern_id FROM ${this.logs}
             WHERE ${this.logConditions(query).join(' AND ')} LIMIT 1 BY project_id, id)
       GROUP BY bucket, service_name, pattern_id ORDER BY bucket`,
    );
    return rows.map((r) => ({
      bucketStartMs: num(r['bucket']),
      serviceName: r['service_name'] as string | null,
      patternId: r['pattern_id'] as string | null,
      count: num(r['n']),
    }));
  }

  async getTrace(query: TraceQuery): Promise<TraceRecord> {
    const common = [timeRange(query.fromMs, query.toMs), this.visible(), `trace_id = ${str(query.traceId)}`];
    if (query.projectIds !== undefined) common.push(inList('project_id', query.projectIds));
    const where = common.join(' AND ');
    // LIMIT 1 BY hides a not-yet-merged duplicate (see schema.ts).
    const [calls, spans] = await Promise.all([
      this.select<Record<keyof LlmCallRow, unknown>>(
        `SELECT ${LLM_CALL_COLUMNS.join(', ')} FROM ${this.calls} WHERE ${where}
         ORDER BY start_time_ms ASC, id ASC LIMIT 1 BY project_id, id LIMIT ${int(TRACE_MAX_ITEMS)}`,
      ),
      this.select<Record<keyof SpanRow, unknown>>(
        `SELECT ${SPAN_COLUMNS.join(', ')} FROM ${this.spans} WHERE ${where}
         ORDER BY start_time_ms ASC, span_id ASC LIMIT 1 BY project_id, trace_id, span_id LIMIT ${int(TRACE_MAX_ITEMS)}`,
      ),
    ]);
    return { llmCalls: calls.map(rowToLlmCall), spans: spans.map(rowToSpan) };
  }

  async listTraces(query: TraceListQuery): Promise<TracePage> {
    const range = [timeRange(query.fromMs, query.toMs), this.visible()];
    const conditions = [...range, 'isNotNull(trace_id)', ...filterConditions(query.filter)];
    const limit = clampLimit(query.limit);
    let having = '';
    if (query.cursor !== undefined) {
      const c = decodeLlmCallCursorOrThrow(query.cursor);
      const t = int(c.startTimeMs);
      having = `HAVING (first_ms < ${t} OR (first_ms = ${t} AND (tid < ${str(c.id)}${
        c.projectId === undefined ? '' : ` OR (tid = ${str(c.id)} AND project_id < ${str(c.projectId)})`
      })))`;
    }
    // Aliases never shadow a column: ClickHouse would substitute them in WHERE.
    const found = await this.select<{ project_id: string; tid: string; first_ms: unknown }>(
      `SELECT project_id, assumeNotNull(trace_id) AS tid, min(start_time_ms) AS first_ms FROM ${this.calls}
       WHERE ${conditions.join(' AND ')}
       GROUP BY project_id, tid
       ${having}
       ORDER BY first_ms DESC, tid DESC, project_id DESC LIMIT ${int(limit + 1)}`,
    );
    const hits = found.slice(0, limit);
    const lastHit = hits[hits.length - 1];
    const nextCursor =
      found.length > limit && lastHit
        ? encodeLlmCallCursor({ startTimeMs: num(lastHit.first_ms), id: lastHit.tid, projectId: lastHit.project_id })
        : null;
    if (hits.length === 0) return { items: [], nextCursor: null };
    const keys = hits.map((h) => `(${str(h.project_id)}, ${str(h.tid)})`).join(', ');
    const [aggs, roots] = await Promise.all([
      this.select<Record<string, unknown>>(
        `SELECT project_id, tid, min(start_time_ms) AS start_ms, max(start_time_ms + latency_ms) AS end_ms,
                count() AS calls, countIf(status = 'error') AS errors, sum(ifNull(cost_usd, 0)) AS known_cost_usd,
                countIf(isNull(cost_usd)) AS unpriced, arraySort(groupUniqArray(model)) AS models
         FROM (SELECT project_id, assumeNotNull(trace_id) AS tid, id, start_time_ms, latency_ms, status, cost_usd, model
               FROM ${this.calls}
               WHERE ${range.join(' AND ')} AND isNotNull(trace_id) AND (project_id, assumeNotNull(trace_id)) IN (${keys})
               LIMIT 1 BY project_id, id)
         GROUP BY project_id, tid`,
        { max_query_size: String(LOOKUP_MAX_QUERY_BYTES) },
      ),
      this.select<{ project_id: string; trace_id: string; root_name: string }>(
        `SELECT project_id, trace_id, min(name) AS root_name FROM ${this.spans}
         WHERE ${range.join(' AND ')} AND isNull(parent_span_id) AND (project_id, trace_id) IN (${keys})
         GROUP BY project_id, trace_id`,
        { max_query_size: String(LOOKUP_MAX_QUERY_BYTES) },
      ),
    ]);
    const rootOf = new Map(roots.map((r) => [`${r.project_id}\u0000${r.trace_id}`, r.root_name]));
    const out: TraceSummary[] = aggs.map((r) => {
      const calls = num(r['calls']);
      const unpriced = num(r['unpriced']);
      const projectId = String(r['project_id']);
      const traceId = String(r['tid']);
      return {
        projectId,
        traceId,
        startTimeMs: num(r['start_ms']),
        endTimeMs: num(r['end_ms']),
        llmCalls: calls,
        errors: num(r['errors']),
        costUsd: groupCostUsd(num(r['known_cost_usd']), calls, unpriced),
        unpricedCalls: unpriced,
        models: ((r['models'] as unknown[] | null) ?? []).map(String),
        rootSpanName: rootOf.get(`${projectId}\u0000${traceId}`) ?? null,
      };
    });
    // In the order of the hits, which the cursor follows.
    const rank = new Map(hits.map((h, i) => [`${h.project_id}\u0000${h.tid}`, i]));
    out.sort((a, b) => rank.get(`${a.projectId}\u0000${a.traceId}`)! - rank.get(`${b.projectId}\u0000${b.traceId}`)!);
    return { items: out, nextCursor };
  }

  /**
   * Raises the retention watermark to `beforeMs`: from then on no read returns an event that
   * started before it, and a re-sent copy of one is stored again (invisible, dropped with its
   * day). Day partitions wholly before the watermark are dropped; the rest of the cut's day
   * goes when a later pass cuts past its end. Returns how many events became invisible.
   * The watermark only rises: a cut below the current one removes nothing.
   */
  async deleteBefore(beforeMs: number): Promise<number> {
    const cut = Math.trunc(beforeMs);
    const current = await this.watermark();
    if (cut <= current) return 0;
    let removed = 0;
    for (const table of [this.calls, this.spans, this.logs]) {
      const rows = await this.select<{ n: unknown }>(
        `SELECT count() AS n FROM ${table} WHERE start_time_ms >= ${int(current)} AND start_time_ms < ${int(cut)}`,
      );
      removed += num(rows[0]?.n ?? 0);
    }
    await this.client.insert({
      table: `${identifier(this.db)}.${RETENTION_TABLE}`,
      values: [{ cut_ms: cut, set_at_ms: Date.now() }],
      format: 'JSONEachRow',
    });
    for (const table of [this.calls, this.spans, this.logs])
      await this.dropPartitionsBefore(table, Math.floor(cut / DAY_MS));
    return removed;
  }

  /** Start (epoch ms) of the oldest event readers may see; 0 before any retention pass. */
  async watermark(): Promise<number> {
    const rows = await this.select<{ w: unknown }>(`SELECT ${this.visibleFrom} AS w`);
    return num(rows[0]?.w ?? 0);
  }

  private visible(): string {
    return `start_time_ms >= ${this.visibleFrom}`;
  }

  private async dropPartitionsBefore(table: string, day: number): Promise<void> {
    const [database, name] = table.split('.').map((part) => part.replaceAll('`', '')) as [string, string];
    const partitions = await this.select<{ partition: string }>(
      `SELECT DISTINCT partition FROM system.parts
       WHERE database = ${str(database)} AND table = ${str(name)} AND active`,
    );
    for (const p of partitions) {
      const d = Number(p.partition);
      if (Number.isSafeInteger(d) && d < day) await this.ddl(`ALTER TABLE ${table} DROP PARTITION ${int(d)}`);
    }
  }

  /**
   * Re-costs UTC day by UTC day, without a mutation (an `ALTER … UPDATE` rewrites whole parts
   * asynchronously on 18.16 and cannot carry per-row values computed here): the day's rows are
   * read, the range's calls re-priced, the whole day written to a staging table of the same
   * structure, and `REPLACE PARTITION` swaps it in atomically. Appends through this instance wait
   * meanwhile, and other writers wait on the day's write lock when one is configured; without
   * one, a day whose row count changed since it was read is done again. See docs/cluster.md.
   */
  async recost(
    query: RecostQuery,
    reprice: (call: LlmCall) => LlmCall,
    onProgress?: (p: RecostProgress) => void,
  ): Promise<RecostProgress> {
    const firstDay = Math.floor(query.fromMs / DAY_MS);
    const endDay = Math.ceil(query.toMs / DAY_MS);
    const progress: RecostProgress = { periodsDone: 0, periodsTotal: Math.max(0, endDay - firstDay), callsRecosted: 0 };
    const staging = `${identifier(this.db)}.llm_calls_recost`;
    await this.ddl(`CREATE TABLE IF NOT EXISTS ${staging} AS ${this.calls}`);
    for (let day = firstDay; day < endDay; day++) {
      const run = this.appendTail.then(() => this.recostDayLocked(day, query, reprice, staging));
      this.appendTail = run.catch(() => undefined);
      progress.callsRecosted += await run;
      progress.periodsDone++;
      onProgress?.({ ...progress });
    }
    return progress;
  }

  /** With the write lock on the day (when there is one), no other node appends to it meanwhile. */
  private async recostDayLocked(
    day: number,
    q: RecostQuery,
    reprice: (call: LlmCall) => LlmCall,
    staging: string,
  ): Promise<number> {
    const hold = this.writeLock ? await this.writeLock.acquire([`clickhouse/${this.db}/day/${day}`]) : null;
    try {
      if (hold && hold.uncleanKeys.length > 0) await this.awaitLostWriters();
      const n = await this.recostDay(day, q, reprice, staging);
      await hold?.release();
      return n;
    } catch (e) {
      await hold?.abandon().catch(() => undefined);
      throw e;
    }
  }

  private async recostDay(
    day: number,
    q: RecostQuery,
    reprice: (call: LlmCall) => LlmCall,
    staging: string,
  ): Promise<number> {
    const dayWhere = `start_time_ms >= ${int(day * DAY_MS)} AND start_time_ms < ${int((day + 1) * DAY_MS)}`;
    const count = async () =>
      num((await this.select<{ n: unknown }>(`SELECT count() AS n FROM ${this.calls} WHERE ${dayWhere}`))[0]?.n ?? 0);
    for (let attempt = 0; ; attempt++) {
      const rows = await this.select<Record<keyof LlmCallRow, unknown>>(
        `SELECT ${LLM_CALL_COLUMNS.join(', ')} FROM ${this.calls} WHERE ${dayWhere}`,
      );
      let recosted = 0;
      const out = rows.map((r) => {
        const call = rowToLlmCall(r);
        const inRange =
          call.startTimeMs >= q.fromMs &&
          call.startTimeMs < q.toMs &&
          (q.projectId === undefined || call.projectId === q.projectId);
        if (!inRange) return llmCallToRow(call);
        recosted++;
        return llmCallToRow(reprice(call));
      });
      if (recosted === 0) return 0;
      await this.dropPartitionOf(staging, day);
      await this.insertRowBinary(staging, LLM_CALL_SPEC, out);
      if ((await count()) !== rows.length && attempt < 3) continue;
      await this.ddl(`ALTER TABLE ${this.calls} REPLACE PARTITION ${int(day)} FROM ${staging}`);
      await this.dropPartitionOf(staging, day);
      return recosted;
    }
  }

  private async dropPartitionOf(table: string, day: number): Promise<void> {
    await this.client.command({ query: `ALTER TABLE ${table} DROP PARTITION ${int(day)}` });
  }

  /**
   * One `ALTER … UPDATE` per call (excerpts arrive apart from their call rarely: GenAI events
   * of a span), then waits until the mutation is done, so readers see the excerpts when this
   * resolves. The condition is on the sorting key, so only the call's part is rewritten.
   */
  async fillLlmCallExcerpts(items: readonly LlmCallExcerpts[]): Promise<void> {
    const fill = (column: string, value: string | null) =>
      value === null ? null : `${column} = if(isNull(${column}), ${str(value)}, ${column})`;
    let issued = false;
    for (const it of items) {
      const sets = [fill('prompt_excerpt', it.promptExcerpt), fill('response_excerpt', it.responseExcerpt)].filter(
        (x) => x !== null,
      );
      if (sets.length === 0) continue;
      await this.client.command({
        query: `ALTER TABLE ${this.calls} UPDATE ${sets.join(', ')}
          WHERE project_id = ${str(it.projectId)} AND start_time_ms = ${int(it.startTimeMs)} AND id = ${str(it.id)}`,
      });
      issued = true;
    }
    if (!issued) return;
    for (;;) {
      const rows = await this.select<{ n: unknown }>(
        `SELECT count() AS n FROM system.mutations
         WHERE database = ${str(this.db)} AND table = 'llm_calls' AND is_done = 0`,
      );
      if (num(rows[0]?.n ?? 0) === 0) return;
      await sleep(50);
    }
  }

  /** Drops the whole database; for tests and for tearing down a deployment. */
  async dropDatabase(): Promise<void> {
    await this.client.command({ query: `DROP DATABASE IF EXISTS ${identifier(this.db)}` });
  }

  /** Closes the client and the write lock (the store owns the lock it was given). */
  async close(): Promise<void> {
    await this.appendTail;
    await this.client.close();
    await this.writeLock?.close();
  }

  /**
   * One INSERT. Under a write lock it is sent only right after the lock was confirmed, and
   * when it fails the lock is kept until the server shows it no longer running (a request
   * the client gave up on may still complete on the server). If that cannot be observed,
   * `track.settled` is cleared and the caller gives its days up unclean.
   */
  private async insertRowBinary<R>(
    table: string,
    columns: ColumnSpec<R>,
    rows: R[],
    hold: WriteLockHold | null = null,
    track: { settled: boolean } = { settled: true },
  ): Promise<void> {
    const body = encodeRowBinary(columns, rows);
    if (hold) await hold.confirm();
    const queryId = `${this.writerQueryPrefix}${randomHex(12)}`;
    try {
      const result = await this.client.exec({
        query: `INSERT INTO ${table} (${columns.map(([name]) => name).join(', ')}) FORMAT RowBinary`,
        values: Readable.from([body]),
        query_id: queryId,
      });
      // The response body is empty for an INSERT; reading it returns the socket to the pool.
      await drainStream(result.stream);
    } catch (e) {
      if (hold) {
        try {
          await this.awaitQueryGone(queryId);
        } catch {
          track.settled = false;
        }
      }
      throw e;
    }
  }

  private async awaitQueryGone(queryId: string): Promise<void> {
    for (;;) {
      const rows = await this.select<{ n: unknown }>(
        `SELECT count() AS n FROM system.processes WHERE query_id = ${str(queryId)}`,
      );
      if (num(rows[0]?.n ?? 0) === 0) return;
      await sleep(100);
    }
  }

  private async select<T>(query: string, settings?: Record<string, string>): Promise<T[]> {
    const result = await this.client.query({
      query,
      format: 'JSONEachRow',
      ...(settings ? { clickhouse_settings: settings } : {}),
    });
    return result.json<T>();
  }

  /**
   * Runs an idempotent DDL statement. Nodes starting together race on CREATE … IF NOT
   * EXISTS; old servers then report that the object exists or is being created, which is
   * the outcome we wanted, so those errors are retried once the other node has finished.
   */
  private async ddl(statement: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.command({ query: statement });
        return;
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        const raced = /already exists|creating or attaching right now|is being (created|dropped)/i.test(message);
        if (!raced || attempt >= 20) throw e;
        await sleep(50 * (attempt + 1));
      }
    }
  }
}

export function createClickHouseTelemetryStore(options: ClickHouseTelemetryStoreOptions): ClickHouseTelemetryStore {
  return new ClickHouseTelemetryStore(options);
}

/**
 * Cost sums of a summary, named as the `CostSums` fields. Nullable values go through
 * `assumeNotNull` behind an `isNotNull` test: aggregate conditions on Nullable values are
 * not reliable on 18.16.
 */
const COST_SUM_SQL: Record<keyof CostSums, string> = {
  costUsd: 'sum(ifNull(cost_usd, 0))',
  inputCostUsd: 'sum(input_cost_usd)',
  outputCostUsd: 'sum(output_cost_usd)',
  cacheReadCostUsd: 'sum(cache_read_cost_usd)',
  cacheWriteCostUsd: 'sum(cache_write_cost_usd)',
  reasoningCostUsd: 'sum(reasoning_cost_usd)',
  requestCostUsd: 'sum(request_cost_usd)',
  unpricedRequests: 'countIf(isNull(cost_usd))',
  pricedTokens: 'sumIf(total_tokens, isNotNull(cost_usd))',
  reportedCostUsd: 'sum(ifNull(reported_cost_usd, 0))',
  reportedCostRequests: 'countIf(isNotNull(reported_cost_usd))',
  reportedCostMismatches: `countIf(isNotNull(reported_cost_usd) AND isNotNull(cost_usd) AND
    abs(assumeNotNull(reported_cost_usd) - assumeNotNull(cost_usd)) >
      greatest(1e-6, ${REPORTED_COST_TOLERANCE} * greatest(assumeNotNull(reported_cost_usd), assumeNotNull(cost_usd))))`,
  estimatedRequests: 'sum(tokens_estimated)',
};
const COST_SUMS_SQL = COST_SUM_FIELDS.map((f) => `${COST_SUM_SQL[f]} AS ${f}`).join(',\n         ');

function costSumsOf(r: Record<string, unknown>): CostSums {
  const sums = emptyCostSums();
  for (const f of COST_SUM_FIELDS) sums[f] = num(r[f]);
  return sums;
}

function timeRange(fromMs: number, toMs: number): string {
  return `start_time_ms >= ${int(Math.trunc(fromMs))} AND start_time_ms < ${int(Math.ceil(toMs))}`;
}

function filterConditions(f: LlmCallFilter): string[] {
  const out: string[] = [];
  if (f.projectIds) out.push(inList('project_id', f.projectIds));
  if (f.environments) out.push(inList('environment', f.environments));
  if (f.providers) out.push(inList('provider', f.providers));
  if (f.models) out.push(inList('model', f.models));
  if (f.operations) out.push(inList('operation', f.operations));
  if (f.statuses) out.push(inList('status', f.statuses));
  // NULL IN (…) is false, so calls without a user/session/service never match a list.
  if (f.userIds) out.push(inList('user_id', f.userIds));
  if (f.sessionIds) out.push(inList('session_id', f.sessionIds));
  if (f.services) out.push(inList('service_name', f.services));
  if (f.tags && f.tags.length > 0) out.push(`hasAll(tags, ${strArray(f.tags)})`);
  if (f.traceId !== undefined) out.push(`trace_id = ${str(f.traceId)}`);
  return out;
}

/**
 * Calls whose id, trace, user, session, service, provider, model, error or prompt/response
 * excerpt contains `text`, case-insensitively (positionCaseInsensitiveUTF8: ClickHouse 18.16
 * has no ILIKE).
 */
function textCondition(text: string): string {
  const q = str(text);
  const fields = [
    'id',
    'trace_id',
    'user_id',
    'session_id',
    'service_name',
    'provider',
    'model',
    'error_type',
    'error_message',
    'prompt_excerpt',
    'response_excerpt',
  ];
  return `(${fields.map((f) => `positionCaseInsensitiveUTF8(ifNull(${f}, ''), ${q}) > 0`).join(' OR ')})`;
}

function clampLimit(limit: number): number {
  return Math.min(1000, Math.max(1, Math.trunc(limit)));
}

function emptyAppend(): AppendResult {
  return { llmCallsInserted: 0, llmCallDuplicates: 0, spansInserted: 0, spanDuplicates: 0, insertedLlmCallKeys: [] };
}

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const item of items) {
    const k = key(item);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(item);
  }
  return out;
}

function distinct(values: string[]): string[] {
  return [...new Set(values)];
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
