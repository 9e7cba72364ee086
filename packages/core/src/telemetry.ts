/**
 * Normalised telemetry events: what every ingest source ends in and what every
 * TelemetryStore stores. Times are epoch milliseconds; durations are milliseconds.
 */

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
  /** Cost reported by the source, if any. The cost engine computes its own. */
  costUsd: number | null;
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
}
