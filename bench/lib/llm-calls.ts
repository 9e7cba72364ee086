/**
 * The synthetic LLM-call data set the benchmarks load: N calls evenly spread over a span of
 * days ending at `endMs`, six models of three providers, five projects, 5,000 users,
 * 3% errors, 3% unpriced, deterministic per index. Loaded through
 * DuckDbTelemetryStore.appendBatch, the store's bulk path (one multi-row append per table, its
 * hourly rollups maintained in the same transaction).
 */
import { type CallCost, type LlmCall, UNPRICED } from '@reskpoints/core';
import type { DuckDbTelemetryStore } from '../../packages/server/src/store/duckdb/duckdb-telemetry-store.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export interface CallSet {
  totalCalls: number;
  /** The last call starts just before this, epoch ms. */
  endMs: number;
  spanDays: number;
}

const MODELS = [
  ['openai', 'gpt-4o', 2.5e-6, 10e-6],
  ['openai', 'gpt-4o-mini', 0.15e-6, 0.6e-6],
  ['anthropic', 'claude-sonnet-4', 3e-6, 15e-6],
  ['anthropic', 'claude-haiku-3.5', 0.8e-6, 4e-6],
  ['google', 'gemini-2.5-pro', 1.25e-6, 10e-6],
  ['google', 'gemini-2.5-flash', 0.3e-6, 2.5e-6],
] as const;
const PROJECTS = ['prj_checkout', 'prj_search', 'prj_support', 'prj_docs', 'prj_internal'];
const USERS = 5000;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function priced(inputUsd: number, outputUsd: number): CallCost {
  return {
    ...{ ...UNPRICED },
    totalUsd: inputUsd + outputUsd,
    inputUsd,
    outputUsd,
    priceId: 'bench',
    priceVersion: '1',
  };
}

/** Calls `from..from+count` of the data set, in time order. */
export function generateCalls(set: CallSet, from: number, count: number): LlmCall[] {
  const totalCalls = set.totalCalls;
  const START_MS = set.endMs - set.spanDays * DAY_MS;
  const random = rng(from + 1);
  const out: LlmCall[] = new Array(count);
  const stepMs = (set.spanDays * DAY_MS) / totalCalls;
  for (let k = 0; k < count; k++) {
    const i = from + k;
    const m = MODELS[Math.floor(random() * random() * MODELS.length)]!;
    const input = Math.floor(200 + random() * 4000);
    const output = Math.floor(20 + random() * 800);
    const cacheRead = random() < 0.3 ? Math.floor(input * 0.6) : 0;
    const isError = random() < 0.03;
    const streaming = random() < 0.5;
    const latencyMs = Math.round(Math.exp(5 + random() * 3.5 + (m[1].includes('pro') ? 0.5 : 0)));
    const startTimeMs = Math.floor(START_MS + i * stepMs);
    out[k] = {
      id: `call-${i.toString(36)}`,
      projectId: PROJECTS[i % PROJECTS.length]!,
      environment: random() < 0.8 ? 'production' : 'staging',
      source: 'native',
      traceId: random() < 0.5 ? `${i.toString(16).padStart(32, '0')}` : null,
      spanId: null,
      parentSpanId: null,
      serviceName: random() < 0.5 ? 'chat-api' : 'search-api',
      provider: m[0],
      model: m[1],
      requestModel: null,
      responseModel: null,
      operation: random() < 0.9 ? 'chat' : 'embeddings',
      startTimeMs,
      latencyMs,
      ttftMs: streaming ? Math.round(latencyMs * 0.2) : null,
      status: isError ? 'error' : 'ok',
      errorType: isError ? 'RateLimitError' : null,
      errorMessage: null,
      userId: `user-${Math.floor(random() * random() * USERS)}`,
      sessionId: `sess-${Math.floor(random() * 100_000)}`,
      tags: random() < 0.2 ? ['beta'] : [],
      metadata: random() < 0.2 ? { feature: 'summarise' } : {},
      usageRaw: {
        semantics: 'input-includes-cached',
        inputTokens: input,
        outputTokens: output,
        cacheReadTokens: cacheRead || null,
        cacheWriteTokens: null,
        reasoningTokens: null,
        totalTokens: null,
      },
      usage: {
        inputTokens: input,
        outputTokens: output,
        cacheReadTokens: cacheRead,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        totalTokens: input + output,
      },
      reportedCostUsd: null,
      cost: random() < 0.97 ? priced(input * m[2], output * m[3]) : { ...UNPRICED },
      promptExcerpt: null,
      responseExcerpt: null,
      ingestedAtMs: startTimeMs + 1000,
    };
  }
  return out;
}

/**
 * Appends the whole set in batches of `batchSize`, logging progress every 5 s; returns the time
 * spent appending and generating, ms.
 */
export async function loadCalls(
  store: DuckDbTelemetryStore,
  set: CallSet,
  batchSize: number,
  log: (line: string) => void = console.log,
): Promise<{ appendMs: number; generateMs: number }> {
  let appendMs = 0;
  let generateMs = 0;
  let lastReport = performance.now();
  for (let from = 0; from < set.totalCalls; from += batchSize) {
    const g0 = performance.now();
    const batch = generateCalls(set, from, Math.min(batchSize, set.totalCalls - from));
    const g1 = performance.now();
    const res = await store.appendBatch({ llmCalls: batch, spans: [] });
    const g2 = performance.now();
    if (res.llmCallsInserted !== batch.length) throw new Error(`inserted ${res.llmCallsInserted} of ${batch.length}`);
    generateMs += g1 - g0;
    appendMs += g2 - g1;
    const done = from + batch.length;
    if (g2 - lastReport > 5000 || done === set.totalCalls) {
      lastReport = g2;
      log(
        `load ${done}/${set.totalCalls} calls, append ${Math.round(done / (appendMs / 1000))} calls/s (last batch ${Math.round(g2 - g1)} ms)`,
      );
    }
  }
  return { appendMs, generateMs };
}
