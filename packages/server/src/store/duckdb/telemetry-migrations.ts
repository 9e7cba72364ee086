import type { Migration } from '../migrations.js';

/**
 * The telemetry schema. `llm_calls` and `spans` hold every event; there is deliberately no
 * primary key on them (an ART index over hundreds of millions of rows costs more memory
 * than the data): idempotency is an anti-join restricted to the batch's time range.
 *
 * Rollups are keyed by a small `llm_series` table (one row per project, environment,
 * provider, model, operation, status) and are append-only partial aggregates: every append
 * adds one row per (series, period[, bucket]) it touched and readers sum them; periods that
 * received many partial rows are compacted now and then.
 */
export const TELEMETRY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create llm_calls and spans',
    steps: [
      `CREATE TABLE llm_calls (
        project_id VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        start_time_ms BIGINT NOT NULL,
        environment VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        trace_id VARCHAR,
        span_id VARCHAR,
        parent_span_id VARCHAR,
        service_name VARCHAR,
        provider VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        request_model VARCHAR,
        operation VARCHAR NOT NULL,
        latency_ms DOUBLE NOT NULL,
        ttft_ms DOUBLE,
        status VARCHAR NOT NULL,
        error_type VARCHAR,
        error_message VARCHAR,
        user_id VARCHAR,
        session_id VARCHAR,
        tags VARCHAR[] NOT NULL,
        metadata VARCHAR NOT NULL,
        raw_semantics VARCHAR NOT NULL,
        raw_input_tokens BIGINT,
        raw_output_tokens BIGINT,
        raw_cache_read_tokens BIGINT,
        raw_cache_write_tokens BIGINT,
        raw_reasoning_tokens BIGINT,
        raw_total_tokens BIGINT,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cache_read_tokens BIGINT NOT NULL,
        cache_write_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL,
        total_tokens BIGINT NOT NULL,
        cost_usd DOUBLE,
        prompt_excerpt VARCHAR,
        response_excerpt VARCHAR,
        ingested_at_ms BIGINT NOT NULL
      )`,
      `CREATE TABLE spans (
        project_id VARCHAR NOT NULL,
        trace_id VARCHAR NOT NULL,
        span_id VARCHAR NOT NULL,
        start_time_ms BIGINT NOT NULL,
        parent_span_id VARCHAR,
        service_name VARCHAR,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        duration_ms DOUBLE NOT NULL,
        status_code VARCHAR NOT NULL,
        status_message VARCHAR,
        attributes VARCHAR NOT NULL,
        ingested_at_ms BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'create hourly and daily rollups',
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
      // metric 0 = latency, 1 = time to first token; bucket as in latency-histogram.ts.
      `CREATE TABLE llm_hist_1h (
        series_id INTEGER NOT NULL,
        hour_ms BIGINT NOT NULL,
        metric UTINYINT NOT NULL,
        bucket SMALLINT NOT NULL,
        n BIGINT NOT NULL
      )`,
      `CREATE TABLE llm_hist_1d (
        series_id INTEGER NOT NULL,
        day_ms BIGINT NOT NULL,
        metric UTINYINT NOT NULL,
        bucket SMALLINT NOT NULL,
        n BIGINT NOT NULL
      )`,
    ],
  },
];
