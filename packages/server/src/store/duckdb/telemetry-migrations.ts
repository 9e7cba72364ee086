import type { Migration } from '../migrations.js';
import { LLM_CALL_COST_COLUMNS, ROLLUP_COST_COLUMNS } from './cost-columns.js';

/**
 * The telemetry schema.
 *
 * Columns are what queries filter, group or aggregate on; everything else about an event
 * (source, raw usage, error details, metadata, excerpts, ingestion time…) is one JSON text
 * column, `detail`, because DuckDB pays per column per row at commit and checkpoint.
 *
 * `llm_calls` and `spans` hold every event. They deliberately have no primary key: an ART
 * index over hundreds of millions of rows costs more memory than the data, and
 * idempotency is an anti-join restricted to the batch's time range instead. A call's six
 * series dimensions live once in `llm_series` (a few hundred rows) and calls point at it.
 * Column order matters: appends are positional (see telemetry-columns.ts, kept in step by
 * a test).
 *
 * Rollups are append-only partial aggregates keyed by series: each append adds one row
 * per (series, hour) and one per (series, period, metric, bucket) it touched; readers sum
 * them, and periods that received many partial rows are compacted now and then.
 */
export const TELEMETRY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create llm_series, llm_calls, spans',
    steps: [
      `CREATE TABLE llm_series (
        series_id INTEGER NOT NULL PRIMARY KEY,
        project_id VARCHAR NOT NULL,
        environment VARCHAR NOT NULL,
        provider VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        operation VARCHAR NOT NULL,
        status VARCHAR NOT NULL
      )`,
      `CREATE TABLE llm_calls (
        series_id INTEGER NOT NULL,
        id VARCHAR NOT NULL,
        start_time_ms BIGINT NOT NULL,
        trace_id VARCHAR,
        service_name VARCHAR,
        user_id VARCHAR,
        session_id VARCHAR,
        tags VARCHAR[] NOT NULL,
        latency_ms DOUBLE NOT NULL,
        ttft_ms DOUBLE,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cache_read_tokens BIGINT NOT NULL,
        cache_write_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL,
        total_tokens BIGINT NOT NULL,
        cost_usd DOUBLE,
        detail VARCHAR NOT NULL
      )`,
      `CREATE TABLE spans (
        project_id VARCHAR NOT NULL,
        trace_id VARCHAR NOT NULL,
        span_id VARCHAR NOT NULL,
        parent_span_id VARCHAR,
        service_name VARCHAR,
        name VARCHAR NOT NULL,
        start_time_ms BIGINT NOT NULL,
        duration_ms DOUBLE NOT NULL,
        status_code VARCHAR NOT NULL,
        detail VARCHAR NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'create hourly rollups and hourly/daily latency histograms',
    steps: [
      `CREATE TABLE llm_rollup_1h (
        series_id INTEGER NOT NULL,
        hour_ms BIGINT NOT NULL,
        requests BIGINT NOT NULL,
        errors BIGINT NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cache_read_tokens BIGINT NOT NULL,
        cache_write_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL,
        total_tokens BIGINT NOT NULL,
        cost_usd DOUBLE NOT NULL,
        unpriced_requests BIGINT NOT NULL
      )`,
      // metric 0 = latency, 1 = time to first token; buckets as in latency-histogram.ts.
      `CREATE TABLE llm_hist_1h (
        series_id INTEGER NOT NULL,
        period_ms BIGINT NOT NULL,
        metric UTINYINT NOT NULL,
        bucket SMALLINT NOT NULL,
        n BIGINT NOT NULL
      )`,
      `CREATE TABLE llm_hist_1d (
        series_id INTEGER NOT NULL,
        period_ms BIGINT NOT NULL,
        metric UTINYINT NOT NULL,
        bucket SMALLINT NOT NULL,
        n BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 3,
    name: 'llm_calls: source, usage semantics and ingestion time as columns; detail only when needed',
    steps: [
      // Existing rows keep everything in detail and read back through it (flags IS NULL).
      'ALTER TABLE llm_calls ADD COLUMN flags SMALLINT',
      'ALTER TABLE llm_calls ADD COLUMN ingested_at_ms BIGINT',
      'ALTER TABLE llm_calls ALTER COLUMN detail DROP NOT NULL',
    ],
  },
  {
    version: 4,
    name: 'logs',
    steps: [
      `CREATE TABLE logs (
        project_id VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        time_ms BIGINT NOT NULL,
        observed_time_ms BIGINT NOT NULL,
        ingested_at_ms BIGINT NOT NULL,
        source VARCHAR NOT NULL,
        service_name VARCHAR,
        environment VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        severity_number SMALLINT NOT NULL,
        severity_text VARCHAR,
        body VARCHAR NOT NULL,
        trace_id VARCHAR,
        span_id VARCHAR,
        event_name VARCHAR,
        pattern_id VARCHAR,
        attributes VARCHAR NOT NULL,
        resource VARCHAR NOT NULL
      )`,
    ],
  },
  {
    version: 5,
    name: 'cost: computed cost with its parts and price, the reported cost beside it; rollups carry cost sums',
    steps: [
      // cost_usd now holds the computed cost. Until now it held what the source reported, so
      // that moves to reported_cost_usd and earlier calls are unpriced until re-costed
      // (`reskpoints cost recost`), which fills every cost column and the rollups.
      ...LLM_CALL_COST_COLUMNS.map(([name, type]) => `ALTER TABLE llm_calls ADD COLUMN ${name} ${type}`),
      'UPDATE llm_calls SET reported_cost_usd = cost_usd, cost_usd = NULL WHERE cost_usd IS NOT NULL',
      ...ROLLUP_COST_COLUMNS.map(([name, type]) => `ALTER TABLE llm_rollup_1h ADD COLUMN ${name} ${type} DEFAULT 0`),
      `UPDATE llm_rollup_1h SET reported_cost_usd = cost_usd, reported_requests = requests - unpriced_requests,
         cost_usd = 0, unpriced_requests = requests`,
    ],
  },
];
