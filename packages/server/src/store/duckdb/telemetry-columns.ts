/**
 * How LLM calls and spans map to DuckDB columns, both ways. The staging order here is the
 * order of the staging tables; `INSERT … SELECT` converts staging types (DOUBLE for
 * integers, so no BigInt is created per value) into the stored ones.
 */
import type { LlmCall, Span } from '@reskpoints/core';
import type { StagingColumn } from './columnar-append.js';

const jsonObject = (o: Record<string, unknown>): string => {
  for (const _ in o) return JSON.stringify(o);
  return '{}';
};

/** The columns of llm_calls that make up a series (see llm_series); staged as a series id. */
export const SERIES_COLUMNS = ['project_id', 'environment', 'provider', 'model', 'operation', 'status'] as const;

export function seriesKey(c: LlmCall): string {
  return `${c.projectId}\u0000${c.environment}\u0000${c.provider}\u0000${c.model}\u0000${c.operation}\u0000${c.status}`;
}

/**
 * Staging columns of a call. The six series columns travel as one integer (`seriesIds[i]`)
 * and are joined back from llm_series on insert: six fewer strings per row to copy.
 */
export function llmCallStaging(seriesIds: Int32Array): readonly StagingColumn<LlmCall>[] {
  return [
    { name: 'seq', kind: 'integer', get: (_c, i) => i },
    { name: 'series_id', kind: 'integer', get: (_c, i) => seriesIds[i]! },
    ...LLM_CALL_FIELDS,
  ];
}

const LLM_CALL_FIELDS: readonly StagingColumn<LlmCall>[] = [
  { name: 'id', kind: 'varchar', get: (c) => c.id },
  { name: 'start_time_ms', kind: 'double', get: (c) => c.startTimeMs },
  { name: 'source', kind: 'varchar', get: (c) => c.source },
  { name: 'trace_id', kind: 'varchar', get: (c) => c.traceId },
  { name: 'span_id', kind: 'varchar', get: (c) => c.spanId },
  { name: 'parent_span_id', kind: 'varchar', get: (c) => c.parentSpanId },
  { name: 'service_name', kind: 'varchar', get: (c) => c.serviceName },
  { name: 'request_model', kind: 'varchar', get: (c) => c.requestModel },
  { name: 'latency_ms', kind: 'double', get: (c) => c.latencyMs },
  { name: 'ttft_ms', kind: 'double', get: (c) => c.ttftMs },
  { name: 'error_type', kind: 'varchar', get: (c) => c.errorType },
  { name: 'error_message', kind: 'varchar', get: (c) => c.errorMessage },
  { name: 'user_id', kind: 'varchar', get: (c) => c.userId },
  { name: 'session_id', kind: 'varchar', get: (c) => c.sessionId },
  { name: 'tags', kind: 'varchar_list', get: (c) => c.tags },
  { name: 'metadata', kind: 'varchar', get: (c) => jsonObject(c.metadata) },
  { name: 'raw_semantics', kind: 'varchar', get: (c) => c.usageRaw.semantics },
  { name: 'raw_input_tokens', kind: 'double', get: (c) => c.usageRaw.inputTokens },
  { name: 'raw_output_tokens', kind: 'double', get: (c) => c.usageRaw.outputTokens },
  { name: 'raw_cache_read_tokens', kind: 'double', get: (c) => c.usageRaw.cacheReadTokens },
  { name: 'raw_cache_write_tokens', kind: 'double', get: (c) => c.usageRaw.cacheWriteTokens },
  { name: 'raw_reasoning_tokens', kind: 'double', get: (c) => c.usageRaw.reasoningTokens },
  { name: 'raw_total_tokens', kind: 'double', get: (c) => c.usageRaw.totalTokens },
  { name: 'input_tokens', kind: 'double', get: (c) => c.usage.inputTokens },
  { name: 'output_tokens', kind: 'double', get: (c) => c.usage.outputTokens },
  { name: 'cache_read_tokens', kind: 'double', get: (c) => c.usage.cacheReadTokens },
  { name: 'cache_write_tokens', kind: 'double', get: (c) => c.usage.cacheWriteTokens },
  { name: 'reasoning_tokens', kind: 'double', get: (c) => c.usage.reasoningTokens },
  { name: 'total_tokens', kind: 'double', get: (c) => c.usage.totalTokens },
  { name: 'cost_usd', kind: 'double', get: (c) => c.costUsd },
  { name: 'prompt_excerpt', kind: 'varchar', get: (c) => c.promptExcerpt },
  { name: 'response_excerpt', kind: 'varchar', get: (c) => c.responseExcerpt },
  { name: 'ingested_at_ms', kind: 'double', get: (c) => c.ingestedAtMs },
];

export const SPAN_STAGING: readonly StagingColumn<Span>[] = [
  { name: 'seq', kind: 'integer', get: (_s, i) => i },
  { name: 'project_id', kind: 'varchar', get: (s) => s.projectId },
  { name: 'trace_id', kind: 'varchar', get: (s) => s.traceId },
  { name: 'span_id', kind: 'varchar', get: (s) => s.spanId },
  { name: 'start_time_ms', kind: 'double', get: (s) => s.startTimeMs },
  { name: 'parent_span_id', kind: 'varchar', get: (s) => s.parentSpanId },
  { name: 'service_name', kind: 'varchar', get: (s) => s.serviceName },
  { name: 'name', kind: 'varchar', get: (s) => s.name },
  { name: 'kind', kind: 'varchar', get: (s) => s.kind },
  { name: 'duration_ms', kind: 'double', get: (s) => s.durationMs },
  { name: 'status_code', kind: 'varchar', get: (s) => s.statusCode },
  { name: 'status_message', kind: 'varchar', get: (s) => s.statusMessage },
  { name: 'attributes', kind: 'varchar', get: (s) => jsonObject(s.attributes) },
  { name: 'ingested_at_ms', kind: 'double', get: (s) => s.ingestedAtMs },
];

/** Columns stored as BIGINT whose staging type is DOUBLE. */
export const BIGINT_COLUMNS = new Set([
  'start_time_ms',
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
  'ingested_at_ms',
]);
