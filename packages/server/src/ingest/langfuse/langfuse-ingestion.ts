/**
 * The Langfuse batch ingestion API (`POST /api/public/ingestion`, what the `langfuse` v3 npm
 * client and Langfuse's Python SDK v2 send): `{batch:[{id, timestamp, type, body}]}`.
 *
 * Events that describe one observation (a `generation-create` and its `generation-update`s)
 * share `body.id`; they are merged in timestamp order, later values winning, before the
 * observation is mapped. Generations and embeddings become LLM calls, every other observation
 * a span. Traces carry the user, session, tags and metadata of their observations.
 *
 * An observation becomes an event once it has ended (`endTime`); until then its events are
 * handed back as pending, for the caller to hold until the rest arrives (see
 * langfuse-pending.ts). Everything here is a pure function of the body, so decoding a logged
 * body again yields the same events.
 */
import {
  appError,
  canonicalModelName,
  emptyRawUsage,
  err,
  type LlmCall,
  normaliseUsage,
  ok,
  type RawUsage,
  type Result,
  type Span,
  type TelemetryBatch,
  truncateExcerpt,
  UNPRICED,
} from '@reskpoints/core';
import { langfuseCostFromDetails, langfuseUsageFromDetails } from './langfuse-usage.js';

/** One event of a batch, as received (bodies are JSON objects). */
export interface LangfuseEvent {
  id: string;
  type: string;
  timestamp?: string;
  body: Record<string, unknown>;
}

/** Per-event answer in Langfuse's 207 response. */
export interface LangfuseEventOutcome {
  id: string;
  status: number;
  message?: string;
}

export interface LangfuseBatch {
  /** Valid events, in batch order. */
  events: LangfuseEvent[];
  /** Events refused one by one (answered in `errors`, status 4xx/501). */
  errors: LangfuseEventOutcome[];
  /**
   * Set on bodies that ReskPoints writes itself (pending observations given up waiting for):
   * observations that have not ended are mapped as they are.
   */
  flushPending: boolean;
}

export interface LangfuseMapContext {
  projectId: string;
  nowMs: number;
  excerptMaxChars: number;
}

export interface LangfuseMapOutcome {
  batch: TelemetryBatch;
  /** Events refused while mapping (bad times, ids too long). */
  errors: LangfuseEventOutcome[];
  /** Observations not ended yet: their events, by observation id. */
  pendingObservations: Map<string, LangfuseEvent[]>;
  /** Trace events of the body, by trace id: context for observations still to come. */
  traces: Map<string, LangfuseEvent[]>;
  /** Observations that became events. */
  completedObservationIds: string[];
}

const OBSERVATION_CREATE_TYPES: Record<string, string> = {
  'generation-create': 'generation',
  'span-create': 'span',
  'event-create': 'event',
  'agent-create': 'agent',
  'tool-create': 'tool',
  'chain-create': 'chain',
  'retriever-create': 'retriever',
  'evaluator-create': 'evaluator',
  'embedding-create': 'embedding',
  'guardrail-create': 'guardrail',
};
const OBSERVATION_UPDATE_TYPES: Record<string, string> = {
  'generation-update': 'generation',
  'span-update': 'span',
};
/**
 * Answered 201 but not stored (counted as `ignored`): SDK debug logs, and scores and dataset
 * run items, which ReskPoints keeps no record of. An error answer would make the v3 client
 * send the whole batch again, three times.
 */
export const LANGFUSE_IGNORED_TYPES: ReadonlySet<string> = new Set([
  'sdk-log',
  'score-create',
  'dataset-run-item-create',
]);

/** Longest observation or trace id kept (the native API's event id limit). */
export const LANGFUSE_MAX_ID_CHARS = 128;
const MIN_START_MS = Date.UTC(2000, 0, 1);
const MAX_FUTURE_SKEW_MS = 24 * 3600_000;
const MAX_DURATION_MS = 24 * 3600_000;
const MAX_TAGS = 50;
const MAX_TAG_CHARS = 200;
const MAX_METADATA_KEYS = 64;
const MAX_METADATA_KEY_CHARS = 200;
const MAX_METADATA_VALUE_CHARS = 2000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const clip = (s: string, max: number): string => (s.length <= max ? s : s.slice(0, max));

function str(v: unknown): string | null {
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function timeMs(v: unknown): number | null {
  if (typeof v !== 'string' || v === '') return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
}

/** Any JSON value as text: strings as themselves, everything else as JSON. */
export function langfuseText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  return JSON.stringify(v);
}

/**
 * Reads the request body: a JSON object with a `batch` array. The whole request fails only when
 * the body is not that; a malformed event is refused alone.
 */
export function parseLangfuseBatch(body: Buffer): Result<LangfuseBatch> {
  if (body.length === 0) return err(appError('RP_INVALID_BODY', 'body is empty; a JSON document was expected'));
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return err(appError('RP_INVALID_BODY', `malformed JSON: ${(e as Error).message}`));
  }
  if (!isObject(parsed) || !Array.isArray(parsed.batch))
    return err(
      appError('RP_VALIDATION', 'invalid request body: batch: expected an array of events', {
        issues: [{ path: 'batch', message: 'expected an array of events' }],
      }),
    );
  const events: LangfuseEvent[] = [];
  const errors: LangfuseEventOutcome[] = [];
  const problem = (raw: unknown, i: number): string | null => {
    if (!isObject(raw)) return `batch[${i}]: expected an event object`;
    if (typeof raw.id !== 'string' || raw.id === '') return `batch[${i}].id: expected a non-empty string`;
    if (typeof raw.type !== 'string') return `batch[${i}].type: expected a string`;
    if (!isObject(raw.body)) return `batch[${i}].body: expected an object`;
    if (raw.timestamp !== undefined && typeof raw.timestamp !== 'string')
      return `batch[${i}].timestamp: expected an ISO 8601 string`;
    const type = raw.type;
    const known =
      type === 'trace-create' ||
      type === 'observation-create' ||
      type === 'observation-update' ||
      LANGFUSE_IGNORED_TYPES.has(type) ||
      OBSERVATION_CREATE_TYPES[type] !== undefined ||
      OBSERVATION_UPDATE_TYPES[type] !== undefined;
    return known ? null : `batch[${i}].type: unknown event type ${JSON.stringify(type)}`;
  };
  parsed.batch.forEach((raw: unknown, i: number) => {
    const why = problem(raw, i);
    if (why !== null) {
      const id = isObject(raw) && typeof raw.id === 'string' && raw.id !== '' ? raw.id : `batch[${i}]`;
      errors.push({ id, status: 400, message: why });
      return;
    }
    const e = raw as { id: string; type: string; timestamp?: string; body: Record<string, unknown> };
    const event: LangfuseEvent = { id: e.id, type: e.type, body: e.body };
    if (typeof e.timestamp === 'string') event.timestamp = e.timestamp;
    events.push(event);
  });
  return ok({ events, errors, flushPending: parsed.flushPending === true });
}

/** The observation or trace an event is about, or null for events that are about neither. */
export function langfuseEventTarget(e: LangfuseEvent): { kind: 'trace' | 'observation'; id: string } | null {
  if (LANGFUSE_IGNORED_TYPES.has(e.type)) return null;
  const bodyId = str(e.body.id);
  if (e.type === 'trace-create') return { kind: 'trace', id: bodyId ?? e.id };
  // A create without a body id describes a new observation named by its event id.
  return { kind: 'observation', id: bodyId ?? e.id };
}

/** Orders the events of one observation or trace: by timestamp, then as they came. */
function ordered(events: LangfuseEvent[]): LangfuseEvent[] {
  return events
    .map((e, i) => ({ e, i, t: timeMs(e.timestamp) ?? Number.NEGATIVE_INFINITY }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.e);
}

/** Later values win; `metadata` objects are merged key by key. */
function mergeBodies(events: LangfuseEvent[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of events) {
    for (const [k, v] of Object.entries(e.body)) {
      if (v === undefined || v === null) continue;
      if (k === 'metadata' && isObject(v) && isObject(out.metadata)) out.metadata = { ...out.metadata, ...v };
      else out[k] = v;
    }
  }
  return out;
}

function observationType(events: LangfuseEvent[], merged: Record<string, unknown>): string {
  for (const e of events) {
    const t = OBSERVATION_CREATE_TYPES[e.type];
    if (t) return t;
  }
  const legacy = str(merged.type);
  if (legacy) return legacy.toLowerCase();
  for (const e of events) {
    const t = OBSERVATION_UPDATE_TYPES[e.type];
    if (t) return t;
  }
  return 'span';
}

interface TraceContext {
  userId: string | null;
  sessionId: string | null;
  environment: string | null;
  tags: string[];
  metadata: Record<string, unknown> | null;
  name: string | null;
}

function traceContext(events: LangfuseEvent[] | undefined): TraceContext | null {
  if (!events || events.length === 0) return null;
  const t = mergeBodies(ordered(events));
  const tags: string[] = [];
  if (Array.isArray(t.tags)) for (const x of t.tags) if (typeof x === 'string') tags.push(x);
  return {
    userId: str(t.userId),
    sessionId: str(t.sessionId),
    environment: str(t.environment),
    tags,
    metadata: isObject(t.metadata) ? t.metadata : t.metadata != null ? { metadata: t.metadata } : null,
    name: str(t.name),
  };
}

function collectMetadata(...sources: Array<Record<string, unknown> | null>): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const src of sources) {
    if (!src) continue;
    for (const [k, v] of Object.entries(src)) {
      const value = langfuseText(v);
      if (value === null || k === '' || k === '__proto__') continue;
      const key = clip(k, MAX_METADATA_KEY_CHARS);
      if (!Object.hasOwn(out, key)) {
        if (n >= MAX_METADATA_KEYS) continue;
        n++;
      }
      out[key] = clip(value, MAX_METADATA_VALUE_CHARS);
    }
  }
  return out;
}

/** Usage from `usageDetails`, else the older `usage` object (`{input, output, total, unit}` or OpenAI's camelCase). */
function usageOf(o: Record<string, unknown>): RawUsage {
  if (isObject(o.usageDetails)) {
    const u = langfuseUsageFromDetails(o.usageDetails);
    if (u) return u;
  }
  if (isObject(o.usage)) {
    const unit = str(o.usage.unit);
    // Counts in characters, seconds, images or requests are not tokens.
    if (unit === null || unit.toUpperCase() === 'TOKENS') {
      const { input, output, total, promptTokens, completionTokens, totalTokens } = o.usage;
      const u = langfuseUsageFromDetails({ input, output, total, promptTokens, completionTokens, totalTokens });
      if (u) return u;
    }
  }
  return emptyRawUsage('input-excludes-cached');
}

function finiteCost(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e6 ? v : null;
}

function costOf(o: Record<string, unknown>): number | null {
  if (isObject(o.costDetails)) {
    const c = langfuseCostFromDetails(o.costDetails);
    if (c !== null) return c;
  }
  if (isObject(o.usage)) {
    const total = finiteCost(o.usage.totalCost);
    if (total !== null) return total;
    const i = finiteCost(o.usage.inputCost);
    const out = finiteCost(o.usage.outputCost);
    if (i !== null || out !== null) return (i ?? 0) + (out ?? 0);
  }
  return null;
}

function tagsOf(trace: TraceContext | null): string[] {
  const out = new Set<string>();
  for (const t of trace?.tags ?? []) {
    const s = t.trim();
    if (s !== '' && out.size < MAX_TAGS) out.add(clip(s, MAX_TAG_CHARS));
  }
  return [...out];
}

interface Timing {
  startTimeMs: number;
  endTimeMs: number | null;
}

/** Start and end of an observation, or why they cannot be stored. */
function timingOf(events: LangfuseEvent[], o: Record<string, unknown>, nowMs: number): Result<Timing, string> {
  const fallback = timeMs(events[0]?.timestamp) ?? nowMs;
  const start = timeMs(o.startTime) ?? (o.startTime === undefined ? fallback : null);
  if (start === null) return { ok: false, error: `startTime ${JSON.stringify(o.startTime)} is not an ISO 8601 time` };
  if (start < MIN_START_MS)
    return { ok: false, error: `startTime ${new Date(start).toISOString()} is before 2000-01-01` };
  if (start > nowMs + MAX_FUTURE_SKEW_MS) return { ok: false, error: 'startTime is more than 24h in the future' };
  let end: number | null = null;
  if (o.endTime !== undefined) {
    end = timeMs(o.endTime);
    if (end === null) return { ok: false, error: `endTime ${JSON.stringify(o.endTime)} is not an ISO 8601 time` };
    if (end < start) return { ok: false, error: 'endTime is before startTime' };
    if (end - start > MAX_DURATION_MS) return { ok: false, error: 'the observation lasts longer than 24h' };
  }
  return { ok: true, value: { startTimeMs: Math.floor(start), endTimeMs: end } };
}

const roundMicros = (ms: number): number => Math.round(ms * 1000) / 1000;

function toLlmCall(
  id: string,
  type: string,
  o: Record<string, unknown>,
  timing: Timing,
  trace: TraceContext | null,
  ctx: LangfuseMapContext,
): LlmCall {
  const usageRaw = usageOf(o);
  const completionStart = timeMs(o.completionStartTime);
  const ttft = completionStart === null ? null : completionStart - timing.startTimeMs;
  const isError = o.level === 'ERROR';
  const model = str(o.model);
  const obsMetadata = isObject(o.metadata) ? o.metadata : o.metadata != null ? { metadata: o.metadata } : null;
  return {
    id,
    projectId: ctx.projectId,
    environment: clip(str(o.environment) ?? trace?.environment ?? 'production', 64),
    source: 'langfuse',
    traceId: str(o.traceId),
    spanId: id,
    parentSpanId: str(o.parentObservationId),
    serviceName: null,
    provider: 'unknown',
    // Grouped by the canonical name (dated snapshots and aliases together); the name as
    // reported stays in requestModel (Langfuse records one model, not request and response).
    model: clip(canonicalModelName(model ?? 'unknown'), 256),
    requestModel: model === null ? null : clip(model, 256),
    responseModel: null,
    operation: type === 'embedding' ? 'embeddings' : 'chat',
    startTimeMs: timing.startTimeMs,
    latencyMs: timing.endTimeMs === null ? 0 : roundMicros(timing.endTimeMs - timing.startTimeMs),
    ttftMs: ttft !== null && ttft >= 0 && ttft <= MAX_DURATION_MS ? roundMicros(ttft) : null,
    status: isError ? 'error' : 'ok',
    errorType: null,
    errorMessage: isError ? clip(str(o.statusMessage) ?? 'level ERROR', 4096) : null,
    userId: trace?.userId ? clip(trace.userId, 256) : null,
    sessionId: trace?.sessionId ? clip(trace.sessionId, 256) : null,
    tags: tagsOf(trace),
    metadata: collectMetadata(trace?.metadata ?? null, obsMetadata),
    usageRaw,
    usage: normaliseUsage(usageRaw),
    reportedCostUsd: costOf(o),
    cost: { ...UNPRICED },
    promptExcerpt: truncateExcerpt(langfuseText(o.input), ctx.excerptMaxChars),
    responseExcerpt: truncateExcerpt(langfuseText(o.output), ctx.excerptMaxChars),
    ingestedAtMs: ctx.nowMs,
  };
}

function toSpan(
  id: string,
  type: string,
  o: Record<string, unknown>,
  timing: Timing,
  trace: TraceContext | null,
  ctx: LangfuseMapContext,
): Span {
  const attributes: Record<string, string | number | boolean> = { 'langfuse.observation.type': type };
  const level = str(o.level);
  if (level) attributes['langfuse.observation.level'] = level;
  if (trace?.name) attributes['langfuse.trace.name'] = clip(trace.name, 1024);
  if (trace?.userId) attributes['user.id'] = clip(trace.userId, 256);
  if (trace?.sessionId) attributes['session.id'] = clip(trace.sessionId, 256);
  const statusMessage = str(o.statusMessage);
  return {
    projectId: ctx.projectId,
    traceId: str(o.traceId) ?? id,
    spanId: id,
    parentSpanId: str(o.parentObservationId),
    serviceName: null,
    name: clip(str(o.name) ?? type, 1024),
    kind: 'internal',
    startTimeMs: timing.startTimeMs,
    durationMs: timing.endTimeMs === null ? 0 : roundMicros(timing.endTimeMs - timing.startTimeMs),
    statusCode: level === 'ERROR' ? 'error' : 'unset',
    statusMessage: statusMessage === null ? null : clip(statusMessage, 4096),
    attributes,
    ingestedAtMs: ctx.nowMs,
  };
}

/**
 * Merges and maps the events of a body. `traceEvents` may add trace events from earlier
 * requests (the caller's pending store). Never throws on parsed input.
 */
export function mapLangfuseEvents(
  events: LangfuseEvent[],
  ctx: LangfuseMapContext,
  flushPending: boolean,
): LangfuseMapOutcome {
  const observations = new Map<string, LangfuseEvent[]>();
  const traces = new Map<string, LangfuseEvent[]>();
  const seen = new Set<string>();
  for (const e of events) {
    // The same event twice (a retried batch merged with what was held) counts once.
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const target = langfuseEventTarget(e);
    if (!target) continue;
    const into = target.kind === 'trace' ? traces : observations;
    const list = into.get(target.id);
    if (list) list.push(e);
    else into.set(target.id, [e]);
  }
  const out: LangfuseMapOutcome = {
    batch: { llmCalls: [], spans: [] },
    errors: [],
    pendingObservations: new Map(),
    traces,
    completedObservationIds: [],
  };
  const traceCache = new Map<string, TraceContext | null>();
  const refuse = (evs: LangfuseEvent[], message: string) => {
    for (const e of evs) out.errors.push({ id: e.id, status: 400, message });
  };
  for (const [id, evs] of observations) {
    const sorted = ordered(evs);
    const o = mergeBodies(sorted);
    if (id.length > LANGFUSE_MAX_ID_CHARS) {
      refuse(evs, `observation id is longer than ${LANGFUSE_MAX_ID_CHARS} characters`);
      continue;
    }
    const traceId = str(o.traceId);
    if (traceId !== null && traceId.length > LANGFUSE_MAX_ID_CHARS) {
      refuse(evs, `traceId is longer than ${LANGFUSE_MAX_ID_CHARS} characters`);
      continue;
    }
    const type = observationType(sorted, o);
    const timing = timingOf(sorted, o, ctx.nowMs);
    if (!timing.ok) {
      refuse(evs, `observation ${id}: ${timing.error}`);
      continue;
    }
    const hasCreate = sorted.some((e) => OBSERVATION_CREATE_TYPES[e.type] || e.type === 'observation-create');
    // Events are points in time; other observations are done once they have ended.
    const done = type === 'event' || (timing.value.endTimeMs !== null && hasCreate);
    if (!done && !flushPending) {
      out.pendingObservations.set(id, sorted);
      continue;
    }
    let trace: TraceContext | null = null;
    if (traceId !== null) {
      if (!traceCache.has(traceId)) traceCache.set(traceId, traceContext(traces.get(traceId)));
      trace = traceCache.get(traceId) ?? null;
    }
    if (type === 'generation' || type === 'embedding')
      out.batch.llmCalls.push(toLlmCall(id, type, o, timing.value, trace, ctx));
    else out.batch.spans.push(toSpan(id, type, o, timing.value, trace, ctx));
    out.completedObservationIds.push(id);
  }
  return out;
}

/** Decodes a body (as received, or as held and merged by the route) into events. */
export function decodeLangfuseIngestion(
  body: Buffer,
  ctx: LangfuseMapContext,
): Result<LangfuseMapOutcome & { parseErrors: LangfuseEventOutcome[]; events: LangfuseEvent[] }> {
  const parsed = parseLangfuseBatch(body);
  if (!parsed.ok) return parsed;
  const mapped = mapLangfuseEvents(parsed.value.events, ctx, parsed.value.flushPending);
  return ok({ ...mapped, parseErrors: parsed.value.errors, events: parsed.value.events });
}
