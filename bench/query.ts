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
import type { SummaryQuery } from '@reskpoints/core';
import { loadCatalogue } from '../packages/server/src/cost/catalogue.js';
import { IndexedPriceBook } from '../packages/server/src/cost/price-book.js';
import { repriced } from '../packages/server/src/cost/price-calls.js';
import { DuckDbTelemetryStore } from '../packages/server/src/store/duckdb/duckdb-telemetry-store.js';
import { type CallSet, DAY_MS, HOUR_MS, loadCalls } from './lib/llm-calls.js';

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

const SPAN_DAYS = 90;
const END_MS = Date.UTC(2026, 3, 1);
const START_MS = END_MS - SPAN_DAYS * DAY_MS;
const CALLS: CallSet = { totalCalls, endMs: END_MS, spanDays: SPAN_DAYS };

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
  const loadStart = performance.now();
  const { appendMs, generateMs } = await loadCalls(store, CALLS, batchSize);
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
