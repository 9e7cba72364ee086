/**
 * The seams in cluster mode, with in-process nodes on PostgreSQL, ClickHouse and NATS on
 * loopback: an ingest node publishes, a worker stores, and
 * - the live WebSocket on an API node pushes the stored calls (the worker's commit notice
 *   travels over NATS; the API node reads the calls back from ClickHouse by their stamps);
 * - derived processing runs on the worker (the leader) and its state, in PostgreSQL, is read
 *   through the module's route on the API node;
 * - a module's leader job runs once per cluster even with two workers.
 */
import { randomHex } from '@reskpoints/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { retentionModule } from '../retention/module.js';
import { ADMIN_TOKEN, createProject, startTestServer, type TestServer } from '../test-support/harness.js';
import { notesModule } from './testing/notes-module.js';

const run = randomHex(6);
const database = `rp_seams_${run}`;
const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const cluster = {
  postgres: { url: `postgres://postgres@127.0.0.1:5432/${database}` },
  clickhouse: { url: 'http://127.0.0.1:8123', database },
  nats: { url: 'nats://127.0.0.1:4222', stream: `RP_SEAMS_${run.toUpperCase()}`, ackWaitMs: 5_000 },
  derived: { safetyLagMs: 500 },
};
const modules = [retentionModule, notesModule];

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

describe('platform seams in cluster mode', () => {
  const nodes: TestServer[] = [];
  let ingest: TestServer;
  let api: TestServer;

  beforeAll(async () => {
    await postgresAdmin(`CREATE DATABASE ${database}`);
    const start = async (role: string) => {
      const s = await startTestServer({ role, ...cluster }, { modules, schedulerTickMs: 200 });
      nodes.push(s);
      return s;
    };
    // Two workers: the module's leader job must still run once per cluster.
    await start('worker');
    await start('worker');
    api = await start('api');
    ingest = await start('ingest');
  });

  afterAll(async () => {
    for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
    await fetch('http://127.0.0.1:8123/', { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }).catch(
      () => undefined,
    );
    await postgresAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  });

  it('pushes calls stored by a worker to the live stream of an API node; derived processing runs on the worker', async () => {
    const project = await createProject(api.url, 'live', 'prj_live');
    const ws = new WebSocket(`${api.url.replace('http', 'ws')}/api/v1/live?token=${ADMIN_TOKEN}`);
    const pushed: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { type: string; items?: Array<{ id: string }> };
        if (m.type === 'hello') resolve();
        if (m.type === 'llm_calls') pushed.push(...(m.items ?? []).map((c) => c.id));
      });
      ws.on('error', reject);
    });
    const now = Date.now();
    const calls = ['c1', 'c2', 'c3'].map((id, i) => ({
      id,
      timestamp: new Date(now - i * 1000).toISOString(),
      provider: 'openai',
      model: 'gpt-4o',
      latencyMs: 100,
      usage: { inputTokens: 10 * (i + 1), outputTokens: 1 },
    }));
    const res = await fetch(`${ingest.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${project.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: calls }),
    });
    expect(res.status).toBe(200);

    await until('the live stream', async () => (pushed.length >= 3 ? pushed : null));
    expect([...pushed].sort()).toEqual(['c1', 'c2', 'c3']);
    ws.close();

    const counts = await until('derived processing', async () => {
      const r = await fetch(`${api.url}/api/v1/notes/counts`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const body = (await r.json()) as { counts: Array<{ calls: number }>; ticks: number[] };
      return body.counts[0]?.calls === 3 ? body : null;
    });
    expect(counts.counts).toEqual([{ project_id: 'prj_live', calls: 3, tokens: 63 }]);
    // The leader job ran on one of the two workers, once.
    expect(counts.ticks).toHaveLength(1);
  });
});
