/**
 * How LLM calls and spans map to the columns of `llm_calls` and `spans`, in table order
 * (the appender writes positionally). The six dimensions of a call's series (project,
 * environment, provider, model, operation, status) are stored once in `llm_series` and
 * referenced by `series_id`: six fewer strings per row to copy, log and compress.
 */
import type { CallCost, LlmCall, LogRecord, RawUsage, Span, TelemetrySource, Usage } from '@reskpoints/core';
import type { Column } from './columnar-append.js';
import { TOKENS_ESTIMATED_FLAG } from './cost-columns.js';

/** Columns of llm_series that identify a series, in key order. */
export const SERIES_COLUMNS = ['project_id', 'environment', 'provider', 'model', 'operation', 'status'] as const;

/**
 * Every call's source, usage semantics and which raw token counts the source reported, in
 * one SMALLINT column, `flags`:
 * bits 0-2 the source (7: named in `detail`), bit 3 the semantics ('input-excludes-cached'), bits 4-9 one per raw
 * count (input, output, cache read, cache write, reasoning, total), set when reported; bit 10
 * set when the tokens the call was costed with were estimated.
 * A reported raw count that equals its normalised count is read back from the usage
 * columns; only calls whose raw usage differs from that keep it in `detail`.
 */
const SOURCES: readonly TelemetrySource[] = ['native', 'otlp', 'langfuse', 'sdk', 'demo'];
const SOURCE_IN_DETAIL = 7;
const RAW_FIELDS = [
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'reasoningTokens',
  'totalTokens',
] as const satisfies ReadonlyArray<keyof Usage & keyof RawUsage>;

export function llmCallFlags(c: LlmCall): number {
  // Field by field: this runs per stored call, and a loop over keys is several times slower.
  const raw = c.usageRaw;
  const source = SOURCES.indexOf(c.source);
  let flags = source < 0 ? SOURCE_IN_DETAIL : source;
  if (raw.semantics === 'input-excludes-cached') flags |= 8;
  if (raw.inputTokens !== null) flags |= 16;
  if (raw.outputTokens !== null) flags |= 32;
  if (raw.cacheReadTokens !== null) flags |= 64;
  if (raw.cacheWriteTokens !== null) flags |= 128;
  if (raw.reasoningTokens !== null) flags |= 256;
  if (raw.totalTokens !== null) flags |= 512;
  if (c.cost.tokensEstimated) flags |= TOKENS_ESTIMATED_FLAG;
  return flags;
}

/** Whether the raw usage is exactly what `flags` and the normalised usage give back. */
function rawUsageImplied(c: LlmCall): boolean {
  const raw = c.usageRaw;
  const u = c.usage;
  return (
    (raw.inputTokens === null || raw.inputTokens === u.inputTokens) &&
    (raw.outputTokens === null || raw.outputTokens === u.outputTokens) &&
    (raw.cacheReadTokens === null || raw.cacheReadTokens === u.cacheReadTokens) &&
    (raw.cacheWriteTokens === null || raw.cacheWriteTokens === u.cacheWriteTokens) &&
    (raw.reasoningTokens === null || raw.reasoningTokens === u.reasoningTokens) &&
    (raw.totalTokens === null || raw.totalTokens === u.totalTokens)
  );
}

function rawUsageFrom(flags: number, usage: Usage): RawUsage {
  const reported = (k: number) => (flags & (16 << k)) !== 0;
  return {
    semantics: flags & 8 ? 'input-excludes-cached' : 'input-includes-cached',
    inputTokens: reported(0) ? usage.inputTokens : null,
    outputTokens: reported(1) ? usage.outputTokens : null,
    cacheReadTokens: reported(2) ? usage.cacheReadTokens : null,
    cacheWriteTokens: reported(3) ? usage.cacheWriteTokens : null,
    reasoningTokens: reported(4) ? usage.reasoningTokens : null,
    totalTokens: reported(5) ? usage.totalTokens : null,
  };
}

/**
 * Fields that are read back but never filtered or aggregated on travel as one JSON text
 * column, `detail`: every column costs DuckDB a fixed amount per row at commit and
 * checkpoint whether it holds a value or NULL, and most of these are NULL. Keys whose
 * value is null or empty are left out, and a call with none of them stores NULL: a long
 * string per row costs the write path more than all the numeric columns together.
 */
export function llmCallDetail(c: LlmCall): string | null {
  // Built by hand: about twice as fast as building an object for JSON.stringify, and this
  // runs once per stored call. Strings still go through JSON.stringify for escaping.
  let out = '';
  if (!SOURCES.includes(c.source)) out += `,"source":${JSON.stringify(c.source)}`;
  if (!rawUsageImplied(c)) {
    const raw = c.usageRaw;
    let usage = `{"semantics":${JSON.stringify(raw.semantics)}`;
    for (const f of RAW_FIELDS) if (raw[f] !== null) usage += `,"${f}":${num(raw[f])}`;
    out += `,"usageRaw":${usage}}`;
  }
  if (c.spanId !== null) out += `,"spanId":${JSON.stringify(c.spanId)}`;
  if (c.parentSpanId !== null) out += `,"parentSpanId":${JSON.stringify(c.parentSpanId)}`;
  if (c.requestModel !== null) out += `,"requestModel":${JSON.stringify(c.requestModel)}`;
  if (c.responseModel !== null) out += `,"responseModel":${JSON.stringify(c.responseModel)}`;
  if (c.errorType !== null) out += `,"errorType":${JSON.stringify(c.errorType)}`;
  if (c.errorMessage !== null) out += `,"errorMessage":${JSON.stringify(c.errorMessage)}`;
  for (const _ in c.metadata) {
    out += `,"metadata":${JSON.stringify(c.metadata)}`;
    break;
  }
  if (c.promptExcerpt !== null) out += `,"promptExcerpt":${JSON.stringify(c.promptExcerpt)}`;
  if (c.responseExcerpt !== null) out += `,"responseExcerpt":${JSON.stringify(c.responseExcerpt)}`;
  return out === '' ? null : `{${out.slice(1)}}`;
}

/** JSON has no NaN/Infinity; such a value is a bug upstream, stored as null rather than as broken JSON. */
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

export type LlmCallDetailFields = Pick<
  LlmCall,
  | 'source'
  | 'ingestedAtMs'
  | 'usageRaw'
  | 'spanId'
  | 'parentSpanId'
  | 'requestModel'
  | 'responseModel'
  | 'errorType'
  | 'errorMessage'
  | 'metadata'
  | 'promptExcerpt'
  | 'responseExcerpt'
>;

/**
 * The fields of a stored call that `detail`, `flags` and `ingested_at_ms` carry. Rows written
 * before `flags` existed (NULL there) have source, ingestion time and raw usage in `detail`.
 */
export function parseLlmCallDetail(
  json: string | null,
  flags: number | null,
  ingestedAtMs: number | null,
  usage: Usage,
): LlmCallDetailFields {
  const d = (json === null ? {} : JSON.parse(json)) as Partial<LlmCallDetailFields> & {
    usageRaw?: Partial<LlmCall['usageRaw']>;
  };
  const raw = d.usageRaw;
  return {
    source: flags === null || (flags & 7) === SOURCE_IN_DETAIL ? d.source! : SOURCES[flags & 7]!,
    ingestedAtMs: ingestedAtMs ?? d.ingestedAtMs!,
    usageRaw: raw
      ? {
          semantics: raw.semantics!,
          inputTokens: raw.inputTokens ?? null,
          outputTokens: raw.outputTokens ?? null,
          cacheReadTokens: raw.cacheReadTokens ?? null,
          cacheWriteTokens: raw.cacheWriteTokens ?? null,
          reasoningTokens: raw.reasoningTokens ?? null,
          totalTokens: raw.totalTokens ?? null,
        }
      : rawUsageFrom(flags!, usage),
    spanId: d.spanId ?? null,
    parentSpanId: d.parentSpanId ?? null,
    requestModel: d.requestModel ?? null,
    responseModel: d.responseModel ?? null,
    errorType: d.errorType ?? null,
    errorMessage: d.errorMessage ?? null,
    metadata: d.metadata ?? {},
    promptExcerpt: d.promptExcerpt ?? null,
    responseExcerpt: d.responseExcerpt ?? null,
  };
}

/** Columns of llm_calls in table order; `seriesIds[i]` is the series of the i-th call. */
export function llmCallColumns(seriesIds: Int32Array): readonly Column<LlmCall>[] {
  return [{ name: 'series_id', kind: 'integer', get: (_c, i) => seriesIds[i]! }, ...LLM_CALL_FIELD_COLUMNS];
}

const LLM_CALL_FIELD_COLUMNS: readonly Column<LlmCall>[] = [
  { name: 'id', kind: 'varchar', get: (c) => c.id },
  { name: 'start_time_ms', kind: 'bigint', get: (c) => c.startTimeMs },
  { name: 'trace_id', kind: 'varchar', get: (c) => c.traceId },
  { name: 'service_name', kind: 'varchar', get: (c) => c.serviceName },
  { name: 'user_id', kind: 'varchar', get: (c) => c.userId },
  { name: 'session_id', kind: 'varchar', get: (c) => c.sessionId },
  { name: 'tags', kind: 'varchar_list', get: (c) => c.tags },
  { name: 'latency_ms', kind: 'double', get: (c) => c.latencyMs },
  { name: 'ttft_ms', kind: 'double', get: (c) => c.ttftMs },
  { name: 'input_tokens', kind: 'bigint', get: (c) => c.usage.inputTokens },
  { name: 'output_tokens', kind: 'bigint', get: (c) => c.usage.outputTokens },
  { name: 'cache_read_tokens', kind: 'bigint', get: (c) => c.usage.cacheReadTokens },
  { name: 'cache_write_tokens', kind: 'bigint', get: (c) => c.usage.cacheWriteTokens },
  { name: 'reasoning_tokens', kind: 'bigint', get: (c) => c.usage.reasoningTokens },
  { name: 'total_tokens', kind: 'bigint', get: (c) => c.usage.totalTokens },
  { name: 'cost_usd', kind: 'double', get: (c) => c.cost.totalUsd },
  { name: 'detail', kind: 'varchar', get: llmCallDetail },
  { name: 'flags', kind: 'smallint', get: llmCallFlags },
  { name: 'ingested_at_ms', kind: 'bigint', get: (c) => c.ingestedAtMs },
  // Schema version 5, in LLM_CALL_COST_COLUMNS order.
  { name: 'reported_cost_usd', kind: 'double', get: (c) => c.reportedCostUsd },
  { name: 'input_cost_usd', kind: 'double', get: (c) => c.cost.inputUsd },
  { name: 'output_cost_usd', kind: 'double', get: (c) => c.cost.outputUsd },
  { name: 'cache_read_cost_usd', kind: 'double', get: (c) => c.cost.cacheReadUsd },
  { name: 'cache_write_cost_usd', kind: 'double', get: (c) => c.cost.cacheWriteUsd },
  { name: 'reasoning_cost_usd', kind: 'double', get: (c) => c.cost.reasoningUsd },
  { name: 'request_cost_usd', kind: 'double', get: (c) => c.cost.requestUsd },
  { name: 'price_id', kind: 'varchar', get: (c) => c.cost.priceId },
  { name: 'price_version', kind: 'varchar', get: (c) => c.cost.priceVersion },
  { name: 'cost_tier', kind: 'varchar', get: (c) => c.cost.tier },
];

/** The computed cost of a stored call from its columns (rows from before version 5 read as unpriced). */
export function costFromRow(r: Record<string, unknown>, flags: number | null): CallCost {
  const n = (k: string) => (r[k] === null || r[k] === undefined ? 0 : Number(r[k]));
  const total = r['cost_usd'];
  return {
    totalUsd: total === null || total === undefined ? null : Number(total),
    inputUsd: n('input_cost_usd'),
    outputUsd: n('output_cost_usd'),
    cacheReadUsd: n('cache_read_cost_usd'),
    cacheWriteUsd: n('cache_write_cost_usd'),
    reasoningUsd: n('reasoning_cost_usd'),
    requestUsd: n('request_cost_usd'),
    priceId: (r['price_id'] as string | null | undefined) ?? null,
    priceVersion: (r['price_version'] as string | null | undefined) ?? null,
    tier: (r['cost_tier'] as string | null | undefined) ?? null,
    tokensEstimated: flags !== null && (flags & TOKENS_ESTIMATED_FLAG) !== 0,
  };
}

export function spanDetail(s: Span): string {
  const d: Record<string, unknown> = { kind: s.kind, ingestedAtMs: s.ingestedAtMs };
  if (s.statusMessage !== null) d['statusMessage'] = s.statusMessage;
  for (const _ in s.attributes) {
    d['attributes'] = s.attributes;
    break;
  }
  return JSON.stringify(d);
}

export function parseSpanDetail(json: string): Pick<Span, 'kind' | 'ingestedAtMs' | 'statusMessage' | 'attributes'> {
  const d = JSON.parse(json) as Partial<Span>;
  return {
    kind: d.kind!,
    ingestedAtMs: d.ingestedAtMs!,
    statusMessage: d.statusMessage ?? null,
    attributes: d.attributes ?? {},
  };
}

/** Columns of spans in table order. */
export const SPAN_COLUMNS: readonly Column<Span>[] = [
  { name: 'project_id', kind: 'varchar', get: (s) => s.projectId },
  { name: 'trace_id', kind: 'varchar', get: (s) => s.traceId },
  { name: 'span_id', kind: 'varchar', get: (s) => s.spanId },
  { name: 'parent_span_id', kind: 'varchar', get: (s) => s.parentSpanId },
  { name: 'service_name', kind: 'varchar', get: (s) => s.serviceName },
  { name: 'name', kind: 'varchar', get: (s) => s.name },
  { name: 'start_time_ms', kind: 'bigint', get: (s) => s.startTimeMs },
  { name: 'duration_ms', kind: 'double', get: (s) => s.durationMs },
  { name: 'status_code', kind: 'varchar', get: (s) => s.statusCode },
  { name: 'detail', kind: 'varchar', get: spanDetail },
];

/**
 * The resource of a log record as JSON. Every record of a request shares one resource object
 * (the mappers build it once per resource), so the last one's text is kept: a request's rows
 * then stringify it once instead of once per row. (Records are not changed once mapped.)
 */
let lastResource: LogRecord['resource'] | null = null;
let lastResourceJson = '';
function resourceJson(l: LogRecord): string {
  if (l.resource !== lastResource) {
    lastResourceJson = JSON.stringify(l.resource);
    lastResource = l.resource;
  }
  return lastResourceJson;
}

export const LOG_COLUMNS: readonly Column<LogRecord>[] = [
  { name: 'project_id', kind: 'varchar', get: (l) => l.projectId },
  { name: 'id', kind: 'varchar', get: (l) => l.id },
  { name: 'time_ms', kind: 'bigint', get: (l) => l.timeMs },
  { name: 'observed_time_ms', kind: 'bigint', get: (l) => l.observedTimeMs },
  { name: 'ingested_at_ms', kind: 'bigint', get: (l) => l.ingestedAtMs },
  { name: 'source', kind: 'varchar', get: (l) => l.source },
  { name: 'service_name', kind: 'varchar', get: (l) => l.serviceName },
  { name: 'environment', kind: 'varchar', get: (l) => l.environment },
  { name: 'severity', kind: 'varchar', get: (l) => l.severity },
  { name: 'severity_number', kind: 'smallint', get: (l) => l.severityNumber },
  { name: 'severity_text', kind: 'varchar', get: (l) => l.severityText },
  { name: 'body', kind: 'varchar', get: (l) => l.body },
  { name: 'trace_id', kind: 'varchar', get: (l) => l.traceId },
  { name: 'span_id', kind: 'varchar', get: (l) => l.spanId },
  { name: 'event_name', kind: 'varchar', get: (l) => l.eventName },
  { name: 'pattern_id', kind: 'varchar', get: (l) => l.patternId },
  { name: 'attributes', kind: 'varchar', get: (l) => JSON.stringify(l.attributes) },
  { name: 'resource', kind: 'varchar', get: resourceJson },
];
