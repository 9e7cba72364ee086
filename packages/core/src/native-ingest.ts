import { z } from 'zod';
import { UNPRICED } from './cost.js';
import type { FieldIssue } from './errors.js';
import { canonicalModelName } from './model-name.js';
import type { LlmCall, RawUsage } from './telemetry.js';
import { normaliseUsage } from './usage.js';

/** Largest batch the native API takes in one request. */
export const NATIVE_MAX_BATCH = 10_000;

const shortString = (max = 256) => z.string().min(1).max(max);
const tokenCount = z.number().int().nonnegative().max(1e12);
const timestamp = z.union([
  z.number().nonnegative().max(1e14).describe('epoch milliseconds'),
  z.iso.datetime({ offset: true }).describe('RFC 3339 date-time'),
]);

export const nativeUsageSchema = z
  .object({
    inputTokens: tokenCount.optional(),
    outputTokens: tokenCount.optional(),
    cacheReadTokens: tokenCount.optional(),
    cacheWriteTokens: tokenCount.optional(),
    reasoningTokens: tokenCount.optional(),
    totalTokens: tokenCount.optional(),
    inputIncludesCached: z
      .boolean()
      .default(true)
      .describe(
        'true when inputTokens already counts cache read/write tokens (OpenAI, OTel); false for Anthropic/Langfuse style',
      ),
  })
  .describe('Token usage as the provider reported it');

export const nativeLlmCallSchema = z
  .object({
    id: shortString(128).describe('Event id, unique per project; retried events with the same id are stored once'),
    timestamp: timestamp.describe('Start of the call'),
    provider: shortString(128).describe('e.g. openai, anthropic, aws.bedrock'),
    model: shortString(256).describe(
      'Model that answered, as reported (kept as responseModel); calls are grouped by its canonical name, without snapshot dates or deployment prefixes',
    ),
    requestModel: shortString(256).optional().describe('Model the request asked for, as reported'),
    operation: shortString(64).default('chat'),
    environment: shortString(64).default('production'),
    latencyMs: z.number().nonnegative().max(864e5).optional().describe('Duration of the call'),
    endTimestamp: timestamp.optional().describe('End of the call; used when latencyMs is absent'),
    ttftMs: z.number().nonnegative().max(864e5).optional().describe('Time to first token (streaming)'),
    status: z.enum(['ok', 'error']).optional(),
    error: z.object({ type: shortString(256).optional(), message: z.string().max(4096).optional() }).optional(),
    usage: nativeUsageSchema.optional(),
    userId: shortString(256).optional(),
    sessionId: shortString(256).optional(),
    traceId: shortString(64).optional(),
    spanId: shortString(64).optional(),
    parentSpanId: shortString(64).optional(),
    serviceName: shortString(256).optional(),
    tags: z.array(shortString(200)).max(50).optional(),
    metadata: z.record(z.string().max(200), z.union([z.string().max(2000), z.number(), z.boolean()])).optional(),
    costUsd: z.number().nonnegative().max(1e6).optional().describe('Cost computed by the caller, if any'),
    prompt: z.string().optional().describe('Prompt excerpt; truncated to the configured cap'),
    response: z.string().optional().describe('Response excerpt; truncated to the configured cap'),
  })
  .describe('One LLM call');

export const nativeIngestBodySchema = z.object({
  batch: z.array(nativeLlmCallSchema).min(1).max(NATIVE_MAX_BATCH),
});

export type NativeLlmCall = z.output<typeof nativeLlmCallSchema>;
export type NativeIngestBody = z.output<typeof nativeIngestBodySchema>;

export function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

export function toEpochMs(t: number | string): number {
  return typeof t === 'number' ? t : Date.parse(t);
}

export function truncateExcerpt(text: string | undefined | null, maxChars: number): string | null {
  if (text == null || maxChars <= 0) return null;
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}…`;
}

export interface ToLlmCallContext {
  projectId: string;
  nowMs: number;
  excerptMaxChars: number;
}

/** Maps one validated native event to the normalised call. */
export function nativeToLlmCall(e: NativeLlmCall, ctx: ToLlmCallContext): LlmCall {
  const startTimeMs = toEpochMs(e.timestamp);
  const latencyMs = e.latencyMs ?? (e.endTimestamp != null ? Math.max(0, toEpochMs(e.endTimestamp) - startTimeMs) : 0);
  const u = e.usage;
  const usageRaw: RawUsage = {
    semantics: u?.inputIncludesCached === false ? 'input-excludes-cached' : 'input-includes-cached',
    inputTokens: u?.inputTokens ?? null,
    outputTokens: u?.outputTokens ?? null,
    cacheReadTokens: u?.cacheReadTokens ?? null,
    cacheWriteTokens: u?.cacheWriteTokens ?? null,
    reasoningTokens: u?.reasoningTokens ?? null,
    totalTokens: u?.totalTokens ?? null,
  };
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.metadata ?? {})) metadata[k] = String(v);
  return {
    id: e.id,
    projectId: ctx.projectId,
    environment: e.environment,
    source: 'native',
    traceId: e.traceId ?? null,
    spanId: e.spanId ?? null,
    parentSpanId: e.parentSpanId ?? null,
    serviceName: e.serviceName ?? null,
    provider: e.provider,
    model: canonicalModelName(e.model),
    requestModel: e.requestModel ?? null,
    responseModel: e.model,
    operation: e.operation,
    startTimeMs,
    latencyMs,
    ttftMs: e.ttftMs ?? null,
    status: e.status ?? (e.error ? 'error' : 'ok'),
    errorType: e.error?.type ?? null,
    errorMessage: e.error?.message ?? null,
    userId: e.userId ?? null,
    sessionId: e.sessionId ?? null,
    tags: e.tags ?? [],
    metadata,
    usageRaw,
    usage: normaliseUsage(usageRaw),
    reportedCostUsd: e.costUsd ?? null,
    cost: { ...UNPRICED },
    promptExcerpt: truncateExcerpt(e.prompt, ctx.excerptMaxChars),
    responseExcerpt: truncateExcerpt(e.response, ctx.excerptMaxChars),
    ingestedAtMs: ctx.nowMs,
  };
}
