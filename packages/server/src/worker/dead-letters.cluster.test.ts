/**
 * A poison message on the bus: a worker (startApp, role worker) against NATS JetStream,
 * ClickHouse and PostgreSQL on loopback, whose ClickHouse store refuses one model permanently.
 * The other messages are stored, the worker stays ready, the refused event and an undecodable
 * message land in the dead-letter stream, and the event is stored from there once the cause is
 * fixed. Every run uses its own database, PostgreSQL database and streams, removed afterwards.
 */
import { randomHex } from '@reskpoints/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLlmCall } from '../store/contract/fixtures.js';
import { NatsIngestBus } from '../store/nats/nats-ingest-bus.js';
import { PermanentStoreError } from '../store/permanent-error.js';
import type { TelemetryStore } from '../store/ports.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';

const CLICKHOUSE_URL = 'http://127.0.0.1:8123';
const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = 'nats://127.0.0.1:4222';
const BAD_MODEL = 'model-the-store-refuses';

const run = randomHex(6);
const database = `rp_dlq_${run}`;
const stream = `RP_DLQ_${run.toUpperCase()}`;

async function clickhouseIds(): Promise<Set<string>> {
  const res = await fetch(`${CLICKHOUSE_URL}/`, {
    method: 'POST',
    body: `SELECT id FROM ${database}.llm_calls FORMAT JSONEachRow`,
  });
  const text = await res.text();
  if (!res.ok) return new Set();
  return new Set(
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { id: string }).id),
  );
}

async function postgresAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a poison message on the bus (cluster)', () => {
  const switches = { refusing: true };
  let worker: TestServer;
  let publisher: NatsIngestBus;

  beforeAll(async () => {
    await postgresAdmin(`CREATE DATABASE ${database}`);
    const refusing = (store: TelemetryStore): TelemetryStore =>
      new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === 'appendBatch')
            return async (batch: Parameters<TelemetryStore['appendBatch']>[0]) => {
              if (switches.refusing && batch.llmCalls.some((c) => c.model === BAD_MODEL))
                throw new PermanentStoreError(`Code: 53. DB::Exception: Type mismatch for ${BAD_MODEL}`);
              return target.appendBatch(batch);
            };
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    worker = await startTestServer(
      {
        role: 'worker',
        clickhouse: { url: CLICKHOUSE_URL, database },
        postgres: { url: `postgres://postgres@127.0.0.1:5432/${database}` },
        nats: { url: NATS_URL, stream, ackWaitMs: 5_000 },
      },
      { wrapTelemetryStore: refusing },
    );
    publisher = await NatsIngestBus.connect({ servers: NATS_URL, stream });
  });

  afterAll(async () => {
    await worker?.stop();
    const dlq = await publisher?.openDeadLetters({ nowMs: () => Date.now() });
    await dlq?.destroy().catch(() => undefined);
    await publisher?.destroyStream().catch(() => undefined);
    await publisher?.close();
    await fetch(`${CLICKHOUSE_URL}/`, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }).catch(
      () => undefined,
    );
    await postgresAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  });

  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${worker.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

  it('stores the other messages, keeps the poison in the dead-letter stream, and stores it from there once fixed', async () => {
    const now = Date.now();
    const call = (i: number, model = 'gpt-4o-mini') =>
      makeLlmCall({ id: `bus-${run}-${i}`, projectId: 'prj_dlq', model, startTimeMs: now - i });
    const good: string[] = [];
    // Published before the worker pulls, so they are merged into one append.
    for (let m = 0; m < 6; m++) {
      const calls = Array.from({ length: 10 }, (_, i) => call(m * 10 + i, m === 2 && i === 4 ? BAD_MODEL : undefined));
      for (const c of calls) if (c.model !== BAD_MODEL) good.push(c.id);
      await publisher.publish(`msg-${m}`, { llmCalls: calls, spans: [] });
    }
    // And a message that is not a telemetry batch at all.
    const raw = (publisher as unknown as { js: { publish: (s: string, d: Uint8Array, o: object) => Promise<unknown> } })
      .js;
    await raw.publish(publisher.subject, new TextEncoder().encode('{"not":"a batch"}'), { msgID: `junk-${run}` });

    const stored = await until('the good events in ClickHouse', async () => {
      const ids = await clickhouseIds();
      return good.every((id) => ids.has(id)) && ids;
    });
    expect(stored.has(`bus-${run}-24`)).toBe(false);
    expect((await fetch(`${worker.url}/ready`)).status).toBe(200);
    await until('the bus to be drained', async () => (await publisher.pendingMessages()) === 0);

    type Letter = { id: string; origin: string; reason: string; events: number; error: string; payloadType: string };
    const list = await until('two dead letters', async () => {
      const body = (await (await admin('/api/v1/dead-letters')).json()) as {
        deadLetters: Letter[];
        held: { letters: number; events: number };
      };
      return body.deadLetters.length === 2 && body;
    });
    expect(list.held).toEqual({ letters: 2, events: 1 });
    const byReason = Object.fromEntries(list.deadLetters.map((d) => [d.reason, d]));
    expect(byReason['store-rejected']).toMatchObject({ origin: 'bus', events: 1, payloadType: 'batch' });
    expect(byReason['store-rejected']?.error).toContain('Type mismatch');
    expect(byReason.undecodable).toMatchObject({ origin: 'bus', events: 0, payloadType: 'bus-message' });
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    expect(metrics).toContain('reskpoints_dead_letter_events_total{origin="bus",reason="store-rejected"} 1');

    // Cause fixed: the retry goes back through the bus and the worker stores it.
    switches.refusing = false;
    const retried = await admin(`/api/v1/dead-letters/${byReason['store-rejected']?.id}/retry`, { method: 'POST' });
    expect(retried.status).toBe(200);
    await until('the retried event in ClickHouse', async () => (await clickhouseIds()).has(`bus-${run}-24`));
    const junk = byReason.undecodable?.id as string;
    expect((await admin(`/api/v1/dead-letters/${junk}/retry`, { method: 'POST' })).status).toBe(422);
    expect((await admin(`/api/v1/dead-letters/${junk}`, { method: 'DELETE' })).status).toBe(204);
    const after = (await (await admin('/api/v1/dead-letters')).json()) as { deadLetters: Letter[] };
    expect(after.deadLetters).toEqual([]);
  });
});
