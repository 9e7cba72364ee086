/**
 * Maps decoded OTLP spans to normalised events: spans that describe an LLM call (OTel
 * GenAI, OpenInference or Langfuse attributes) become LlmCalls, every other span a Span.
 * Spans with invalid ids or absurd timestamps are rejected one by one and counted, which
 * the endpoint reports as OTLP partial success. docs/otlp.md holds the mapping table.
 */
import {
  CACHE_WRITE_1H_KEYS,
  canonicalModelName,
  emptyRawUsage,
  type LlmCall,
  normaliseUsage,
  type RawUsage,
  SERVICE_TIER_KEYS,
  type Span,
  type SpanStatusCode,
  type TelemetryBatch,
  truncateExcerpt,
  UNPRICED,
} from '@reskpoints/core';
import { langfuseCostFromDetails, langfuseUsageFromDetails } from '../langfuse/langfuse-usage.js';
import {
  type OtlpAttributes,
  OtlpKvList,
  type OtlpResourceSpansData,
  type OtlpSpanData,
  type OtlpTraceRequestData,
  type OtlpValue,
} from './otlp-model.js';

export interface OtlpMapContext {
  /** Project the authenticated request belongs to. */
  projectId: string;
  /** Receive time, epoch ms: becomes `ingestedAtMs` and bounds how far in the future a span may start. */
  nowMs: number;
  /** Prompt/response excerpts are cut to this many characters (0 = keep none). */
  excerptMaxChars: number;
}

export interface OtlpMapOutcome {
  batch: TelemetryBatch;
  /** Spans dropped because of invalid ids or timestamps. */
  rejectedSpans: number;
  /** Why spans were rejected (first few reasons), or null when none were. */
  errorMessage: string | null;
}

/** Spans starting before this are taken for a broken clock or a unit mistake. */
export const OTLP_MIN_START_MS = Date.UTC(2000, 0, 1);
/** How far past the receive time a span may start (client clock skew). */
export const OTLP_MAX_FUTURE_SKEW_MS = 24 * 3600_000;
/** Longest accepted span; the native API caps an LLM call's latency the same way. */
export const OTLP_MAX_DURATION_MS = 24 * 3600_000;
/** Longest string attribute value kept on a Span; longer values are cut. */
export const OTLP_SPAN_ATTRIBUTE_MAX_CHARS = 4096;
/** How many rejection reasons the partial-success message lists. */
const MAX_REASONS_SHOWN = 5;

const MAX_TAGS = 50;
const MAX_TAG_CHARS = 200;
const MAX_METADATA_KEYS = 64;
const MAX_METADATA_KEY_CHARS = 200;
const MAX_METADATA_VALUE_CHARS = 2000;
const MAX_TOKENS = 1e12;
const MAX_COST_USD = 1e6;

const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

const PROVIDER_KEYS = ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system'];
/** Attributes naming the model, best first; the canonical name of the first present is the grouping name. */
const MODEL_KEYS = [
  'gen_ai.response.model',
  'gen_ai.request.model',
  'llm.model_name',
  'langfuse.observation.model.name',
];
/** Attributes naming the model that answered; `gen_ai.request.model` names the one asked for. */
const RESPONSE_MODEL_KEYS = ['gen_ai.response.model', 'llm.model_name', 'langfuse.observation.model.name'];
const USER_KEYS = ['user.id', 'enduser.id', 'langfuse.user.id'];
const SESSION_KEYS = ['session.id', 'gen_ai.conversation.id', 'langfuse.session.id'];
const ENVIRONMENT_KEYS = ['deployment.environment.name', 'deployment.environment', 'langfuse.environment'];
const TAG_KEYS = ['langfuse.trace.tags', 'tags', 'tag.tags'];
const PROMPT_KEYS = ['gen_ai.input.messages', 'gen_ai.prompt', 'input.value', 'langfuse.observation.input'];
const RESPONSE_KEYS = ['gen_ai.output.messages', 'gen_ai.completion', 'output.value', 'langfuse.observation.output'];
/** Metadata given as one JSON object (Langfuse, OpenInference) rather than one key per entry. */
const METADATA_OBJECT_KEYS = ['langfuse.trace.metadata', 'langfuse.observation.metadata', 'metadata'];
const METADATA_PREFIXES = ['langfuse.trace.metadata.', 'langfuse.observation.metadata.', 'reskpoints.'];
/** Attributes the cost engine prices by (service tier, 1-hour cache writes), kept under their own names. */
const PRICING_ATTRIBUTE_KEYS: readonly string[] = [...SERVICE_TIER_KEYS, ...CACHE_WRITE_1H_KEYS];
/** Span events whose timestamp marks the first streamed token. */
const FIRST_TOKEN_EVENTS = new Set(['first_token', 'ai.stream.firstChunk']);

// ---------------------------------------------------------------------------------------
// Attribute value helpers

function text(v: OtlpValue | undefined): string | null {
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

export function toPlain(v: OtlpValue): unknown {
  if (v instanceof OtlpKvList) {
    // Null prototype: attribute keys such as "__proto__" stay plain keys.
    const o: Record<string, unknown> = Object.create(null);
    for (const [k, item] of v.values) o[k] = toPlain(item);
    return o;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  return v;
}

/** Any value as text: scalars as themselves, structures as JSON. */
export function anyText(v: OtlpValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return toPlain(v) as string;
  return JSON.stringify(toPlain(v));
}

function num(v: OtlpValue | undefined): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function tokenCount(n: number | null): number | null {
  if (n == null || n < 0 || n > MAX_TOKENS) return null;
  return Math.round(n);
}

const tok = (v: OtlpValue | undefined): number | null => tokenCount(num(v));

function firstText(a: OtlpAttributes, keys: readonly string[]): string | null {
  for (const k of keys) {
    const s = text(a.get(k));
    if (s !== null) return s;
  }
  return null;
}

function firstAnyText(a: OtlpAttributes, keys: readonly string[]): string | null {
  for (const k of keys) {
    const s = anyText(a.get(k));
    if (s !== null) return s;
  }
  return null;
}

/** A JSON object carried as a JSON string or as a kvlist value (Langfuse usage/cost details, metadata). */
function objectValue(v: OtlpValue | undefined): Record<string, unknown> | null {
  if (v instanceof OtlpKvList) return toPlain(v) as Record<string, unknown>;
  if (typeof v === 'string' && v.length > 1 && v.charCodeAt(0) === 123 /* { */) {
    try {
      const parsed: unknown = JSON.parse(v);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // Not JSON after all: the caller treats it as absent.
    }
  }
  return null;
}

const clip = (s: string, max: number): string => (s.length <= max ? s : s.slice(0, max));
const clipOrNull = (s: string | null, max: number): string | null => (s === null ? null : clip(s, max));
const roundMicros = (ms: number): number => Math.round(ms * 1000) / 1000;

// ---------------------------------------------------------------------------------------
// Validation

function isHexId(s: string, hexChars: number): boolean {
  if (s.length !== hexChars) return false;
  let nonZero = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const hex = (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
    if (!hex) return false;
    if (c !== 48) nonZero = true;
  }
  // An all-zero id is invalid per the OTLP spec.
  return nonZero;
}

function describeId(s: string): string {
  if (s === '') return 'none';
  return `"${s.length > 40 ? `${s.slice(0, 40)}…` : s}"`;
}

/** ISO time for messages; falls back to the number outside the range Date can show. */
function describeTime(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms`;
}

/** Why the span cannot be stored, or null when it can. */
function spanProblem(span: OtlpSpanData, nowMs: number): string | null {
  if (span.problem !== null) return span.problem;
  if (!isHexId(span.traceId, 32)) {
    return `traceId must be 16 bytes (32 hex characters, not all zero), got ${describeId(span.traceId)}`;
  }
  if (!isHexId(span.spanId, 16)) {
    return `spanId must be 8 bytes (16 hex characters, not all zero), got ${describeId(span.spanId)}`;
  }
  const start = span.startTimeUnixMs;
  const end = span.endTimeUnixMs;
  if (!Number.isFinite(start) || start === 0) return 'startTimeUnixNano is missing';
  if (start < OTLP_MIN_START_MS) return `startTimeUnixNano ${describeTime(start)} is before 2000-01-01`;
  if (start > nowMs + OTLP_MAX_FUTURE_SKEW_MS) {
    return `startTimeUnixNano ${describeTime(start)} is more than 24h in the future`;
  }
  if (!Number.isFinite(end) || end === 0) return 'endTimeUnixNano is missing';
  if (end < start) return 'endTimeUnixNano is before startTimeUnixNano';
  if (end - start > OTLP_MAX_DURATION_MS) return 'span lasts longer than 24h';
  return null;
}

// ---------------------------------------------------------------------------------------
// Classification and field extraction

function isLlmSpan(a: OtlpAttributes): boolean {
  if (
    a.get('gen_ai.operation.name') != null ||
    a.get('gen_ai.provider.name') != null ||
    a.get('gen_ai.system') != null ||
    a.get('gen_ai.request.model') != null ||
    a.get('llm.model_name') != null
  ) {
    return true;
  }
  const oiKind = a.get('openinference.span.kind');
  if (typeof oiKind === 'string' && oiKind.toUpperCase() === 'LLM') return true;
  const lfType = a.get('langfuse.observation.type');
  return typeof lfType === 'string' && (lfType === 'generation' || lfType === 'embedding');
}

function operationOf(a: OtlpAttributes): string {
  const op = text(a.get('gen_ai.operation.name'));
  if (op !== null) return op;
  const oiKind = a.get('openinference.span.kind');
  if (typeof oiKind === 'string' && oiKind.toUpperCase() === 'EMBEDDING') return 'embeddings';
  if (a.get('langfuse.observation.type') === 'embedding') return 'embeddings';
  return 'chat';
}

function usageOf(a: OtlpAttributes): RawUsage {
  // OTel GenAI: input_tokens counts cached input too.
  const genIn = tok(a.get('gen_ai.usage.input_tokens')) ?? tok(a.get('gen_ai.usage.prompt_tokens'));
  const genOut = tok(a.get('gen_ai.usage.output_tokens')) ?? tok(a.get('gen_ai.usage.completion_tokens'));
  const genCacheRead = tok(a.get('gen_ai.usage.cache_read.input_tokens'));
  const genCacheWrite = tok(a.get('gen_ai.usage.cache_creation.input_tokens'));
  const genReasoning = tok(a.get('gen_ai.usage.reasoning.output_tokens'));
  if (genIn !== null || genOut !== null || genCacheRead !== null || genCacheWrite !== null || genReasoning !== null) {
    return {
      semantics: 'input-includes-cached',
      inputTokens: genIn,
      outputTokens: genOut,
      cacheReadTokens: genCacheRead,
      cacheWriteTokens: genCacheWrite,
      reasoningTokens: genReasoning,
      totalTokens: tok(a.get('gen_ai.usage.total_tokens')),
    };
  }
  // OpenInference: llm.token_count.prompt counts cached prompt tokens too.
  const oiIn = tok(a.get('llm.token_count.prompt'));
  const oiOut = tok(a.get('llm.token_count.completion'));
  const oiTotal = tok(a.get('llm.token_count.total'));
  const oiCacheRead = tok(a.get('llm.token_count.prompt_details.cache_read'));
  const oiCacheWrite = tok(a.get('llm.token_count.prompt_details.cache_write'));
  const oiReasoning = tok(a.get('llm.token_count.completion_details.reasoning'));
  if (oiIn !== null || oiOut !== null || oiTotal !== null || oiCacheRead !== null || oiCacheWrite !== null) {
    return {
      semantics: 'input-includes-cached',
      inputTokens: oiIn,
      outputTokens: oiOut,
      cacheReadTokens: oiCacheRead,
      cacheWriteTokens: oiCacheWrite,
      reasoningTokens: oiReasoning,
      totalTokens: oiTotal,
    };
  }
  // Langfuse usage_details: `input` excludes cached tokens, which have keys of their own
  // (see langfuse-usage.ts for the readings of other shapes).
  const details = objectValue(a.get('langfuse.observation.usage_details'));
  const langfuse = details === null ? null : langfuseUsageFromDetails(details);
  return langfuse ?? emptyRawUsage('input-includes-cached');
}

function costOf(a: OtlpAttributes): number | null {
  let cost = num(a.get('gen_ai.usage.cost'));
  if (cost === null) {
    const details = objectValue(a.get('langfuse.observation.cost_details'));
    if (details !== null) cost = langfuseCostFromDetails(details);
  }
  if (cost === null) cost = num(a.get('llm.cost.total'));
  return cost !== null && cost >= 0 && cost <= MAX_COST_USD ? cost : null;
}

function ttftOf(span: OtlpSpanData): number | null {
  const a = span.attributes;
  let ms: number | null = null;
  const seconds = num(a.get('gen_ai.response.time_to_first_chunk')) ?? num(a.get('gen_ai.server.time_to_first_token'));
  if (seconds !== null) ms = seconds * 1000;
  if (ms === null) ms = num(a.get('ai.response.msToFirstChunk')) ?? num(a.get('ai.stream.msToFirstChunk'));
  if (ms === null) {
    const completionStart = text(a.get('langfuse.observation.completion_start_time'));
    if (completionStart !== null) {
      // The Langfuse SDK writes the timestamp JSON-encoded, quotes included.
      const t = Date.parse(completionStart.replace(/^"|"$/g, ''));
      if (Number.isFinite(t)) ms = t - span.startTimeUnixMs;
    }
  }
  if (ms === null) {
    for (const ev of span.events) {
      if (FIRST_TOKEN_EVENTS.has(ev.name) && Number.isFinite(ev.timeUnixMs) && ev.timeUnixMs > 0) {
        ms = ev.timeUnixMs - span.startTimeUnixMs;
        break;
      }
    }
  }
  if (ms === null || ms < 0 || ms > OTLP_MAX_DURATION_MS) return null;
  return roundMicros(ms);
}

function addTag(out: Set<string>, raw: string): void {
  const t = raw.trim();
  if (t !== '' && out.size < MAX_TAGS) out.add(clip(t, MAX_TAG_CHARS));
}

/** Tags come as a string array, a JSON array string or a comma-separated string. */
function collectTags(v: OtlpValue | undefined, out: Set<string>): void {
  if (v === undefined || v === null) return;
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = anyText(item);
      if (s !== null) addTag(out, s);
    }
    return;
  }
  if (typeof v !== 'string') return;
  const s = v.trim();
  if (s.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(s);
      if (Array.isArray(parsed)) {
        for (const item of parsed) {
          if (typeof item === 'string') addTag(out, item);
          else if (typeof item === 'number' || typeof item === 'boolean') addTag(out, String(item));
        }
        return;
      }
    } catch {
      // Not a JSON array: fall through to the comma-separated reading.
    }
  }
  for (const part of s.split(',')) addTag(out, part);
}

function putMetadata(out: Record<string, string>, count: { n: number }, key: string, value: string | null): void {
  if (value === null || key === '' || key === '__proto__' || count.n >= MAX_METADATA_KEYS) return;
  const k = clip(key, MAX_METADATA_KEY_CHARS);
  if (!Object.hasOwn(out, k)) count.n++;
  out[k] = clip(value, MAX_METADATA_VALUE_CHARS);
}

function unknownText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function metadataOf(a: OtlpAttributes): Record<string, string> {
  const out: Record<string, string> = {};
  const count = { n: 0 };
  for (const key of METADATA_OBJECT_KEYS) {
    const obj = objectValue(a.get(key));
    if (obj !== null) for (const [k, v] of Object.entries(obj)) putMetadata(out, count, k, unknownText(v));
  }
  for (const key of PRICING_ATTRIBUTE_KEYS) {
    const v = a.get(key);
    if (v !== undefined && v !== null) putMetadata(out, count, key, anyText(v));
  }
  for (const [key, value] of a) {
    const c = key.charCodeAt(0);
    // Cheap first-letter test: most attributes start with neither 'l' nor 'r'.
    if (c !== 108 /* l */ && c !== 114 /* r */) continue;
    for (const prefix of METADATA_PREFIXES) {
      if (key.startsWith(prefix)) {
        putMetadata(out, count, key.slice(prefix.length), anyText(value));
        break;
      }
    }
  }
  return out;
}

function excerptOf(span: OtlpSpanData, keys: readonly string[], maxChars: number): string | null {
  if (maxChars <= 0) return null;
  let s = firstAnyText(span.attributes, keys);
  if (s === null) {
    // Older GenAI instrumentations put content on events (gen_ai.content.prompt/completion).
    for (const ev of span.events) {
      s = firstAnyText(ev.attributes, keys);
      if (s !== null) break;
    }
  }
  return truncateExcerpt(s, maxChars);
}

function errorOf(span: OtlpSpanData): { isError: boolean; errorType: string | null; errorMessage: string | null } {
  const a = span.attributes;
  const errorTypeAttr = text(a.get('error.type'));
  const level = a.get('langfuse.observation.level');
  const isError = span.statusCode === 2 || errorTypeAttr !== null || level === 'ERROR';
  if (!isError) return { isError, errorType: null, errorMessage: null };
  let exceptionType: string | null = null;
  let exceptionMessage: string | null = null;
  for (const ev of span.events) {
    if (ev.name === 'exception') {
      exceptionType = text(ev.attributes.get('exception.type'));
      exceptionMessage = text(ev.attributes.get('exception.message'));
      break;
    }
  }
  exceptionType ??= text(a.get('exception.type'));
  exceptionMessage ??= text(a.get('exception.message'));
  const errorMessage =
    (span.statusMessage !== '' ? span.statusMessage : null) ??
    exceptionMessage ??
    text(a.get('langfuse.observation.status_message'));
  return {
    isError,
    errorType: clipOrNull(errorTypeAttr ?? exceptionType, 256),
    errorMessage: clipOrNull(errorMessage, 4096),
  };
}

interface ResourceInfo {
  serviceName: string | null;
  environment: string | null;
}

function resourceInfo(rs: OtlpResourceSpansData): ResourceInfo {
  return {
    serviceName: clipOrNull(text(rs.resourceAttributes.get('service.name')), 256),
    environment: firstText(rs.resourceAttributes, ENVIRONMENT_KEYS),
  };
}

function toLlmCall(span: OtlpSpanData, res: ResourceInfo, ctx: OtlpMapContext): LlmCall {
  const a = span.attributes;
  const usageRaw = usageOf(a);
  const { isError, errorType, errorMessage } = errorOf(span);
  const tags = new Set<string>();
  for (const k of TAG_KEYS) collectTags(a.get(k), tags);
  const requestModel = clipOrNull(text(a.get('gen_ai.request.model')), 256);
  const responseModel = clipOrNull(firstText(a, RESPONSE_MODEL_KEYS), 256);
  return {
    id: span.traceId + span.spanId,
    projectId: ctx.projectId,
    environment: clip(firstText(a, ENVIRONMENT_KEYS) ?? res.environment ?? 'production', 64),
    source: 'otlp',
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: isHexId(span.parentSpanId, 16) ? span.parentSpanId : null,
    serviceName: res.serviceName,
    provider: clip(firstText(a, PROVIDER_KEYS) ?? 'unknown', 128),
    // Grouped by the canonical name, so a failed call (request model only) and a successful
    // one (dated response model) of the same model land in one group.
    model: clip(canonicalModelName(firstText(a, MODEL_KEYS) ?? 'unknown'), 256),
    requestModel,
    responseModel,
    operation: clip(operationOf(a), 64),
    startTimeMs: Math.floor(span.startTimeUnixMs),
    latencyMs: roundMicros(span.endTimeUnixMs - span.startTimeUnixMs),
    ttftMs: ttftOf(span),
    status: isError ? 'error' : 'ok',
    errorType,
    errorMessage,
    userId: clipOrNull(firstText(a, USER_KEYS), 256),
    sessionId: clipOrNull(firstText(a, SESSION_KEYS), 256),
    tags: [...tags],
    metadata: metadataOf(a),
    usageRaw,
    usage: normaliseUsage(usageRaw),
    reportedCostUsd: costOf(a),
    cost: { ...UNPRICED },
    promptExcerpt: excerptOf(span, PROMPT_KEYS, ctx.excerptMaxChars),
    responseExcerpt: excerptOf(span, RESPONSE_KEYS, ctx.excerptMaxChars),
    ingestedAtMs: ctx.nowMs,
  };
}

function flattenAttributes(a: OtlpAttributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of a) {
    if (value === null || key === '__proto__') continue;
    if (typeof value === 'number') {
      // JSON cannot carry NaN/Infinity; keep them readable as text.
      out[key] = Number.isFinite(value) ? value : String(value);
    } else if (typeof value === 'boolean') out[key] = value;
    else {
      const s = anyText(value);
      if (s !== null) out[key] = clip(s, OTLP_SPAN_ATTRIBUTE_MAX_CHARS);
    }
  }
  return out;
}

function statusCodeOf(code: number): SpanStatusCode {
  if (code === 2) return 'error';
  if (code === 1) return 'ok';
  return 'unset';
}

function toSpan(span: OtlpSpanData, res: ResourceInfo, ctx: OtlpMapContext): Span {
  return {
    projectId: ctx.projectId,
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: isHexId(span.parentSpanId, 16) ? span.parentSpanId : null,
    serviceName: res.serviceName,
    name: clip(span.name, 1024),
    kind: SPAN_KINDS[span.kind] ?? 'unspecified',
    startTimeMs: Math.floor(span.startTimeUnixMs),
    durationMs: roundMicros(span.endTimeUnixMs - span.startTimeUnixMs),
    statusCode: statusCodeOf(span.statusCode),
    statusMessage: span.statusMessage === '' ? null : clip(span.statusMessage, 4096),
    attributes: flattenAttributes(span.attributes),
    ingestedAtMs: ctx.nowMs,
  };
}

/** Maps every span of a decoded request; never throws on decoded input. */
export function mapOtlpTraceRequest(data: OtlpTraceRequestData, ctx: OtlpMapContext): OtlpMapOutcome {
  const batch: TelemetryBatch = { llmCalls: [], spans: [] };
  let total = 0;
  let rejected = 0;
  const reasons: string[] = [];
  for (let i = 0; i < data.length; i++) {
    const rs = data[i] as OtlpResourceSpansData;
    const res = resourceInfo(rs);
    for (let j = 0; j < rs.scopeSpans.length; j++) {
      const spans = (rs.scopeSpans[j] as { spans: OtlpSpanData[] }).spans;
      for (let k = 0; k < spans.length; k++) {
        const span = spans[k] as OtlpSpanData;
        total++;
        const problem = spanProblem(span, ctx.nowMs);
        if (problem !== null) {
          rejected++;
          if (reasons.length < MAX_REASONS_SHOWN) {
            reasons.push(`resourceSpans[${i}].scopeSpans[${j}].spans[${k}]: ${problem}`);
          }
          continue;
        }
        if (isLlmSpan(span.attributes)) batch.llmCalls.push(toLlmCall(span, res, ctx));
        else batch.spans.push(toSpan(span, res, ctx));
      }
    }
  }
  let errorMessage: string | null = null;
  if (rejected > 0) {
    const more = rejected > reasons.length ? `; and ${rejected - reasons.length} more` : '';
    errorMessage = `${rejected} of ${total} spans rejected: ${reasons.join('; ')}${more}`;
  }
  return { batch, rejectedSpans: rejected, errorMessage };
}
