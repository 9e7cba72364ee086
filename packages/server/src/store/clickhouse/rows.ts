/**
 * Row shapes of the ClickHouse tables and their mapping to core types. Rows are written as
 * RowBinary (exact floats, see row-binary.ts) and read as JSONEachRow, where 64-bit
 * integers come back as strings (ClickHouse quotes them by default), so every numeric read
 * goes through `num`.
 */
import type {
  CallStatus,
  LlmCall,
  LogRecord,
  Span,
  SpanStatusCode,
  TelemetrySource,
  UsageSemantics,
} from '@reskpoints/core';
import type { ColumnSpec } from './row-binary.js';

export interface LlmCallRow {
  project_id: string;
  id: string;
  start_time_ms: number;
  environment: string;
  source: string;
  trace_id: string | null;
  span_id: string | null;
  parent_span_id: string | null;
  service_name: string | null;
  provider: string;
  model: string;
  request_model: string | null;
  response_model: string | null;
  operation: string;
  latency_ms: number;
  ttft_ms: number | null;
  status: string;
  error_type: string | null;
  error_message: string | null;
  user_id: string | null;
  session_id: string | null;
  tags: string[];
  metadata_json: string;
  usage_semantics: string;
  raw_input_tokens: number | null;
  raw_output_tokens: number | null;
  raw_cache_read_tokens: number | null;
  raw_cache_write_tokens: number | null;
  raw_reasoning_tokens: number | null;
  raw_total_tokens: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost_usd: number | null;
  prompt_excerpt: string | null;
  response_excerpt: string | null;
  ingested_at_ms: number;
  reported_cost_usd: number | null;
  input_cost_usd: number;
  output_cost_usd: number;
  cache_read_cost_usd: number;
  cache_write_cost_usd: number;
  reasoning_cost_usd: number;
  request_cost_usd: number;
  price_id: string | null;
  price_version: string | null;
  cost_tier: string | null;
  tokens_estimated: number;
}

export interface SpanRow {
  project_id: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  service_name: string | null;
  name: string;
  kind: string;
  start_time_ms: number;
  duration_ms: number;
  status_code: string;
  status_message: string | null;
  attributes_json: string;
  ingested_at_ms: number;
}

export const LLM_CALL_SPEC = [
  ['project_id', 'String'],
  ['id', 'String'],
  ['start_time_ms', 'Int64'],
  ['environment', 'String'],
  ['source', 'String'],
  ['trace_id', 'Nullable(String)'],
  ['span_id', 'Nullable(String)'],
  ['parent_span_id', 'Nullable(String)'],
  ['service_name', 'Nullable(String)'],
  ['provider', 'String'],
  ['model', 'String'],
  ['request_model', 'Nullable(String)'],
  ['response_model', 'Nullable(String)'],
  ['operation', 'String'],
  ['latency_ms', 'Float64'],
  ['ttft_ms', 'Nullable(Float64)'],
  ['status', 'String'],
  ['error_type', 'Nullable(String)'],
  ['error_message', 'Nullable(String)'],
  ['user_id', 'Nullable(String)'],
  ['session_id', 'Nullable(String)'],
  ['tags', 'Array(String)'],
  ['metadata_json', 'String'],
  ['usage_semantics', 'String'],
  ['raw_input_tokens', 'Nullable(Int64)'],
  ['raw_output_tokens', 'Nullable(Int64)'],
  ['raw_cache_read_tokens', 'Nullable(Int64)'],
  ['raw_cache_write_tokens', 'Nullable(Int64)'],
  ['raw_reasoning_tokens', 'Nullable(Int64)'],
  ['raw_total_tokens', 'Nullable(Int64)'],
  ['input_tokens', 'Int64'],
  ['output_tokens', 'Int64'],
  ['cache_read_tokens', 'Int64'],
  ['cache_write_tokens', 'Int64'],
  ['reasoning_tokens', 'Int64'],
  ['total_tokens', 'Int64'],
  ['cost_usd', 'Nullable(Float64)'],
  ['prompt_excerpt', 'Nullable(String)'],
  ['response_excerpt', 'Nullable(String)'],
  ['ingested_at_ms', 'Int64'],
  ['reported_cost_usd', 'Nullable(Float64)'],
  ['input_cost_usd', 'Float64'],
  ['output_cost_usd', 'Float64'],
  ['cache_read_cost_usd', 'Float64'],
  ['cache_write_cost_usd', 'Float64'],
  ['reasoning_cost_usd', 'Float64'],
  ['request_cost_usd', 'Float64'],
  ['price_id', 'Nullable(String)'],
  ['price_version', 'Nullable(String)'],
  ['cost_tier', 'Nullable(String)'],
  ['tokens_estimated', 'UInt8'],
] as const satisfies ColumnSpec<LlmCallRow>;

export const LLM_CALL_COLUMNS = LLM_CALL_SPEC.map(([name]) => name);

export const SPAN_SPEC = [
  ['project_id', 'String'],
  ['trace_id', 'String'],
  ['span_id', 'String'],
  ['parent_span_id', 'Nullable(String)'],
  ['service_name', 'Nullable(String)'],
  ['name', 'String'],
  ['kind', 'String'],
  ['start_time_ms', 'Int64'],
  ['duration_ms', 'Float64'],
  ['status_code', 'String'],
  ['status_message', 'Nullable(String)'],
  ['attributes_json', 'String'],
  ['ingested_at_ms', 'Int64'],
] as const satisfies ColumnSpec<SpanRow>;

export const SPAN_COLUMNS = SPAN_SPEC.map(([name]) => name);

/** Token counts are integers by definition; a fractional one from a lax source is rounded. */
const tokens = (v: number): number => Math.round(v);
const tokensOrNull = (v: number | null): number | null => (v === null ? null : Math.round(v));

export function llmCallToRow(c: LlmCall): LlmCallRow {
  return {
    project_id: c.projectId,
    id: c.id,
    start_time_ms: Math.trunc(c.startTimeMs),
    environment: c.environment,
    source: c.source,
    trace_id: c.traceId,
    span_id: c.spanId,
    parent_span_id: c.parentSpanId,
    service_name: c.serviceName,
    provider: c.provider,
    model: c.model,
    request_model: c.requestModel,
    response_model: c.responseModel,
    operation: c.operation,
    latency_ms: c.latencyMs,
    ttft_ms: c.ttftMs,
    status: c.status,
    error_type: c.errorType,
    error_message: c.errorMessage,
    user_id: c.userId,
    session_id: c.sessionId,
    tags: c.tags,
    metadata_json: JSON.stringify(c.metadata),
    usage_semantics: c.usageRaw.semantics,
    raw_input_tokens: tokensOrNull(c.usageRaw.inputTokens),
    raw_output_tokens: tokensOrNull(c.usageRaw.outputTokens),
    raw_cache_read_tokens: tokensOrNull(c.usageRaw.cacheReadTokens),
    raw_cache_write_tokens: tokensOrNull(c.usageRaw.cacheWriteTokens),
    raw_reasoning_tokens: tokensOrNull(c.usageRaw.reasoningTokens),
    raw_total_tokens: tokensOrNull(c.usageRaw.totalTokens),
    input_tokens: tokens(c.usage.inputTokens),
    output_tokens: tokens(c.usage.outputTokens),
    cache_read_tokens: tokens(c.usage.cacheReadTokens),
    cache_write_tokens: tokens(c.usage.cacheWriteTokens),
    reasoning_tokens: tokens(c.usage.reasoningTokens),
    total_tokens: tokens(c.usage.totalTokens),
    cost_usd: c.cost.totalUsd,
    prompt_excerpt: c.promptExcerpt,
    response_excerpt: c.responseExcerpt,
    ingested_at_ms: Math.trunc(c.ingestedAtMs),
    reported_cost_usd: c.reportedCostUsd,
    input_cost_usd: c.cost.inputUsd,
    output_cost_usd: c.cost.outputUsd,
    cache_read_cost_usd: c.cost.cacheReadUsd,
    cache_write_cost_usd: c.cost.cacheWriteUsd,
    reasoning_cost_usd: c.cost.reasoningUsd,
    request_cost_usd: c.cost.requestUsd,
    price_id: c.cost.priceId,
    price_version: c.cost.priceVersion,
    cost_tier: c.cost.tier,
    tokens_estimated: c.cost.tokensEstimated ? 1 : 0,
  };
}

/** Numbers arrive as JSON numbers or, for 64-bit integers, as decimal strings. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  throw new Error(`expected a number from ClickHouse, got ${JSON.stringify(v)}`);
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

type Raw<T> = { [K in keyof T]: unknown };

export function rowToLlmCall(r: Raw<LlmCallRow>): LlmCall {
  return {
    id: r.id as string,
    projectId: r.project_id as string,
    environment: r.environment as string,
    source: r.source as TelemetrySource,
    traceId: r.trace_id as string | null,
    spanId: r.span_id as string | null,
    parentSpanId: r.parent_span_id as string | null,
    serviceName: r.service_name as string | null,
    provider: r.provider as string,
    model: r.model as string,
    requestModel: r.request_model as string | null,
    responseModel: r.response_model as string | null,
    operation: r.operation as string,
    startTimeMs: num(r.start_time_ms),
    latencyMs: num(r.latency_ms),
    ttftMs: numOrNull(r.ttft_ms),
    status: r.status as CallStatus,
    errorType: r.error_type as string | null,
    errorMessage: r.error_message as string | null,
    userId: r.user_id as string | null,
    sessionId: r.session_id as string | null,
    tags: r.tags as string[],
    metadata: JSON.parse(r.metadata_json as string) as Record<string, string>,
    usageRaw: {
      semantics: r.usage_semantics as UsageSemantics,
      inputTokens: numOrNull(r.raw_input_tokens),
      outputTokens: numOrNull(r.raw_output_tokens),
      cacheReadTokens: numOrNull(r.raw_cache_read_tokens),
      cacheWriteTokens: numOrNull(r.raw_cache_write_tokens),
      reasoningTokens: numOrNull(r.raw_reasoning_tokens),
      totalTokens: numOrNull(r.raw_total_tokens),
    },
    usage: {
      inputTokens: num(r.input_tokens),
      outputTokens: num(r.output_tokens),
      cacheReadTokens: num(r.cache_read_tokens),
      cacheWriteTokens: num(r.cache_write_tokens),
      reasoningTokens: num(r.reasoning_tokens),
      totalTokens: num(r.total_tokens),
    },
    reportedCostUsd: numOrNull(r.reported_cost_usd),
    cost: {
      totalUsd: numOrNull(r.cost_usd),
      inputUsd: num(r.input_cost_usd),
      outputUsd: num(r.output_cost_usd),
      cacheReadUsd: num(r.cache_read_cost_usd),
      cacheWriteUsd: num(r.cache_write_cost_usd),
      reasoningUsd: num(r.reasoning_cost_usd),
      requestUsd: num(r.request_cost_usd),
      priceId: r.price_id as string | null,
      priceVersion: r.price_version as string | null,
      tier: r.cost_tier as string | null,
      tokensEstimated: num(r.tokens_estimated) !== 0,
    },
    promptExcerpt: r.prompt_excerpt as string | null,
    responseExcerpt: r.response_excerpt as string | null,
    ingestedAtMs: num(r.ingested_at_ms),
  };
}

export function spanToRow(s: Span): SpanRow {
  return {
    project_id: s.projectId,
    trace_id: s.traceId,
    span_id: s.spanId,
    parent_span_id: s.parentSpanId,
    service_name: s.serviceName,
    name: s.name,
    kind: s.kind,
    start_time_ms: Math.trunc(s.startTimeMs),
    duration_ms: s.durationMs,
    status_code: s.statusCode,
    status_message: s.statusMessage,
    attributes_json: JSON.stringify(s.attributes),
    ingested_at_ms: Math.trunc(s.ingestedAtMs),
  };
}

export function rowToSpan(r: Raw<SpanRow>): Span {
  return {
    projectId: r.project_id as string,
    traceId: r.trace_id as string,
    spanId: r.span_id as string,
    parentSpanId: r.parent_span_id as string | null,
    serviceName: r.service_name as string | null,
    name: r.name as string,
    kind: r.kind as string,
    startTimeMs: num(r.start_time_ms),
    durationMs: num(r.duration_ms),
    statusCode: r.status_code as SpanStatusCode,
    statusMessage: r.status_message as string | null,
    attributes: JSON.parse(r.attributes_json as string) as Span['attributes'],
    ingestedAtMs: num(r.ingested_at_ms),
  };
}

export interface LogRow {
  project_id: string;
  id: string;
  start_time_ms: number;
  observed_time_ms: number;
  ingested_at_ms: number;
  source: string;
  service_name: string | null;
  environment: string;
  severity: string;
  severity_number: number;
  severity_text: string | null;
  body: string;
  trace_id: string | null;
  span_id: string | null;
  event_name: string | null;
  pattern_id: string | null;
  attributes_json: string;
  resource_json: string;
}

export const LOG_SPEC = [
  ['project_id', 'String'],
  ['id', 'String'],
  ['start_time_ms', 'Int64'],
  ['observed_time_ms', 'Int64'],
  ['ingested_at_ms', 'Int64'],
  ['source', 'String'],
  ['service_name', 'Nullable(String)'],
  ['environment', 'String'],
  ['severity', 'String'],
  ['severity_number', 'Int64'],
  ['severity_text', 'Nullable(String)'],
  ['body', 'String'],
  ['trace_id', 'Nullable(String)'],
  ['span_id', 'Nullable(String)'],
  ['event_name', 'Nullable(String)'],
  ['pattern_id', 'Nullable(String)'],
  ['attributes_json', 'String'],
  ['resource_json', 'String'],
] as const satisfies ColumnSpec<LogRow>;

export const LOG_COLUMNS = LOG_SPEC.map(([name]) => name);

export function logToRow(l: LogRecord): LogRow {
  return {
    project_id: l.projectId,
    id: l.id,
    start_time_ms: Math.trunc(l.timeMs),
    observed_time_ms: Math.trunc(l.observedTimeMs),
    ingested_at_ms: Math.trunc(l.ingestedAtMs),
    source: l.source,
    service_name: l.serviceName,
    environment: l.environment,
    severity: l.severity,
    severity_number: l.severityNumber,
    severity_text: l.severityText,
    body: l.body,
    trace_id: l.traceId,
    span_id: l.spanId,
    event_name: l.eventName,
    pattern_id: l.patternId,
    attributes_json: JSON.stringify(l.attributes),
    resource_json: JSON.stringify(l.resource),
  };
}

export function rowToLog(r: Raw<LogRow>): LogRecord {
  return {
    projectId: r.project_id as string,
    id: r.id as string,
    timeMs: num(r.start_time_ms),
    observedTimeMs: num(r.observed_time_ms),
    ingestedAtMs: num(r.ingested_at_ms),
    source: r.source as LogRecord['source'],
    serviceName: r.service_name as string | null,
    environment: r.environment as string,
    severity: r.severity as LogRecord['severity'],
    severityNumber: num(r.severity_number),
    severityText: r.severity_text as string | null,
    body: r.body as string,
    traceId: r.trace_id as string | null,
    spanId: r.span_id as string | null,
    eventName: r.event_name as string | null,
    patternId: r.pattern_id as string | null,
    attributes: JSON.parse(r.attributes_json as string) as LogRecord['attributes'],
    resource: JSON.parse(r.resource_json as string) as LogRecord['resource'],
  };
}
