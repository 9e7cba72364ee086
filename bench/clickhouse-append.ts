/**
 * What the cross-node write lock costs ClickHouse appends. Run (services from
 * scripts/cluster-services.sh): npx tsx bench/clickhouse-append.ts [--batches 12] [--calls 5000]
 *
 * Appends `batches` batches of `calls` calls of one UTC day (live traffic: every writer wants
 * the same day) in three set-ups, and prints one line each with calls/s and ms per append:
 * - one store without a write lock (a single worker, as before the lock);
 * - one store with a PostgreSQL write lock (the lock's round trips on every append);
 * - two stores with write locks appending at once (two workers taking turns on the day).
 * Each set-up uses its own ClickHouse database, dropped afterwards.
 */
import { parseArgs } from 'node:util';
import { randomHex } from '@reskpoints/core';
import pg from 'pg';
import { ClickHouseTelemetryStore } from '../packages/server/src/store/clickhouse/clickhouse-telemetry-store.js';
import { generateCalls } from '../packages/server/src/store/contract/fixtures.js';
import { PgWriteLock } from '../packages/server/src/store/postgres/pg-write-lock.js';

const { values: args } = parseArgs({
  options: { batches: { type: 'string', default: '12' }, calls: { type: 'string', default: '5000' } },
});
const BATCHES = Number(args.batches);
const CALLS = Number(args.calls);
const CLICKHOUSE_URL = 'http://127.0.0.1:8123';
const PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOCK_SCHEMA = `rp_bench_wlock_${randomHex(4)}`;

const batches = Array.from({ length: BATCHES }, (_, b) => ({
  llmCalls: generateCalls(CALLS, { seed: 1000 + b, idPrefix: `bench-${b}`, hours: 6 }),
  spans: [],
}));

async function run(label: string, writers: number, locked: boolean): Promise<void> {
  const database = `rp_bench_${randomHex(4)}`;
  const stores = Array.from(
    { length: writers },
    () =>
      new ClickHouseTelemetryStore({
        url: CLICKHOUSE_URL,
        database,
        ...(locked ? { writeLock: new PgWriteLock({ url: PG_URL, schema: LOCK_SCHEMA }) } : {}),
      }),
  );
  try {
    await stores[0]?.migrate();
    const started = performance.now();
    // Writer w appends batches w, w + writers, …: every batch once, all on the same day.
    await Promise.all(
      stores.map(async (store, w) => {
        for (let b = w; b < batches.length; b += writers) await store.appendBatch(batches[b]!);
      }),
    );
    const elapsedMs = performance.now() - started;
    const total = BATCHES * CALLS;
    console.log(
      `${label}: ${Math.round(total / (elapsedMs / 1000))} calls/s, ${(elapsedMs / BATCHES).toFixed(0)} ms per append of ${CALLS} calls`,
    );
  } finally {
    await stores[0]?.dropDatabase();
    for (const s of stores) await s.close();
  }
}

await run('1 writer, no lock', 1, false);
await run('1 writer, PostgreSQL write lock', 1, true);
await run('2 writers, PostgreSQL write lock, same day', 2, true);
const c = new pg.Client({ connectionString: PG_URL });
await c.connect();
await c.query(`DROP SCHEMA IF EXISTS "${LOCK_SCHEMA}" CASCADE`);
await c.end();
