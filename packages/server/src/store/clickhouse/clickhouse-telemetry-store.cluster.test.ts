/**
 * ClickHouseTelemetryStore against the ClickHouse on loopback (scripts/cluster-services.sh
 * starts it). Every opened store gets its own database, dropped afterwards.
 */
import { randomHex } from '@reskpoints/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { BASE_MS, DAY_MS, generateCalls, HOUR_MS, makeLlmCall, makeSpan } from '../contract/fixtures.js';
import { describeLogStoreContract } from '../contract/log-store.contract.js';
import { describeTelemetryStoreContract } from '../contract/telemetry-store.contract.js';
import type { WriteLock } from '../ports.js';
import { PgWriteLock } from '../postgres/pg-write-lock.js';
import { ClickHouseTelemetryStore, type ClickHouseTelemetryStoreOptions } from './clickhouse-telemetry-store.js';
import { LLM_CALL_SPEC, SPAN_SPEC } from './rows.js';
import { CLICKHOUSE_MIGRATIONS } from './schema.js';

const URL = 'http://127.0.0.1:8123';
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** Lock rows of this run live in their own PostgreSQL schema. */
const LOCK_SCHEMA = `rp_wlock_${randomHex(6)}`;

function options(): ClickHouseTelemetryStoreOptions {
  return { url: URL, database: `rp_test_${randomHex(6)}`, username: 'default', password: '' };
}

describeTelemetryStoreContract(
  'ClickHouseTelemetryStore',
  async () => {
    const store = new ClickHouseTelemetryStore(options());
    return {
      store,
      close: async () => {
        await store.dropDatabase();
        await store.close();
      },
    };
  },
  {
    skip: {
      'readers never see part of a batch':
        'ClickHouse has no transactions; a batch becomes visible INSERT by INSERT (ports.ts). ' +
        'Checked instead: "a rejected append left part of a batch, and its retry adds exactly the rest"',
    },
  },
);

describeLogStoreContract('ClickHouseTelemetryStore', async () => {
  const store = new ClickHouseTelemetryStore(options());
  return {
    store,
    close: async () => {
      await store.dropDatabase();
      await store.close();
    },
  };
});

describe('ClickHouseTelemetryStore specifics', () => {
  const opened: ClickHouseTelemetryStore[] = [];
  const locks: PgWriteLock[] = [];
  const open = (o: Partial<ClickHouseTelemetryStoreOptions> = {}) => {
    const s = new ClickHouseTelemetryStore({ ...options(), ...o });
    opened.push(s);
    return s;
  };
  /** A store as a cluster worker opens it: with its own connection to the write lock. */
  const openWorker = (o: Partial<ClickHouseTelemetryStoreOptions> = {}, applicationName?: string) => {
    const lock = new PgWriteLock({ url: PG_URL, schema: LOCK_SCHEMA, ...(applicationName ? { applicationName } : {}) });
    locks.push(lock);
    return { store: open({ writeLock: lock, ...o }), lock };
  };
  afterAll(async () => {
    for (const s of opened) {
      await s.dropDatabase();
      await s.close();
    }
    for (const l of locks) await l.close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${LOCK_SCHEMA}" CASCADE`);
    await c.end();
  });

  it('several nodes migrating the same database at once all succeed', async () => {
    const first = open();
    const database = (first as unknown as { db: string }).db;
    const nodes = [first, open({ database }), open({ database }), open({ database })];
    await Promise.all(nodes.map((n) => n.migrate()));
    const latest = CLICKHOUSE_MIGRATIONS[CLICKHOUSE_MIGRATIONS.length - 1]!.version;
    for (const n of nodes) expect(await n.schemaVersion()).toBe(latest);
    const res = await nodes[1]!.appendBatch({ llmCalls: [makeLlmCall({ id: 'a' })], spans: [] });
    expect(res.llmCallsInserted).toBe(1);
    // Another node sees the row and treats a redelivered batch as duplicate.
    const again = await nodes[2]!.appendBatch({ llmCalls: [makeLlmCall({ id: 'a' })], spans: [] });
    expect(again.llmCallDuplicates).toBe(1);
  });

  it('a batch spanning more days than one INSERT may touch is stored whole', async () => {
    // Small limit so the test stays fast; every part of a wide table costs ~60 ms on 18.16.
    const store = open({ maxPartitionsPerInsert: 4 });
    await store.migrate();
    const calls = Array.from({ length: 30 }, (_, i) =>
      makeLlmCall({ id: `d${i}`, startTimeMs: BASE_MS + (i % 10) * DAY_MS + i }),
    );
    const res = await store.appendBatch({ llmCalls: calls, spans: [] });
    expect(res.llmCallsInserted).toBe(30);
    const page = await store.listLlmCalls({ fromMs: 0, toMs: BASE_MS + 200 * DAY_MS, filter: {}, limit: 1000 });
    expect(page.items.length).toBe(30);
    expect((await store.appendBatch({ llmCalls: calls, spans: [] })).llmCallDuplicates).toBe(30);
    // A cut on a day boundary drops whole partitions only.
    expect(await store.deleteBefore(BASE_MS + 6 * DAY_MS)).toBe(18);
    const left = await store.listLlmCalls({ fromMs: 0, toMs: BASE_MS + 200 * DAY_MS, filter: {}, limit: 1000 });
    expect(left.items.length).toBe(12);
    const database = (store as unknown as { db: string }).db;
    const mutations = await fetch(
      `${URL}/?query=${encodeURIComponent(`SELECT count() FROM system.mutations WHERE database = '${database}'`)}`,
    );
    expect((await mutations.text()).trim()).toBe('0');
  });

  it('large batches: dedup lookups are chunked below max_query_size', async () => {
    const store = open({ dedupLookupChunk: 500 });
    await store.migrate();
    const calls = generateCalls(6000, { seed: 5, idPrefix: 'a-rather-long-identifier-prefix-to-grow-the-query-text' });
    expect((await store.appendBatch({ llmCalls: calls, spans: [] })).llmCallsInserted).toBe(6000);
    const again = await store.appendBatch({ llmCalls: calls, spans: [] });
    expect(again.llmCallsInserted).toBe(0);
    expect(again.llmCallDuplicates).toBe(6000);
  });

  it('string values with quotes and backslashes survive filters', async () => {
    const store = open();
    await store.migrate();
    const odd = "it's a \\ 'model' \n with newline";
    await store.appendBatch({
      llmCalls: [makeLlmCall({ id: "id'1\\", model: odd }), makeLlmCall({ id: 'plain', startTimeMs: BASE_MS + 1 })],
      spans: [makeSpan({ traceId: "t'1", spanId: 's\\1' })],
    });
    const page = await store.listLlmCalls({ fromMs: 0, toMs: BASE_MS + HOUR_MS, filter: { models: [odd] }, limit: 10 });
    expect(page.items.map((c) => c.id)).toEqual(["id'1\\"]);
    const spans = await store.listSpans({
      projectId: 'prj_contract',
      traceId: "t'1",
      fromMs: 0,
      toMs: BASE_MS + HOUR_MS,
      limit: 10,
    });
    expect(spans.map((s) => s.spanId)).toEqual(['s\\1']);
  });

  it('the RowBinary column specs match the migrated tables', async () => {
    const store = open();
    await store.migrate();
    const database = (store as unknown as { db: string }).db;
    const res = await fetch(
      `${URL}/?query=${encodeURIComponent(`SELECT table, name, type FROM system.columns WHERE database = '${database}' FORMAT JSONEachRow`)}`,
    );
    const rows = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { table: string; name: string; type: string });
    const columnsOf = (table: string) => rows.filter((r) => r.table === table).map((r) => [r.name, r.type]);
    expect(columnsOf('llm_calls')).toEqual(LLM_CALL_SPEC.map(([n, t]) => [n, t]));
    expect(columnsOf('spans')).toEqual(SPAN_SPEC.map(([n, t]) => [n, t]));
  });

  it('floats read back bit for bit', async () => {
    const store = open();
    await store.migrate();
    const values = [16.952, 0.1 + 0.2, 1e-12, 123456.789012345, Number.MIN_VALUE, 2 ** 52 + 0.5];
    await store.appendBatch({
      llmCalls: values.map((v, i) =>
        makeLlmCall({ id: `f${i}`, startTimeMs: BASE_MS + i, latencyMs: v, reportedCostUsd: v, ttftMs: v }),
      ),
      spans: [],
    });
    const page = await store.listLlmCalls({ fromMs: 0, toMs: BASE_MS + HOUR_MS, filter: {}, limit: 100 });
    const byId = new Map(page.items.map((c) => [c.id, c]));
    values.forEach((v, i) => {
      const c = byId.get(`f${i}`);
      expect([c?.latencyMs, c?.reportedCostUsd, c?.ttftMs]).toEqual([v, v, v]);
    });
  });

  it('a duplicate that slipped past the lookup is listed once and merged away', async () => {
    // Two nodes inserting the same event at the same instant both miss each other's row in
    // the lookup; simulate the outcome by copying the table onto itself.
    const store = open();
    await store.migrate();
    const calls = generateCalls(50, { seed: 31 });
    await store.appendBatch({ llmCalls: calls, spans: [] });
    const database = (store as unknown as { db: string }).db;
    const sql = (q: string) => fetch(`${URL}/`, { method: 'POST', body: q }).then((r) => r.text());
    await sql(`INSERT INTO ${database}.llm_calls SELECT * FROM ${database}.llm_calls`);
    const range = { fromMs: 0, toMs: BASE_MS + DAY_MS };
    const page = await store.listLlmCalls({ ...range, filter: {}, limit: 1000 });
    expect(page.items.length).toBe(50);
    // Until a merge, aggregates count the copy (documented); a merge collapses it.
    await sql(`OPTIMIZE TABLE ${database}.llm_calls FINAL`);
    const summary = await store.summarize({ ...range, filter: {}, groupBy: [], intervalMs: null });
    expect(summary.rows[0]?.requests).toBe(50);
  });

  it('a cut inside a day hides older rows at once and needs no mutation; a later pass frees the disk', async () => {
    const store = open();
    await store.migrate();
    const database = (store as unknown as { db: string }).db;
    const sql = (q: string) => fetch(`${URL}/`, { method: 'POST', body: q }).then((r) => r.text());
    const storedRows = async () => Number((await sql(`SELECT count() FROM ${database}.llm_calls`)).trim());
    // 48 calls, one per hour over two days.
    const calls = Array.from({ length: 48 }, (_, h) =>
      makeLlmCall({ id: `h${h}`, startTimeMs: BASE_MS + h * HOUR_MS }),
    );
    await store.appendBatch({ llmCalls: calls, spans: [] });
    expect(await store.deleteBefore(BASE_MS + 10 * HOUR_MS + 1)).toBe(11);
    expect(await store.watermark()).toBe(BASE_MS + 10 * HOUR_MS + 1);
    const page = await store.listLlmCalls({ fromMs: 0, toMs: BASE_MS + 3 * DAY_MS, filter: {}, limit: 1000 });
    expect(page.items.length).toBe(37);
    // Still on disk (same day as the cut), but no mutation was needed.
    expect(await storedRows()).toBe(48);
    expect((await sql(`SELECT count() FROM system.mutations WHERE database = '${database}'`)).trim()).toBe('0');
    // A lower cut removes nothing; a cut in the next day drops the first day's partition.
    expect(await store.deleteBefore(BASE_MS)).toBe(0);
    expect(await store.deleteBefore(BASE_MS + 30 * HOUR_MS)).toBe(19);
    expect(await storedRows()).toBe(24);
  });

  it('two workers storing a retried batch at once count every event once in summaries', async () => {
    // A client retry makes a second bus message with the same events; two workers take one
    // each and append them at the same moment through their own store instances.
    const { store: first } = openWorker();
    await first.migrate();
    const database = (first as unknown as { db: string }).db;
    const { store: second } = openWorker({ database });
    const calls = generateCalls(4000, { seed: 77 });
    const spans = Array.from({ length: 500 }, (_, i) =>
      makeSpan({ traceId: 't-retry', spanId: `s${i}`, startTimeMs: BASE_MS + i }),
    );
    const results = await Promise.all([first, second].map((s) => s.appendBatch({ llmCalls: calls, spans })));
    expect(results.reduce((n, r) => n + r.llmCallsInserted, 0)).toBe(4000);
    expect(results.reduce((n, r) => n + r.spansInserted, 0)).toBe(500);
    const summary = await first.summarize({
      fromMs: 0,
      toMs: BASE_MS + 10 * DAY_MS,
      filter: {},
      groupBy: [],
      intervalMs: null,
    });
    expect(summary.rows[0]?.requests).toBe(4000);
    const sql = (q: string) => fetch(`${URL}/`, { method: 'POST', body: q }).then((r) => r.text());
    expect(Number((await sql(`SELECT count() FROM ${database}.spans`)).trim())).toBe(500);
  });

  it('a writer that lost its lock mid-insert is waited for, so its events are not stored again', async () => {
    const sql = (q: string) => fetch(`${URL}/`, { method: 'POST', body: q }).then((r) => r.text());
    const lostName = `rp-lost-writer-${randomHex(4)}`;
    const { store: lost } = openWorker({}, lostName);
    await lost.migrate();
    const database = (lost as unknown as { db: string }).db;
    const { store: next } = openWorker({ database, lostWriterSettleMs: 200 });
    // Large enough that its INSERT runs for a while on 18.16.
    const calls = generateCalls(60_000, { seed: 78, idPrefix: 'lost' });
    const spans = [makeSpan({ traceId: 't-lost', spanId: 's1' })];
    const pending = lost.appendBatch({ llmCalls: calls, spans });
    const failed = pending.then(
      () => null,
      (e: unknown) => e,
    );
    // Once its INSERT is running, its lock session dies (as when its process is killed or
    // its connection to PostgreSQL breaks); the server goes on with the INSERT.
    for (;;) {
      const running = await sql(
        `SELECT count() FROM system.processes WHERE substring(query_id, 1, ${`rp-append-${database}-`.length}) = 'rp-append-${database}-'`,
      );
      if (Number(running.trim()) > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [lostName]);
    await admin.end();
    // A redelivered copy of the batch goes to another worker at once.
    const res = await next.appendBatch({ llmCalls: calls, spans });
    expect(res.llmCallsInserted).toBe(0);
    expect(res.llmCallDuplicates).toBe(60_000);
    // The lost writer learns it lost the lock before its next INSERT and fails its append.
    expect(await failed).toBeInstanceOf(Error);
    expect(Number((await sql(`SELECT count() FROM ${database}.llm_calls`)).trim())).toBe(60_000);
    expect(Number((await sql(`SELECT count() FROM ${database}.spans`)).trim())).toBe(1);
  });

  it('a rejected append left part of a batch, and its retry adds exactly the rest', async () => {
    // Calls and spans over two UTC days, one INSERT per day. The writer loses its lock after
    // the first INSERT (its lock session broke, say), so it stops there and the append
    // rejects half-done: readers see the first day's calls and nothing else.
    let confirmsLeft = 1;
    const losingLock: WriteLock = {
      acquire: async () => ({
        uncleanKeys: [],
        confirm: async () => {
          if (confirmsLeft-- <= 0) throw new Error('write lock lost');
        },
        release: async () => undefined,
        abandon: async () => undefined,
      }),
      close: async () => undefined,
    };
    const interrupted = open({ maxPartitionsPerInsert: 1, writeLock: losingLock });
    await interrupted.migrate();
    const database = (interrupted as unknown as { db: string }).db;
    const midnight = BASE_MS + DAY_MS;
    const batch = {
      llmCalls: Array.from({ length: 40 }, (_, i) =>
        makeLlmCall({ id: `c${i}`, startTimeMs: midnight + (i - 20) * 1000 }),
      ),
      spans: Array.from({ length: 10 }, (_, i) =>
        makeSpan({ traceId: 't-split', spanId: `s${i}`, startTimeMs: midnight + (i - 5) * 1000 }),
      ),
    };
    await expect(interrupted.appendBatch(batch)).rejects.toThrow('write lock lost');
    const range = { fromMs: BASE_MS, toMs: BASE_MS + 3 * DAY_MS };
    const partial = await interrupted.summarize({ ...range, filter: {}, groupBy: [], intervalMs: DAY_MS });
    expect(partial.rows.map((r) => r.requests)).toEqual([20]);
    expect(await interrupted.listSpans({ projectId: 'prj_contract', ...range, limit: 100 })).toEqual([]);
    // The message is redelivered to another worker, whose append completes the batch.
    const { store: worker } = openWorker({ database, maxPartitionsPerInsert: 1 });
    const retry = await worker.appendBatch(batch);
    expect(retry).toMatchObject({ llmCallsInserted: 20, llmCallDuplicates: 20, spansInserted: 10, spanDuplicates: 0 });
    const whole = await worker.summarize({ ...range, filter: {}, groupBy: [], intervalMs: DAY_MS });
    expect(whole.rows.map((r) => r.requests)).toEqual([20, 20]);
    expect((await worker.listSpans({ projectId: 'prj_contract', ...range, limit: 100 })).length).toBe(10);
    const again = await worker.appendBatch(batch);
    expect([again.llmCallsInserted, again.spansInserted]).toEqual([0, 0]);
  });

  it('rejects a database name that is not a plain identifier', () => {
    expect(() => new ClickHouseTelemetryStore({ url: URL, database: 'x; DROP TABLE y' })).toThrow(/identifier/);
  });
});
