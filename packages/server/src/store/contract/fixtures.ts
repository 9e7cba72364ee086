/**
 * Test data and reference computations for the store contract suites. Everything here is
 * plain TypeScript over core types so that every backend is checked against the same
 * numbers.
 */
import type {
  CallCost,
  CostSums,
  LlmCall,
  LlmCallFilter,
  Span,
  SummaryDimension,
  SummaryQuery,
} from '@reskpoints/core';
import { addCallCost, emptyCostSums, normaliseUsage, tagSetValue, UNPRICED } from '@reskpoints/core';

/** 2026-01-05T00:00:00Z: a Monday, aligned to the hour and the day. */
export const BASE_MS = Date.UTC(2026, 0, 5);
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Small deterministic PRNG (mulberry32) so that failures reproduce. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A call with every field set to a plausible value; override what the test cares about. */
export function makeLlmCall(overrides: Partial<LlmCall> & Pick<LlmCall, 'id'>): LlmCall {
  const usageRaw = overrides.usageRaw ?? {
    semantics: 'input-includes-cached' as const,
    inputTokens: 100,
    outputTokens: 20,
    cacheReadTokens: null,
    cacheWriteTokens: null,
    reasoningTokens: null,
    totalTokens: null,
  };
  return {
    projectId: 'prj_contract',
    environment: 'production',
    source: 'native',
    traceId: null,
    spanId: null,
    parentSpanId: null,
    serviceName: null,
    provider: 'openai',
    model: 'gpt-4o-mini',
    requestModel: null,
    responseModel: null,
    operation: 'chat',
    startTimeMs: BASE_MS,
    latencyMs: 250,
    ttftMs: null,
    status: 'ok',
    errorType: null,
    errorMessage: null,
    userId: null,
    sessionId: null,
    tags: [],
    metadata: {},
    usageRaw,
    usage: normaliseUsage(usageRaw),
    reportedCostUsd: null,
    cost: { ...UNPRICED },
    promptExcerpt: null,
    responseExcerpt: null,
    ingestedAtMs: BASE_MS + 1000,
    ...overrides,
  };
}

export function makeSpan(overrides: Partial<Span> & Pick<Span, 'traceId' | 'spanId'>): Span {
  return {
    projectId: 'prj_contract',
    parentSpanId: null,
    serviceName: 'checkout',
    name: 'GET /cart',
    kind: 'server',
    startTimeMs: BASE_MS,
    durationMs: 12.5,
    statusCode: 'unset',
    statusMessage: null,
    attributes: {},
    ingestedAtMs: BASE_MS + 1000,
    ...overrides,
  };
}

export const MODELS = [
  { provider: 'openai', model: 'gpt-4o' },
  { provider: 'openai', model: 'gpt-4o-mini' },
  { provider: 'anthropic', model: 'claude-sonnet-4' },
] as const;

/**
 * A varied population of calls over `hours` hours from BASE_MS: several projects, models,
 * users (some null), errors, unknown costs, streaming and non-streaming calls. Latencies
 * are log-normal-ish and at least 5 ms so relative tolerances are meaningful.
 */
export function generateCalls(count: number, options: { seed?: number; hours?: number; idPrefix?: string } = {}) {
  const random = seededRandom(options.seed ?? 42);
  const hours = options.hours ?? 6;
  const prefix = options.idPrefix ?? 'gen';
  const calls: LlmCall[] = [];
  for (let i = 0; i < count; i++) {
    const m = MODELS[Math.floor(random() * MODELS.length)]!;
    const userIndex = Math.floor(random() * 21);
    const isError = random() < 0.08;
    const streaming = random() < 0.6;
    const latencyMs = Math.round((5 + Math.exp(4 + random() * 4)) * 1000) / 1000;
    const input = Math.floor(random() * 5000);
    const output = Math.floor(random() * 800);
    const cacheRead = random() < 0.3 ? Math.floor(input * 0.5) : null;
    const usageRaw = {
      semantics: 'input-includes-cached' as const,
      inputTokens: input,
      outputTokens: output,
      cacheReadTokens: cacheRead,
      cacheWriteTokens: random() < 0.1 ? 64 : null,
      reasoningTokens: random() < 0.2 ? Math.floor(output / 2) : null,
      totalTokens: null,
    };
    calls.push(
      makeLlmCall({
        id: `${prefix}-${String(i).padStart(6, '0')}`,
        projectId: random() < 0.8 ? 'prj_a' : 'prj_b',
        environment: random() < 0.7 ? 'production' : 'staging',
        provider: m.provider,
        model: m.model,
        operation: random() < 0.9 ? 'chat' : 'embeddings',
        startTimeMs: BASE_MS + Math.floor(random() * hours * HOUR_MS),
        latencyMs,
        ttftMs: streaming ? Math.round(latencyMs * (0.1 + random() * 0.3) * 1000) / 1000 : null,
        status: isError ? 'error' : 'ok',
        errorType: isError ? 'RateLimitError' : null,
        errorMessage: isError ? 'rate limited' : null,
        userId: userIndex === 20 ? null : `user-${userIndex}`,
        sessionId: `sess-${Math.floor(random() * 50)}`,
        serviceName: random() < 0.5 ? 'chat-api' : 'search-api',
        traceId: `trace-${i % 97}`,
        tags: random() < 0.5 ? ['beta'] : random() < 0.5 ? ['beta', 'eu'] : [],
        usageRaw,
        usage: normaliseUsage(usageRaw),
        ...randomCost(random),
      }),
    );
  }
  return calls;
}

/**
 * A priced call (85%) with parts that add up to its total, or an unpriced one; about half
 * report a cost of their own, some of which disagree with the computed one.
 */
export function randomCost(random: () => number): Pick<LlmCall, 'cost' | 'reportedCostUsd'> {
  const estimated = random() < 0.1;
  const part = () => Math.round(random() * 1e6) / 1e9;
  let cost: CallCost = { ...UNPRICED, tokensEstimated: estimated };
  if (random() < 0.85) {
    const parts = { inputUsd: part(), outputUsd: part(), cacheReadUsd: part(), cacheWriteUsd: 0, reasoningUsd: part() };
    const requestUsd = random() < 0.2 ? 0.001 : 0;
    cost = {
      ...parts,
      cacheWriteUsd: random() < 0.2 ? part() : 0,
      requestUsd,
      totalUsd: 0,
      priceId: random() < 0.5 ? 'openai/gpt-4o' : 'anthropic/claude-sonnet-4',
      priceVersion: String(1 + Math.floor(random() * 3)),
      tier: random() < 0.1 ? 'batch' : null,
      tokensEstimated: estimated,
    };
    cost.totalUsd =
      cost.inputUsd + cost.outputUsd + cost.cacheReadUsd + cost.cacheWriteUsd + cost.reasoningUsd + cost.requestUsd;
  }
  const r = random();
  const reportedCostUsd =
    r < 0.3 ? (cost.totalUsd ?? Math.round(random() * 1e6) / 1e9) : r < 0.5 ? Math.round(random() * 1e6) / 1e9 : null;
  return { cost, reportedCostUsd };
}

export function matchesFilter(c: LlmCall, f: LlmCallFilter): boolean {
  const anyOf = <T>(list: T[] | undefined, v: T) => list === undefined || list.includes(v);
  return (
    anyOf(f.projectIds, c.projectId) &&
    anyOf(f.environments, c.environment) &&
    anyOf(f.providers, c.provider) &&
    anyOf(f.models, c.model) &&
    anyOf(f.operations, c.operation) &&
    anyOf(f.statuses, c.status) &&
    (f.userIds === undefined || (c.userId !== null && f.userIds.includes(c.userId))) &&
    (f.sessionIds === undefined || (c.sessionId !== null && f.sessionIds.includes(c.sessionId))) &&
    (f.services === undefined || (c.serviceName !== null && f.services.includes(c.serviceName))) &&
    (f.tags === undefined || f.tags.every((t) => c.tags.includes(t))) &&
    (f.traceId === undefined || c.traceId === f.traceId)
  );
}

export function dimensionValue(c: LlmCall, d: SummaryDimension): string | null {
  switch (d) {
    case 'project':
      return c.projectId;
    case 'environment':
      return c.environment;
    case 'provider':
      return c.provider;
    case 'model':
      return c.model;
    case 'operation':
      return c.operation;
    case 'status':
      return c.status;
    case 'user':
      return c.userId;
    case 'session':
      return c.sessionId;
    case 'service':
      return c.serviceName;
    case 'tag':
      return tagSetValue(c.tags);
  }
}

export interface ExpectedGroup extends CostSums {
  bucketStartMs: number;
  group: Partial<Record<SummaryDimension, string | null>>;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  latencies: number[];
  ttfts: number[];
}

/** Key of a (bucket, group) pair, equal for expected and actual rows. */
export function groupKey(
  bucketStartMs: number,
  group: Partial<Record<SummaryDimension, string | null>>,
  dims: SummaryDimension[],
) {
  return JSON.stringify([bucketStartMs, ...dims.map((d) => group[d] ?? null)]);
}

/** The summary computed the slow, obvious way, without orderBy/limit. */
export function expectedSummary(calls: LlmCall[], q: SummaryQuery): Map<string, ExpectedGroup> {
  const out = new Map<string, ExpectedGroup>();
  for (const c of calls) {
    if (c.startTimeMs < q.fromMs || c.startTimeMs >= q.toMs || !matchesFilter(c, q.filter)) continue;
    const bucketStartMs = q.intervalMs === null ? q.fromMs : Math.floor(c.startTimeMs / q.intervalMs) * q.intervalMs;
    const group: Partial<Record<SummaryDimension, string | null>> = {};
    for (const d of q.groupBy) group[d] = dimensionValue(c, d);
    const key = groupKey(bucketStartMs, group, q.groupBy);
    let g = out.get(key);
    if (!g) {
      g = {
        bucketStartMs,
        group,
        requests: 0,
        errors: 0,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        totalTokens: 0,
        ...emptyCostSums(),
        latencies: [],
        ttfts: [],
      };
      out.set(key, g);
    }
    g.requests++;
    if (c.status === 'error') g.errors++;
    g.inputTokens += c.usage.inputTokens;
    g.outputTokens += c.usage.outputTokens;
    g.cacheReadTokens += c.usage.cacheReadTokens;
    g.cacheWriteTokens += c.usage.cacheWriteTokens;
    g.reasoningTokens += c.usage.reasoningTokens;
    g.totalTokens += c.usage.totalTokens;
    addCallCost(g, c);
    g.latencies.push(c.latencyMs);
    if (c.ttftMs !== null) g.ttfts.push(c.ttftMs);
  }
  return out;
}

/**
 * Whether `actual` is an acceptable `p`-quantile of `values` within relative tolerance
 * `tol`. Backends define quantiles differently (interpolated, nearest rank, histogram
 * bucket), so anything between the neighbours of the interpolated rank is accepted.
 */
export function quantileBounds(values: number[], p: number, tol: number): { low: number; high: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const pos = p * (n - 1);
  const low = sorted[Math.max(0, Math.floor(pos) - 1)]!;
  const high = sorted[Math.min(n - 1, Math.ceil(pos) + 1)]!;
  return { low: low * (1 - tol) - 0.001, high: high * (1 + tol) + 0.001 };
}
