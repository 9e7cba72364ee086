/**
 * The alerting module end to end on a fake clock: ingested calls cross a threshold rule, the
 * evaluator (woken by the commit) fires, the webhook receives one signed notification; a 429
 * with Retry-After is retried after it; a restart neither forgets nor re-sends; the alert
 * resolves when the calls leave the window. Silences through the API mute a new alert.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer, tempDir } from '../test-support/harness.js';

const T0 = Date.UTC(2026, 10, 30, 8);

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function recorder(answers: { status: number; headers?: Record<string, string> }[]) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const a = answers.shift() ?? { status: 200 };
      res.writeHead(a.status, a.headers ?? {});
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => server.close(),
  };
}

async function ingest(s: TestServer, key: string, n: number, atMs: number, model = 'gpt-4o') {
  const batch = Array.from({ length: n }, (_, i) => ({
    id: `c-${atMs}-${model}-${i}`,
    timestamp: new Date(atMs + i).toISOString(),
    provider: 'openai',
    model,
    latencyMs: 100,
    costUsd: 0.01,
    usage: { inputTokens: 10, outputTokens: 10 },
  }));
  const res = await fetch(`${s.url}/api/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch }),
  });
  expect(res.status).toBe(200);
}

async function api(s: TestServer, method: string, path: string, body?: unknown) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Ticks the jobs until `done` holds (commits land asynchronously), at most ~5 s. */
async function tickUntil(s: TestServer, done: () => boolean) {
  for (let i = 0; i < 100 && !done(); i++) {
    await s.app.tickJobs();
    if (!done()) await new Promise((r) => setTimeout(r, 50));
  }
}

describe('alerting module', () => {
  let server: TestServer | null = null;
  const closers: (() => void)[] = [];
  afterEach(async () => {
    await server?.stop();
    server = null;
    for (const c of closers.splice(0)) c();
  });

  it('a threshold crossed by ingested calls notifies once, retries a 429, survives a restart and resolves', async () => {
    const hook = await recorder([{ status: 429, headers: { 'retry-after': '2' } }]);
    closers.push(hook.close);
    const dataDir = tempDir('reskpoints-alerting-');
    const clock = new FakeClock(T0);
    const config = {
      dataDir,
      alerting: {
        rules: [
          {
            name: 'ManyRequests',
            metric: 'requests',
            window: '5m',
            groupBy: ['model'],
            threshold: { op: '>', value: 2 },
            labels: { severity: 'page' },
            annotations: { summary: '{{ $value }} requests on {{ $labels.model }} (over {{ $threshold }})' },
          },
        ],
        route: { receiver: 'hook', groupBy: ['alertname'], groupWait: 0, groupInterval: '1m', repeatInterval: '4h' },
        receivers: [{ name: 'hook', webhook: { url: hook.url, secret: 's3cret' } }],
        delivery: { initialBackoffMs: 100 },
      },
    };
    server = await startTestServer(config, { clock });
    const p = await server.createProject('Shop', 'prj_shop');
    await server.app.tickJobs();
    await ingest(server, p.key, 3, T0 - 1000);
    await tickUntil(server, () => hook.received.length >= 1);
    expect(hook.received).toHaveLength(1); // answered 429 Retry-After: 2
    // Not retried before Retry-After elapsed.
    clock.advance(1000);
    await server.app.tickJobs();
    expect(hook.received).toHaveLength(1);
    clock.advance(1500);
    await tickUntil(server, () => hook.received.length >= 2);
    expect(hook.received).toHaveLength(2);
    const got = hook.received[1] as Received;
    const ts = got.headers['x-reskpoints-timestamp'] as string;
    const expected = `sha256=${createHmac('sha256', 's3cret').update(`${ts}.${got.body}`).digest('hex')}`;
    expect(got.headers['x-reskpoints-signature']).toBe(expected);
    const payload = JSON.parse(got.body);
    expect(payload).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'hook',
      commonLabels: { alertname: 'ManyRequests', model: 'gpt-4o', severity: 'page' },
    });
    expect(payload.alerts[0].annotations.summary).toBe('3 requests on gpt-4o (over 2)');
    expect(got.body).not.toContain('s3cret');

    const log = await api(server, 'GET', '/api/v1/alerts/notifications');
    expect(log.body.sent).toMatchObject([{ receiver: 'hook', outcome: 'delivered', attempts: 2, alertCount: 1 }]);
    expect(log.body.pending).toEqual([]);
    const rules = await api(server, 'GET', '/api/v1/alerts/rules');
    expect(rules.body.rules[0]).toMatchObject({ name: 'ManyRequests', state: 'firing' });
    const receivers = await api(server, 'GET', '/api/v1/alerts/receivers');
    expect(JSON.stringify(receivers.body)).not.toContain('s3cret');

    // Restart on the same data: the firing alert is remembered and not sent again.
    await server.app.close();
    server = await startTestServer(config, { clock });
    clock.advance(60_000);
    for (let i = 0; i < 3; i++) await server.app.tickJobs();
    expect(hook.received).toHaveLength(2);
    expect((await api(server, 'GET', '/api/v1/alerts')).body.alerts).toMatchObject([
      { status: 'firing', labels: { alertname: 'ManyRequests' } },
    ]);

    // A silence mutes a new series; the calls leaving the window resolve the first.
    const sil = await api(server, 'POST', '/api/v1/alerts/silences', {
      matchers: ['model=~"claude.*"'],
      endsAtMs: clock.nowMs() + 3_600_000,
      createdBy: 'ops',
      comment: 'known',
    });
    expect(sil.status).toBe(201);
    await ingest(server, p.key, 3, clock.nowMs() - 1000, 'claude-3-5-sonnet');
    let series: any[] = [];
    for (let i = 0; i < 100 && series.length < 2; i++) {
      await server.app.tickJobs();
      series = (await api(server, 'GET', '/api/v1/alerts/rules')).body.rules[0].series;
      if (series.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(series.map((x) => [x.labels.model, x.status]).sort()).toEqual([
      ['claude-3-5-sonnet', 'firing'],
      ['gpt-4o', 'firing'],
    ]);
    clock.advance(60_000);
    await server.app.tickJobs();
    expect(hook.received).toHaveLength(2); // claude is silenced, gpt-4o already notified
    clock.advance(5 * 60_000);
    await tickUntil(server, () => hook.received.length >= 3);
    await server.app.tickJobs();
    expect(hook.received).toHaveLength(3);
    const resolved = JSON.parse((hook.received[2] as Received).body);
    expect(resolved.status).toBe('resolved');
    expect(resolved.alerts.map((a: any) => a.labels.model)).toEqual(['gpt-4o']);

    const bad = await api(server, 'POST', '/api/v1/alerts/silences', {
      matchers: ['model=~"("'],
      endsAtMs: clock.nowMs() - 1,
      createdBy: 'ops',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/invalid regex[\s\S]*future/);
  });
});
