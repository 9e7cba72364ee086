/**
 * Query benchmark for the embedded telemetry store.
 *
 * Loads N LLM calls (default 10,000,000) spanning 90 days into a DuckDB file in the OS temp
 * directory through DuckDbTelemetryStore.appendBatch (the real commit path), then runs each
 * query 20 times and prints p50/p95.
 *
 *   npx tsx bench/query.ts [--calls 1000000] [--batch 50000] [--runs 20] [--keep]
 *   BENCH_CALLS=1000000 npx tsx bench/query.ts
 *   npx tsx bench/query.ts --file /tmp/…/telemetry.duckdb   (queries only, on a kept file;
 *                                                            pass the --calls it was made with)
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CallCost, type LlmCall, type SummaryQuery, UNPRICED } from '@reskpoints/core';
import { loadCatalogue } from '../packages/server/src/cost/catalogue.js';
import { IndexedPriceBook } from '../packages/server/src/cost/price-book.js';
import { repriced } from '../packages/server/src/cost/price-calls.js';
import { DuckDbTelemetryStore } from '../packages/server/src/store/duckdb/duckdb-telemetry-store.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string' },
    batch: { type: 'string' },
    runs: { type: 'string' },
    keep: { type: 'boolean', default: false },
    file: { type: 'string' },
  },
});
const totalCalls = Number(args.calls ?? process.env['BENCH_CALLS'] ?? 10_000_000);
const batchSize = Number(args.batch ?? process.env['BENCH_BATCH'] ?? 50_000);
const runs = Number(args.runs ?? process.env['BENCH_RUNS'] ?? 20);

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const SPAN_DAYS = 90;
const END_MS = Date.UTC(2026, 3, 1);
const START_MS = END_MS - SPAN_DAYS * DAY_MS;

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

/** Calls `from..from+count` of the data set, in time order, deterministic per index. */
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

function generate(from: number, count: number): LlmCall[] {
  const random = rng(from + 1);
  const out: LlmCall[] = new Array(count);
  const stepMs = (SPAN_DAYS * DAY_MS) / totalCalls;
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

async function main(): Promise<void> {
  const reuse = args.file !== undefined;
  const dir = reuse ? dirname(args.file!) : await mkdtemp(join(tmpdir(), 'reskpoints-bench-query-'));
  const path = args.file ?? join(dir, 'telemetry.duckdb');
  console.log(`bench:query calls=${totalCalls} batch=${batchSize} file=${path}`);
  const store = await DuckDbTelemetryStore.open({ path });
  try {
    await store.migrate();
    if (!reuse) await load(store, path);
    await runQueries(store);
    await runRecost(store);
  } finally {
    await store.close();
    if (args.keep || reuse) console.log(`kept ${path}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

async function load(store: DuckDbTelemetryStore, path: string): Promise<void> {
  let appendMs = 0;
  let generateMs = 0;
  const loadStart = performance.now();
  let lastReport = loadStart;
  for (let from = 0; from < totalCalls; from += batchSize) {
    const g0 = performance.now();
    const batch = generate(from, Math.min(batchSize, totalCalls - from));
    const g1 = performance.now();
    const res = await store.appendBatch({ llmCalls: batch, spans: [] });
    const g2 = performance.now();
    if (res.llmCallsInserted !== batch.length) throw new Error(`inserted ${res.llmCallsInserted} of ${batch.length}`);
    generateMs += g1 - g0;
    appendMs += g2 - g1;
    const done = from + batch.length;
    if (g2 - lastReport > 5000 || done === totalCalls) {
      lastReport = g2;
      console.log(
        `load ${done}/${totalCalls} calls, append ${Math.round(done / (appendMs / 1000))} calls/s (last batch ${Math.round(g2 - g1)} ms)`,
      );
    }
  }
  const loadMs = performance.now() - loadStart;
  await store.compact();
  const sizeMb = (await stat(path)).size / 1e6;
  console.log(
    `load rate ${Math.round(totalCalls / (appendMs / 1000))} calls/s in appendBatch (${(appendMs / 1000).toFixed(1)} s; ` +
      `generating took ${(generateMs / 1000).toFixed(1)} s, wall ${(loadMs / 1000).toFixed(1)} s); file ${sizeMb.toFixed(0)} MB`,
  );
}

async function runQueries(store: DuckDbTelemetryStore): Promise<void> {
  const d30 = END_MS - 30 * DAY_MS;
  const queries: Array<[string, SummaryQuery]> = [
    ['30d-by-model-by-day', { fromMs: d30, toMs: END_MS, filter: {}, groupBy: ['model'], intervalMs: DAY_MS }],
    [
      '30d-top20-users-by-requests',
      { fromMs: d30, toMs: END_MS, filter: {}, groupBy: ['user'], intervalMs: null, orderBy: 'requests', limit: 20 },
    ],
    [
      '30d-top20-users-by-cost',
      { fromMs: d30, toMs: END_MS, filter: {}, groupBy: ['user'], intervalMs: null, orderBy: 'costUsd', limit: 20 },
    ],
    [
      '24h-by-model-by-hour',
      { fromMs: END_MS - DAY_MS, toMs: END_MS, filter: {}, groupBy: ['model'], intervalMs: HOUR_MS },
    ],
    [
      '90d-by-project-provider',
      { fromMs: START_MS, toMs: END_MS, filter: {}, groupBy: ['project', 'provider'], intervalMs: null },
    ],
    [
      '7d-one-project-by-model-by-hour',
      {
        fromMs: END_MS - 7 * DAY_MS,
        toMs: END_MS,
        filter: { projectIds: ['prj_search'] },
        groupBy: ['model'],
        intervalMs: HOUR_MS,
      },
    ],
    [
      '30d-by-model-by-day-exact (tag filter)',
      { fromMs: d30, toMs: END_MS, filter: { tags: ['beta'] }, groupBy: ['model'], intervalMs: DAY_MS },
    ],
    [
      '30d-cost-by-model-and-project (every cost field)',
      { fromMs: d30, toMs: END_MS, filter: {}, groupBy: ['model', 'project'], intervalMs: null, orderBy: 'costUsd' },
    ],
    ['30d-cost-total-by-day', { fromMs: d30, toMs: END_MS, filter: {}, groupBy: [], intervalMs: DAY_MS }],
  ];
  for (const [name, q] of queries) {
    const times: number[] = [];
    let rows = 0;
    let precision = '';
    for (let r = 0; r < runs + 1; r++) {
      const t0 = performance.now();
      const res = await store.summarize(q);
      const t = performance.now() - t0;
      if (r > 0) times.push(t); // the first run warms caches
      rows = res.rows.length;
      precision = res.precision;
    }
    console.log(`query ${name} p50=${pct(times, 0.5)}ms p95=${pct(times, 0.95)}ms rows=${rows} precision=${precision}`);
  }
  const listTimes: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await store.listLlmCalls({ fromMs: d30, toMs: END_MS, filter: { userIds: ['user-42'] }, limit: 50 });
    listTimes.push(performance.now() - t0);
  }
  console.log(`query list-50-calls-of-one-user p50=${pct(listTimes, 0.5)}ms p95=${pct(listTimes, 0.95)}ms`);
}

/**
 * Re-costing throughput: one day of calls priced again with the built-in catalogue, written
 * back and its rollups rebuilt (the bench's model names are priced where the catalogue knows
 * them). The file is left as it was only in cost: re-costing is idempotent.
 */
async function runRecost(store: DuckDbTelemetryStore): Promise<void> {
  const book = new IndexedPriceBook({ catalogue: loadCatalogue(), userEntries: [], aliases: [] });
  const t0 = performance.now();
  const p = await store.recost({ fromMs: END_MS - DAY_MS, toMs: END_MS }, (c) => repriced(c, book));
  const s = (performance.now() - t0) / 1000;
  console.log(
    `recost 1 day: ${p.callsRecosted} calls over ${p.periodsTotal} hours in ${s.toFixed(1)} s = ${Math.round(p.callsRecosted / s)} calls/s`,
  );
}

function pct(values: number[], p: number): string {
  const s = [...values].sort((a, b) => a - b);
  return (s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? 0).toFixed(1);
}

await main();
