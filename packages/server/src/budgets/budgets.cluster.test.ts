/**
 * Budgets in cluster mode (in-process nodes on PostgreSQL, ClickHouse, NATS and Redis on
 * loopback): a budget defined on the API node is evaluated by the leader (the worker) from calls
 * sent to the ingest node; its crossing is read back on the API node, reaches a WebSocket client
 * of the API node over NATS, and its block action makes the API node's quota reservations (Redis
 * accounting) answer 429.
 */
import { randomHex } from '@reskpoints/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_TOKEN, createProject, startTestServer, type TestServer } from '../test-support/harness.js';

const run = randomHex(6);
const database = `rp_budgets_${run}`;
const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env['RESKPOINTS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const cluster = {
  postgres: { url: `postgres://postgres@127.0.0.1:5432/${database}` },
  clickhouse: { url: 'http://127.0.0.1:8123', database },
  nats: { url: 'nats://127.0.0.1:4222', stream: `RP_BUDGETS_${run.toUpperCase()}`, ackWaitMs: 5_000 },
  redis: { url: REDIS_URL },
  quota: { redisKeyPrefix: `rp-budgets-${run}`, refreshIntervalMs: 200 },
  derived: { safetyLagMs: 500 },
};
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

async function postgresAdmin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function until<T>(what: string, f: () => Promise<T | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('budgets in cluster mode', () => {
  const nodes: TestServer[] = [];
  let ingest: TestServer;
  let api: TestServer;

  beforeAll(async () => {
    await postgresAdmin(`CREATE DATABASE ${database}`);
    const start = async (role: string) => {
      const s = await startTestServer({ role, ...cluster }, { schedulerTickMs: 200 });
      nodes.push(s);
      return s;
    };
    await start('worker');
    api = await start('api');
    ingest = await start('ingest');
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
    await fetch('http://127.0.0.1:8123/', { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }).catch(
      () => undefined,
    );
    await postgresAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  });

  it('evaluates on the leader, shows the crossing on the API node live and by REST, and blocks reservations', async () => {
    const shop = await createProject(api.url, 'Shop', 'shop');
    const put = await fetch(`${api.url}/api/v1/budgets/shop-daily`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({
        scope: { project: 'shop' },
        period: 'daily',
        amountUsd: 2,
        thresholds: [
          { kind: 'percent', percent: 50 },
          { kind: 'percent', percent: 100, action: { kind: 'block' } },
        ],
      }),
    });
    expect(put.status).toBe(200);

    const messages: any[] = [];
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const w = new WebSocket(`${api.url.replace('http', 'ws')}/api/v1/events?topics=budgets&token=${shop.key}`);
      w.on('message', (d) => {
        const m = JSON.parse(String(d));
        if (m.topic === 'hello') resolve(w);
        else messages.push(m);
      });
      w.on('error', reject);
    });
    const reserve = () =>
      fetch(`${api.url}/api/v1/quota/reserve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${shop.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', inputTokens: 100, maxTokens: 100 }),
      });
    expect((await reserve()).status).toBe(200);

    // $3 of gpt-4o input (1.2M tokens at $2.50 per million), sent to the ingest node.
    const res = await fetch(`${ingest.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${shop.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          {
            id: 'c1',
            timestamp: new Date(Date.now() - 1_000).toISOString(),
            provider: 'openai',
            model: 'gpt-4o',
            latencyMs: 200,
            usage: { inputTokens: 1_200_000, outputTokens: 0 },
          },
        ],
      }),
    });
    expect(res.status).toBe(200);

    const events = await until('both crossings on the API node', async () => {
      const r = await fetch(`${api.url}/api/v1/budgets/shop-daily/events`, { headers: admin });
      const list = ((await r.json()) as { events: any[] }).events;
      return list.length === 2 ? list : null;
    });
    expect(events.map((e) => e.thresholdId).sort()).toEqual(['percent-100', 'percent-50']);
    expect(events.every((e) => Math.abs(e.spendUsd - 3) < 1e-6)).toBe(true);
    const status = ((await (await fetch(`${api.url}/api/v1/budgets/shop-daily`, { headers: admin })).json()) as any)
      .status;
    expect(status).toMatchObject({ state: 'active', amountUsd: 2 });
    expect(status.spendUsd).toBeCloseTo(3, 6);

    // Live on the API node (published on the leader, carried by NATS), each once.
    await until('the live events', async () => (messages.length >= 2 ? true : null), 15_000);
    expect(messages.map((m) => m.data.id).sort()).toEqual(events.map((e) => e.id).sort());
    ws.close();

    // The block: the API node reloads quotas from PostgreSQL and refuses in Redis.
    const blocked = await until('the block on the API node', async () => {
      const r = await reserve();
      return r.status === 429 ? r : null;
    });
    const body = (await blocked.json()) as any;
    expect(body.error.message).toContain('budget.shop-daily.percent-100');
    const endOfDay = Math.ceil(Date.now() / 86_400_000) * 86_400_000;
    expect(Math.abs(Number(blocked.headers.get('retry-after')) - (endOfDay - Date.now()) / 1000)).toBeLessThan(5);
  }, 180_000);
});
