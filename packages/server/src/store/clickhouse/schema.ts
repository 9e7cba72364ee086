/**
 * Versioned ClickHouse schema. Written for ClickHouse 18.16 (Debian 12) and current
 * releases alike, hence:
 * - times are Int64 epoch milliseconds (DateTime64 does not exist in 18.16);
 * - no Nullable column in a sorting key, no LowCardinality (experimental in 18.16), no
 *   JSON/Map types (metadata and attributes are JSON text), no query parameters;
 * - partitions are UTC days computed as `intDiv(start_time_ms, 86400000)`, so retention
 *   drops whole partitions and partition ids do not depend on the server's time zone;
 *   within a day, retention hides rows behind a watermark instead of a DELETE mutation.
 *
 * Every statement is idempotent (IF NOT EXISTS), so nodes that start together may all run
 * the same migration; the version table only lets a node skip work already done. 18.16 has
 * no `ADD COLUMN IF NOT EXISTS`, so a new column is an `AddColumn` step: the store adds it
 * only when `system.columns` does not list it, and treats losing that race as success.
 */
import { identifier } from './sql.js';

export const DAY_MS = 86_400_000;

/** A column added to an existing table, after the named column (RowBinary specs list columns in table order). */
export interface AddColumn {
  table: string;
  column: string;
  type: string;
  after: string;
}

/** A statement run only when `ifRows` (a SELECT) returns a row. */
export interface ConditionalStatement {
  ifRows: string;
  statement: string;
}

export interface ClickHouseMigration {
  version: number;
  name: string;
  statements: (db: string) => Array<string | AddColumn | ConditionalStatement>;
}

/** Cost columns of llm_calls (version 5), in table order after `ingested_at_ms`. */
export const LLM_CALL_COST_COLUMNS = [
  ['reported_cost_usd', 'Nullable(Float64)'],
  ['input_cost_usd', 'Float64 DEFAULT 0'],
  ['output_cost_usd', 'Float64 DEFAULT 0'],
  ['cache_read_cost_usd', 'Float64 DEFAULT 0'],
  ['cache_write_cost_usd', 'Float64 DEFAULT 0'],
  ['reasoning_cost_usd', 'Float64 DEFAULT 0'],
  ['request_cost_usd', 'Float64 DEFAULT 0'],
  ['price_id', 'Nullable(String)'],
  ['price_version', 'Nullable(String)'],
  ['cost_tier', 'Nullable(String)'],
  ['tokens_estimated', 'UInt8 DEFAULT 0'],
] as const;

export const MIGRATIONS_TABLE = 'schema_migrations';

/** One row per retention pass; `max(cut_ms)` is the watermark every read applies. */
export const RETENTION_TABLE = 'retention_cuts';

/**
 * Tables are ReplacingMergeTree with the event identity at the end of the sorting key.
 * `appendBatch` skips stored events, and the write lock keeps two writers from storing the
 * same event at once; the engine is a last backstop (a copy written by hand, or by a writer
 * without the lock), which background merges collapse. See docs/cluster.md.
 */
export const CLICKHOUSE_MIGRATIONS: ClickHouseMigration[] = [
  {
    version: 1,
    name: 'llm_calls and spans',
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${identifier(db)}.llm_calls (
        project_id String,
        id String,
        start_time_ms Int64,
        environment String,
        source String,
        trace_id Nullable(String),
        span_id Nullable(String),
        parent_span_id Nullable(String),
        service_name Nullable(String),
        provider String,
        model String,
        request_model Nullable(String),
        operation String,
        latency_ms Float64,
        ttft_ms Nullable(Float64),
        status String,
        error_type Nullable(String),
        error_message Nullable(String),
        user_id Nullable(String),
        session_id Nullable(String),
        tags Array(String),
        metadata_json String,
        usage_semantics String,
        raw_input_tokens Nullable(Int64),
        raw_output_tokens Nullable(Int64),
        raw_cache_read_tokens Nullable(Int64),
        raw_cache_write_tokens Nullable(Int64),
        raw_reasoning_tokens Nullable(Int64),
        raw_total_tokens Nullable(Int64),
        input_tokens Int64,
        output_tokens Int64,
        cache_read_tokens Int64,
        cache_write_tokens Int64,
        reasoning_tokens Int64,
        total_tokens Int64,
        cost_usd Nullable(Float64),
        prompt_excerpt Nullable(String),
        response_excerpt Nullable(String),
        ingested_at_ms Int64
      ) ENGINE = ReplacingMergeTree
      PARTITION BY intDiv(start_time_ms, ${DAY_MS})
      ORDER BY (project_id, start_time_ms, id)`,
      `CREATE TABLE IF NOT EXISTS ${identifier(db)}.spans (
        project_id String,
        trace_id String,
        span_id String,
        parent_span_id Nullable(String),
        service_name Nullable(String),
        name String,
        kind String,
        start_time_ms Int64,
        duration_ms Float64,
        status_code String,
        status_message Nullable(String),
        attributes_json String,
        ingested_at_ms Int64
      ) ENGINE = ReplacingMergeTree
      PARTITION BY intDiv(start_time_ms, ${DAY_MS})
      ORDER BY (project_id, start_time_ms, trace_id, span_id)`,
    ],
  },
  {
    version: 2,
    name: 'retention watermark',
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${identifier(db)}.${RETENTION_TABLE} (
        cut_ms Int64,
        set_at_ms Int64
      ) ENGINE = MergeTree ORDER BY cut_ms`,
    ],
  },
  {
    version: 3,
    name: 'response model of llm_calls',
    statements: () => [
      { table: 'llm_calls', column: 'response_model', type: 'Nullable(String)', after: 'request_model' },
    ],
  },
  {
    version: 4,
    name: 'logs',
    // The time column is start_time_ms, as in the other tables, so partitioning, the retention
    // watermark and the insert path treat logs like calls and spans.
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${identifier(db)}.logs (
        project_id String,
        id String,
        start_time_ms Int64,
        observed_time_ms Int64,
        ingested_at_ms Int64,
        source String,
        service_name Nullable(String),
        environment String,
        severity String,
        severity_number Int64,
        severity_text Nullable(String),
        body String,
        trace_id Nullable(String),
        span_id Nullable(String),
        event_name Nullable(String),
        pattern_id Nullable(String),
        attributes_json String,
        resource_json String
      ) ENGINE = ReplacingMergeTree
      PARTITION BY intDiv(start_time_ms, ${DAY_MS})
      ORDER BY (project_id, start_time_ms, id)`,
    ],
  },
  {
    version: 5,
    name: 'cost: computed cost with its parts and price; the reported cost beside it',
    statements: (db) => [
      ...LLM_CALL_COST_COLUMNS.map(([column, type], i) => ({
        table: 'llm_calls',
        column,
        type,
        after: i === 0 ? 'ingested_at_ms' : LLM_CALL_COST_COLUMNS[i - 1]![0],
      })),
      // Until now cost_usd held the cost the source reported. It moves to reported_cost_usd (an
      // asynchronous mutation on the rows stored so far) and those calls are unpriced until
      // re-costed. A priced call always names its price, so rows written since by this version
      // (price_id set) are never moved, should this step run twice.
      {
        ifRows: `SELECT 1 FROM ${identifier(db)}.llm_calls WHERE isNotNull(cost_usd) AND isNull(price_id) LIMIT 1`,
        statement: `ALTER TABLE ${identifier(db)}.llm_calls UPDATE reported_cost_usd = cost_usd, cost_usd = NULL
          WHERE isNotNull(cost_usd) AND isNull(price_id)`,
      },
    ],
  },
];

export function migrationsTableDdl(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${identifier(db)}.${MIGRATIONS_TABLE} (
    version UInt32,
    name String,
    applied_at_ms Int64
  ) ENGINE = MergeTree ORDER BY version`;
}
