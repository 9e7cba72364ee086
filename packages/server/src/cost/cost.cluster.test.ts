/**
 * Cost in cluster mode (in-process nodes on PostgreSQL, ClickHouse and NATS on loopback: an
 * ingest node prices and publishes, a worker stores, an API node serves) is the same as on an
 * embedded server given the same calls: every call's cost with its provenance, the totals, and
 * the calls pushed by the live WebSocket of the API node. A re-costing job queued on the API
 * node is run by the leader (the worker) and read back on the API node.
 */
import { type LlmCall, randomHex } from '@reskpoints/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_TOKEN, createProject, startTestServer, type TestServer } from '../test-support/harness.js';

const run = randomHex(6);
const database = `rp_cost_${run}`;
const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const costConfig = { cost: { modelAliases: { 'prod-chat': 'gpt-4o-2024-11-20' } } };
const cluster = {
  ...costConfig,
  postgres: { url: `postgres://postgres@127.0.0.1:5432/${database}` },
  clickhouse: { url: 'http://127.0.0.1:8123', database },
  nats: { url: 'nats://127.0.0.1:4222', stream: `RP_COST_${run.toUpperCase()}`, ackWaitMs: 5_000 },
  derived: { safetyLagMs: 500 },
};
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

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

const T = Date.now() - 3_600_000;
/** One call of each pricing case: cached and reasoning tokens, cache writes, tiers, names. */
const CALLS = [
  // OpenAI: inputTokens include the 1,024 cached ones.
  {
    id: 'openai-cached',
    provider: 'openai',
    model: 'gpt-4o-2024-08-06',
    usage: { inputTokens: 1200, outputTokens: 300, cacheReadTokens: 1024, reasoningTokens: 100 },
  },
  // Anthropic: cache read and write apart from the input.
  {
    id: 'anthropic-cache',
    provider: 'anthropic',
    model: 'claude-sonnet-4-20250514',
    usage: {
      inputTokens: 20,
      outputTokens: 500,
      cacheReadTokens: 3000,
      cacheWriteTokens: 1000,
      inputIncludesCached: false,
    },
  },
  // Above Gemini 2.5 Pro's 200k-token context tier.
  {
    id: 'gemini-tier',
    provider: 'gcp.gemini',
    model: 'gemini-2.5-pro',
    usage: { inputTokens: 250_000, outputTokens: 1000 },
  },
  // A Bedrock id and an Azure deployment name (aliased to a model in the config).
  {
    id: 'bedrock',
    provider: 'aws.bedrock',
    model: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    usage: { inputTokens: 10_000, outputTokens: 2_000 },
  },
  { id: 'azure', provider: 'az.ai.openai', model: 'prod-chat', usage: { inputTokens: 5_000, outputTokens: 800 } },
  // No price anywhere: unpriced.
  { id: 'unpriced', provider: 'acme', model: 'house-llm-9', usage: { inputTokens: 100, outputTokens: 10 } },
  // No usage: tokens estimated from the excerpts.
  {
    id: 'estimated',
    provider: 'openai',
    model: 'gpt-4o-mini',
    prompt: 'Summarise the quarterly report in three sentences, please.',
    response: 'Revenue grew. Costs fell. Margins improved.',
  },
].map((c, i) => ({ ...c, timestamp: T + i * 1000, latencyMs: 100, userId: 'ann' }));

describe('cost in cluster mode', () => {
  const nodes: TestServer[] = [];
  let embedded: TestServer;
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
    embedded = await startTestServer(costConfig);
  }, 120_000);

  afterAll(async () => {
    await embedded?.stop().catch(() => undefined);
    for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
    await fetch('http://127.0.0.1:8123/', { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }).catch(
      () => undefined,
    );
    await postgresAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  });

  const send = async (url: string, key: string) => {
    const res = await fetch(`${url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: CALLS }),
    });
    expect(res.status).toBe(200);
  };
  const listCalls = async (url: string): Promise<LlmCall[]> => {
    const res = await fetch(`${url}/api/v1/llm/calls?from=${T - 60_000}&to=${T + 60_000}&limit=100`, {
      headers: admin,
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: LlmCall[] }).items.sort((a, b) => a.id.localeCompare(b.id));
  };
  const breakdown = async (url: string) => {
    const res = await fetch(`${url}/api/v1/cost/breakdown?from=${T - 60_000}&to=${T + 60_000}&by=provider,model`, {
      headers: admin,
    });
    expect(res.status).toBe(200);
    return res.json() as Promise<{ total: Record<string, unknown>; rows: Array<Record<string, unknown>> }>;
  };

  it('computes the same cost, with the same provenance, as an embedded server; the live stream carries it', async () => {
    const clusterProject = await createProject(api.url, 'shop', 'shop');
    const embeddedProject = await embedded.createProject('shop', 'shop');

    const ws = new WebSocket(`${api.url.replace('http', 'ws')}/api/v1/live?token=${ADMIN_TOKEN}`);
    const pushed = new Map<string, LlmCall>();
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { type: string; items?: LlmCall[] };
        if (m.type === 'hello') resolve();
        if (m.type === 'llm_calls') for (const c of m.items ?? []) pushed.set(c.id, c);
      });
      ws.on('error', reject);
    });
    await send(ingest.url, clusterProject.key);
    await send(embedded.url, embeddedProject.key);

    const inCluster = await until('the calls in ClickHouse', async () => {
      const got = await listCalls(api.url);
      return got.length === CALLS.length ? got : null;
    });
    const local = await listCalls(embedded.url);
    expect(local).toHaveLength(CALLS.length);
    const costs = (calls: LlmCall[]) =>
      Object.fromEntries(calls.map((c) => [c.id, { cost: c.cost, usage: c.usage, model: c.model }]));
    expect(costs(inCluster)).toEqual(costs(local));

    const byId = Object.fromEntries(inCluster.map((c) => [c.id, c]));
    // To the dollar at list prices per million tokens. gpt-4o-2024-08-06: $2.50 input, $1.25
    // cached, $10 output: 176 × 2.5 + 1024 × 1.25 + 300 × 10 = $0.00472.
    expect(byId['openai-cached']?.cost.totalUsd).toBeCloseTo(0.00472, 12);
    // Claude Sonnet 4: $3 input, $0.30 cache read, $3.75 cache write (5 min), $15 output.
    expect(byId['anthropic-cache']?.cost.totalUsd).toBeCloseTo(
      (20 * 3 + 3000 * 0.3 + 1000 * 3.75 + 500 * 15) / 1e6,
      12,
    );
    // Gemini 2.5 Pro above 200k input tokens: $2.50 input, $15 output.
    expect(byId['gemini-tier']?.cost.totalUsd).toBeCloseTo((250_000 * 2.5 + 1000 * 15) / 1e6, 12);
    expect(byId['gemini-tier']?.cost.tier).toBeTruthy();
    expect(byId['unpriced']?.cost.totalUsd).toBeNull();
    expect(byId['estimated']?.cost.tokensEstimated).toBe(true);
    expect(byId['azure']?.cost.totalUsd).not.toBeNull();
    expect(byId['bedrock']?.cost.totalUsd).not.toBeNull();

    const [clusterTotals, localTotals] = [await breakdown(api.url), await breakdown(embedded.url)];
    expect(clusterTotals.total['unpricedRequests']).toBe(1);
    expect(clusterTotals.total['costIsLowerBound']).toBe(true);
    expect(clusterTotals.total['costUsd']).toBeCloseTo(localTotals.total['costUsd'] as number, 12);
    expect(clusterTotals.rows.length).toBe(localTotals.rows.length);
    for (const row of clusterTotals.rows) {
      const other = localTotals.rows.find((r) => JSON.stringify(r['group']) === JSON.stringify(row['group']));
      expect(other, JSON.stringify(row['group'])).toBeDefined();
      for (const k of ['costUsd', 'inputCostUsd', 'outputCostUsd', 'cacheReadCostUsd', 'cacheWriteCostUsd'])
        if (row[k] === null) expect(other?.[k]).toBeNull();
        else expect(row[k]).toBeCloseTo(other?.[k] as number, 12);
    }

    // The API node's live stream pushed every call, with the cost the worker stored.
    await until('the live stream', async () => (pushed.size >= CALLS.length ? pushed : null));
    ws.close();
    for (const c of inCluster) expect(pushed.get(c.id)?.cost).toEqual(c.cost);
  }, 120_000);

  it('runs a re-costing job queued on the API node on the leader, and reads it back on the API node', async () => {
    const started = await fetch(`${api.url}/api/v1/cost/recost`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ from: String(T - 60_000), to: String(T + 60_000) }),
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    const done = await until('the re-costing job', async () => {
      const r = (await (await fetch(`${api.url}/api/v1/cost/recost/${id}`, { headers: admin })).json()) as {
        state: string;
      };
      return r.state === 'done' || r.state === 'failed' ? r : null;
    });
    expect(done).toMatchObject({ state: 'done', callsRecosted: CALLS.length, error: null });
    // Re-costing with unchanged prices changes nothing.
    const after = await listCalls(api.url);
    const local = await listCalls(embedded.url);
    expect(Object.fromEntries(after.map((c) => [c.id, c.cost]))).toEqual(
      Object.fromEntries(local.map((c) => [c.id, c.cost])),
    );
  }, 120_000);

  it('serves on the API node the cost reports the leader made on its schedule, kept in PostgreSQL', async () => {
    const listed = await until('the scheduled reports', async () => {
      const r = (await (await fetch(`${api.url}/api/v1/reports/cost/stored`, { headers: admin })).json()) as {
        reports: Array<{ id: string; period: string }>;
      };
      return r.reports.length === 3 ? r.reports : null;
    });
    expect(listed.map((r) => r.period).sort()).toEqual(['day', 'month', 'week']);
    const day = listed.find((r) => r.period === 'day')!;
    const one = await fetch(`${api.url}/api/v1/reports/cost/stored/${day.id}?format=csv`, { headers: admin });
    expect(one.status).toBe(200);
    expect((await one.text()).split('\r\n')[0]).toMatch(/^section,group,costUsd/);
  }, 120_000);
});
