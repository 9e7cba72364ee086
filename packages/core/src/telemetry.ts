import type { CallCost } from './cost.js';

/**
 * Normalised telemetry events: what every ingest source ends in and what every
 * TelemetryStore stores. Times are epoch milliseconds; durations are milliseconds.
 */
import type { LogRecord } from './logs.js';

/** How a source counts input tokens. OTel counts cached input inside `input_tokens`; Langfuse does not. */
export type UsageSemantics = 'input-includes-cached' | 'input-excludes-cached';

/** Token counts exactly as the source reported them (null = not reported). */
export interface RawUsage {
  semantics: UsageSemantics;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheWriteTokens: number | null;
  reasoningTokens: number | null;
  totalTokens: number | null;
}

/**
 * Normalised usage. `inputTokens` is every input token, cached or not (so
 * `inputTokens - cacheReadTokens - cacheWriteTokens` were billed at the plain input price);
 * `outputTokens` includes `reasoningTokens`; `totalTokens = inputTokens + outputTokens`.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
}

export type CallStatus = 'ok' | 'error';

export type TelemetrySource = 'native' | 'otlp' | 'langfuse' | 'sdk' | 'demo';

export interface LlmCall {
  /** Event id; the idempotency key within a project. */
  id: string;
  projectId: string;
  environment: string;
  source: TelemetrySource;
  traceId: string | null;
  spanId: string | null;
  parentSpanId: string | null;
  serviceName: string | null;
  provider: string;
  /**
   * The canonical model name calls are grouped and filtered by (`canonicalModelName` of the
   * response model if reported, else of the request model): a failed call, which has only
   * the requested alias, groups with its successful siblings, which report a dated snapshot.
   */
  model: string;
  /** The model the request asked for, as reported. */
  requestModel: string | null;
  /** The model that answered, as reported (a dated snapshot, say); null when not reported. */
  responseModel: string | null;
  /** e.g. chat, text_completion, embeddings, execute_tool. */
  operation: string;
  startTimeMs: number;
  latencyMs: number;
  /** Time to first token, streaming calls only. */
  ttftMs: number | null;
  status: CallStatus;
  errorType: string | null;
  errorMessage: string | null;
  userId: string | null;
  sessionId: string | null;
  tags: string[];
  metadata: Record<string, string>;
  usageRaw: RawUsage;
  usage: Usage;
  /** Cost as the source reported it, if it did; kept beside the computed `cost` so differences are countable. */
  reportedCostUsd: number | null;
  /** Cost computed from `usage` and the price book at ingest (or by a later re-costing). */
  cost: CallCost;
  promptExcerpt: string | null;
  responseExcerpt: string | null;
  ingestedAtMs: number;
}

export type SpanStatusCode = 'unset' | 'ok' | 'error';

/** A non-LLM span, kept for the service graph and for traces. */
export interface Span {
  projectId: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  serviceName: string | null;
  name: string;
  kind: string;
  startTimeMs: number;
  durationMs: number;
  statusCode: SpanStatusCode;
  statusMessage: string | null;
  attributes: Record<string, string | number | boolean>;
  ingestedAtMs: number;
}

/** One unit of group commit: everything in it becomes durable together. */
export interface TelemetryBatch {
  llmCalls: LlmCall[];
  spans: Span[];
  /** Log records; absent means none. */
  logs?: LogRecord[];
}

/**
 * The kinds of event a batch carries. Code that handles batches generically (queueing, group
 * commit, isolating refused events, dead letters, the bus) goes through the helpers below, so a
 * new kind is a field on `TelemetryBatch`, a line in each helper, and a writer in each store.
 */
export type TelemetryEvent =
  | { kind: 'llmCall'; event: LlmCall }
  | { kind: 'span'; event: Span }
  | { kind: 'log'; event: LogRecord };

export function emptyBatch(): TelemetryBatch {
  return { llmCalls: [], spans: [], logs: [] };
}

/** Events in a batch, all kinds. */
export function batchEventCount(b: TelemetryBatch): number {
  return b.llmCalls.length + b.spans.length + (b.logs?.length ?? 0);
}

/** The batch's events as one list, calls first, then spans, then logs. */
export function batchEvents(b: TelemetryBatch): TelemetryEvent[] {
  const out: TelemetryEvent[] = [];
  for (const e of b.llmCalls) out.push({ kind: 'llmCall', event: e });
  for (const e of b.spans) out.push({ kind: 'span', event: e });
  for (const e of b.logs ?? []) out.push({ kind: 'log', event: e });
  return out;
}

export function batchFromEvents(events: readonly TelemetryEvent[]): TelemetryBatch {
  const b = emptyBatch();
  for (const x of events) {
    if (x.kind === 'llmCall') b.llmCalls.push(x.event);
    else if (x.kind === 'span') b.spans.push(x.event);
    else (b.logs as LogRecord[]).push(x.event);
  }
  return b;
}

/** One batch holding every event of `batches`, in order. */
export function concatBatches(batches: readonly TelemetryBatch[]): TelemetryBatch {
  if (batches.length === 1) return batches[0] as TelemetryBatch;
  const b = emptyBatch();
  for (const x of batches) {
    for (const e of x.llmCalls) b.llmCalls.push(e);
    for (const e of x.spans) b.spans.push(e);
    if (x.logs) for (const e of x.logs) (b.logs as LogRecord[]).push(e);
  }
  return b;
}
