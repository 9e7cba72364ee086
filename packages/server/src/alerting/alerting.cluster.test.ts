/**
 * Alerting in cluster mode, with in-process nodes on PostgreSQL, ClickHouse and NATS on
 * loopback (scripts/cluster-services.sh): two workers, an API node and an ingest node, all
 * with the same rule and route.
 *
 * - The evaluator runs on the holder of the leader lease only (the other worker, the API node
 *   and the ingest node never run it).
 * - A failed call ingested through the ingest node crosses the rule; the rule's series goes
 *   pending, then firing (after `for`), as the API node reads from the state database; the
 *   webhook receives exactly one notification.
 * - The leader is stopped: the other worker takes the lease and carries on from the state
 *   database. The alert stays firing and is not announced again while its condition keeps
 *   holding; a new crossing is noticed by the new leader and notified once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomHex } from '@reskpoints/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createProject, startTestServer, type TestServer } from '../test-support/harness.js';

const run = randomHex(6);
const database = `rp_alerting_${run}`;
const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const cluster = {
  postgres: { url: `postgres://postgres@127.0.0.1:5432/${database}` },
  clickhouse: { url: 'http://127.0.0.1:8123', database },
  nats: { url: 'nats://127.0.0.1:4222', stream: `RP_ALERTING_${run.toUpperCase()}`, ackWaitMs: 5_000 },
};

interface Notification {
  status: string;
  groupKey: string;
  alerts: { status: string; labels: Record<string, string>; fingerprint: string }[];
}

async function postgresAdmin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string | (() => string), f: () => Promise<T | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(100);
  }
}

/** A figure from a node's /metrics, e.g. `reskpoints_leader`; 0 when absent. */
async function metric(node: TestServer, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

const evaluations = (node: TestServer) =>
  metric(node, 'reskpoints_job_runs_total', '{job="alerting.evaluate",outcome="ok"}');

async function apiGet<T>(node: TestServer, path: string): Promise<T> {
  const res = await fetch(`${node.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

describe('alerting in cluster mode', () => {
  const nodes: TestServer[] = [];
  const stopped = new Set<TestServer>();
  let workers: TestServer[];
  let api: TestServer;
  let ingest: TestServer;
  let hook: Server;
  const received: Notification[] = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push(JSON.parse(body) as Notification);
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    await postgresAdmin(`CREATE DATABASE ${database}`);
    const alerting = {
      evaluationTickMs: 200,
      rules: [
        {
          name: 'LlmErrors',
          metric: 'errors',
          window: '10m',
          groupBy: ['model'],
          threshold: { op: '>', value: 0 },
          interval: '1s',
          for: '2s',
          annotations: { summary: '{{ $value }} failed calls on {{ $labels.model }}' },
        },
      ],
      route: {
        receiver: 'hook',
        groupBy: ['alertname', 'model'],
        groupWait: 0,
        groupInterval: '1h',
        repeatInterval: '1h',
      },
      receivers: [{ name: 'hook', webhook: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/` } }],
    };
    const start = async (role: string) => {
      const s = await startTestServer({ role, ...cluster, alerting }, { schedulerTickMs: 200 });
      nodes.push(s);
      return s;
    };
    // The API node first: it runs the migrations.
    api = await start('api');
    workers = [await start('worker'), await start('worker')];
    ingest = await start('ingest');
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes.reverse()) if (!stopped.has(n)) await n.stop().catch(() => undefined);
    hook?.close();
    await fetch('http://127.0.0.1:8123/', { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` }).catch(
      () => undefined,
    );
    await postgresAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
  });

  const failedCall = async (key: string, model: string, id: string) => {
    const res = await fetch(`${ingest.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          {
            id,
            timestamp: new Date().toISOString(),
            provider: 'openai',
            model,
            latencyMs: 300,
            status: 'error',
            usage: { inputTokens: 10, outputTokens: 0 },
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
  };

  type RuleView = { state: string; series: { labels: Record<string, string>; status: string }[] };
  const ruleOnApi = async () => (await apiGet<{ rule: RuleView }>(api, '/api/v1/alerts/rules/LlmErrors')).rule;
  const notificationsFor = (model: string) =>
    received.filter((n) => n.status === 'firing' && n.alerts.some((a) => a.labels['model'] === model));

  it('evaluates on the lease holder only, notifies once, and a new leader takes over without re-notifying', async () => {
    const { key } = await createProject(api.url, 'alerting-cluster');
    const leader = await until('a worker to take the leader lease', async () => {
      const flags = await Promise.all(workers.map((w) => metric(w, 'reskpoints_leader')));
      const holders = workers.filter((_, i) => flags[i] === 1);
      return holders.length === 1 ? (holders[0] ?? null) : null;
    });
    const follower = workers.find((w) => w !== leader) as TestServer;

    // A crossing ingested through the ingest node: pending first (for: 2s), then firing.
    await failedCall(key, 'gpt-4o', `fail-${run}-1`);
    const pending = await until('the series to go pending on the API node', async () => {
      const r = await ruleOnApi();
      return r.series.length > 0 ? r : null;
    });
    expect(pending).toMatchObject({
      state: 'pending',
      series: [{ labels: { alertname: 'LlmErrors', model: 'gpt-4o' }, status: 'pending' }],
    });
    expect(received).toEqual([]);
    await until('the notification', async () => (notificationsFor('gpt-4o').length > 0 ? true : null));
    expect(await ruleOnApi()).toMatchObject({ state: 'firing', series: [{ status: 'firing' }] });
    // More failures while it fires: still one notification (several passes later).
    await failedCall(key, 'gpt-4o', `fail-${run}-2`);
    const runsBefore = await evaluations(leader);
    await until('more evaluations on the leader', async () =>
      (await evaluations(leader)) >= runsBefore + 5 ? true : null,
    );
    expect(notificationsFor('gpt-4o')).toHaveLength(1);
    expect(notificationsFor('gpt-4o')[0]).toMatchObject({
      alerts: [{ status: 'firing', labels: { alertname: 'LlmErrors', model: 'gpt-4o' } }],
    });

    // Only the lease holder evaluated.
    expect(await evaluations(leader)).toBeGreaterThan(0);
    for (const n of [follower, api, ingest]) expect(await evaluations(n)).toBe(0);
    const alerts = await apiGet<{ alerts: { status: string; labels: Record<string, string> }[] }>(
      api,
      '/api/v1/alerts',
    );
    expect(alerts.alerts).toMatchObject([{ status: 'firing', labels: { alertname: 'LlmErrors', model: 'gpt-4o' } }]);

    // The leader stops; the other worker takes the lease and evaluates from the state database.
    await leader.stop();
    stopped.add(leader);
    await until('the other worker to take over', async () =>
      (await metric(follower, 'reskpoints_leader')) === 1 && (await evaluations(follower)) >= 5 ? true : null,
    );
    // The condition still holds (a fresh failure too): the firing alert is not announced again.
    await failedCall(key, 'gpt-4o', `fail-${run}-3`);
    const takeoverRuns = await evaluations(follower);
    await until('evaluations by the new leader', async () =>
      (await evaluations(follower)) >= takeoverRuns + 5 ? true : null,
    );
    expect(notificationsFor('gpt-4o')).toHaveLength(1);
    expect(await ruleOnApi()).toMatchObject({
      state: 'firing',
      series: [{ labels: { model: 'gpt-4o' }, status: 'firing' }],
    });

    // A new crossing is the new leader's to notice: one notification for it.
    await failedCall(key, 'claude-sonnet-4', `fail-${run}-4`);
    await until('the new crossing to be notified', async () =>
      notificationsFor('claude-sonnet-4').length > 0 ? true : null,
    );
    const afterRuns = await evaluations(follower);
    await until('a few more passes', async () => ((await evaluations(follower)) >= afterRuns + 5 ? true : null));
    expect(notificationsFor('claude-sonnet-4')).toHaveLength(1);
    expect(notificationsFor('gpt-4o')).toHaveLength(1);
    expect(received.filter((n) => n.status === 'firing')).toHaveLength(2);
    for (const n of [api, ingest]) expect(await evaluations(n)).toBe(0);
  }, 180_000);
});
