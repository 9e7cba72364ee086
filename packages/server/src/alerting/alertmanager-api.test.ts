/**
 * Alertmanager compatibility through a started server: alerts posted to `/api/v2/alerts` and
 * to the webhook receiver go through grouping, silences and routing to a webhook; silences,
 * status and receivers in Alertmanager's shapes; every problem of a bad request reported;
 * bearer and basic credentials; alert changes and notifications on the `alerts` event topic.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PlatformEvent } from '../platform/events.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';

const T0 = Date.UTC(2026, 10, 30, 9);

async function recorder() {
  const received: any[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { received, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

async function call(s: TestServer, method: string, path: string, body?: unknown, auth = `Bearer ${ADMIN_TOKEN}`) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function tickUntil(s: TestServer, done: () => boolean | Promise<boolean>) {
  for (let i = 0; i < 100 && !(await done()); i++) {
    await s.app.tickJobs();
    await new Promise((r) => setTimeout(r, 20));
  }
}

function openEvents(url: string): Promise<{ ws: WebSocket; messages: PlatformEvent[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: PlatformEvent[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as PlatformEvent;
      if (m.topic === 'hello') resolve({ ws, messages });
      else messages.push(m);
    });
    ws.on('error', reject);
  });
}

describe('Alertmanager API v2 and webhook receiver', () => {
  let server: TestServer | null = null;
  const closers: (() => void)[] = [];
  afterEach(async () => {
    await server?.stop();
    server = null;
    for (const c of closers.splice(0)) c();
  });

  it('routes posted alerts through silences to the webhook, and speaks Alertmanager shapes', async () => {
    const hook = await recorder();
    closers.push(hook.close);
    const clock = new FakeClock(T0);
    server = await startTestServer(
      {
        alerting: {
          route: {
            receiver: 'ops',
            groupBy: ['alertname'],
            groupWait: 0,
            groupInterval: '1m',
            routes: [{ matchers: ['team="ml"'], receiver: 'ml' }],
          },
          receivers: [
            { name: 'ops', webhook: { url: hook.url } },
            { name: 'ml', webhook: { url: `${hook.url}ml` } },
          ],
        },
      },
      { clock },
    );
    const events = await openEvents(
      `${server.url.replace('http', 'ws')}/api/v1/events?topics=alerts&token=${ADMIN_TOKEN}`,
    );
    closers.push(() => events.ws.close());

    // Prometheus's request: startsAt, endsAt (a few minutes ahead), generatorURL.
    const posted = await call(server, 'POST', '/api/v2/alerts', [
      {
        labels: { alertname: 'HighLatency', instance: 'a:9090', severity: 'page' },
        annotations: { summary: 'p99 over 2s' },
        startsAt: new Date(T0 - 60_000).toISOString(),
        endsAt: new Date(T0 + 240_000).toISOString(),
        generatorURL: 'http://prometheus/graph?g0.expr=up',
      },
    ]);
    expect(posted.status).toBe(200);
    // Before the evaluator took it, it is listed as unprocessed.
    const early = await call(server, 'GET', '/api/v2/alerts');
    expect(early.body).toMatchObject([{ labels: { alertname: 'HighLatency' }, status: { state: 'unprocessed' } }]);
    await tickUntil(server, () => hook.received.length >= 1);
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'ops',
      groupLabels: { alertname: 'HighLatency' },
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'HighLatency', instance: 'a:9090' },
          annotations: { summary: 'p99 over 2s' },
          startsAt: new Date(T0 - 60_000).toISOString(),
          generatorURL: 'http://prometheus/graph?g0.expr=up',
        },
      ],
    });

    const alerts = await call(server, 'GET', '/api/v2/alerts');
    expect(alerts.status).toBe(200);
    expect(alerts.body).toEqual([
      {
        labels: { alertname: 'HighLatency', instance: 'a:9090', severity: 'page' },
        annotations: { summary: 'p99 over 2s' },
        startsAt: new Date(T0 - 60_000).toISOString(),
        endsAt: new Date(T0 + 240_000).toISOString(),
        updatedAt: new Date(T0).toISOString(),
        generatorURL: 'http://prometheus/graph?g0.expr=up',
        fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
        receivers: [{ name: 'ops' }],
        status: { state: 'active', silencedBy: [], inhibitedBy: [], mutedBy: [] },
      },
    ]);

    // A silence (Alertmanager shape) mutes the ML team's alert; it is listed as suppressed.
    const sil = await call(server, 'POST', '/api/v2/silences', {
      matchers: [
        { name: 'team', value: 'ml', isRegex: false, isEqual: true },
        { name: 'alertname', value: 'Drift.*', isRegex: true },
      ],
      startsAt: new Date(T0 - 1000).toISOString(),
      endsAt: new Date(T0 + 3_600_000).toISOString(),
      createdBy: 'ops@example.com',
      comment: 'retraining',
    });
    expect(sil.status).toBe(200);
    const silenceID = sil.body.silenceID as string;
    expect(silenceID).toMatch(/^[0-9a-f-]{36}$/);
    expect(
      (await call(server, 'POST', '/api/v2/alerts', [{ labels: { alertname: 'DriftHigh', team: 'ml' } }])).status,
    ).toBe(200);
    await tickUntil(
      server,
      async () => (await call(server!, 'GET', '/api/v2/alerts?unprocessed=false')).body.length === 2,
    );
    clock.advance(60_000);
    await server.app.tickJobs();
    expect(hook.received).toHaveLength(1);
    const suppressed = await call(server, 'GET', '/api/v2/alerts?active=false');
    expect(suppressed.body).toMatchObject([
      {
        labels: { alertname: 'DriftHigh', team: 'ml' },
        receivers: [{ name: 'ml' }],
        status: { state: 'suppressed', silencedBy: [silenceID] },
      },
    ]);
    const filtered = await call(
      server,
      'GET',
      `/api/v2/alerts?filter=${encodeURIComponent('team="ml"')}&silenced=false`,
    );
    expect(filtered.body).toEqual([]);
    const byReceiver = await call(server, 'GET', '/api/v2/alerts?receiver=o.s');
    expect(byReceiver.body.map((a: any) => a.labels.alertname)).toEqual(['HighLatency']);

    const silences = await call(server, 'GET', `/api/v2/silences?filter=${encodeURIComponent('team="ml"')}`);
    expect(silences.body).toEqual([
      {
        id: silenceID,
        status: { state: 'active' },
        updatedAt: new Date(T0).toISOString(),
        matchers: [
          { name: 'team', value: 'ml', isRegex: false, isEqual: true },
          { name: 'alertname', value: 'Drift.*', isRegex: true, isEqual: true },
        ],
        startsAt: new Date(T0).toISOString(),
        endsAt: new Date(T0 + 3_600_000).toISOString(),
        createdBy: 'ops@example.com',
        comment: 'retraining',
      },
    ]);
    expect((await call(server, 'GET', '/api/v2/silences?filter=team%3D%22web%22')).body).toEqual([]);
    expect((await call(server, 'GET', `/api/v2/silence/${silenceID}`)).body.id).toBe(silenceID);

    // Expiring the silence lets the muted alert out at the group's next flush.
    expect((await call(server, 'DELETE', `/api/v2/silence/${silenceID}`)).status).toBe(200);
    expect((await call(server, 'GET', `/api/v2/silence/${silenceID}`)).body.status.state).toBe('expired');
    clock.advance(60_000);
    await tickUntil(server, () => hook.received.length >= 2);
    expect(hook.received[1]).toMatchObject({ receiver: 'ml', alerts: [{ labels: { alertname: 'DriftHigh' } }] });

    // The webhook receiver: another Alertmanager forwards a resolved notification.
    const forwarded = await call(server, 'POST', '/api/v1/alerts/webhook/alertmanager', {
      version: '4',
      status: 'resolved',
      receiver: 'upstream',
      groupKey: '{}:{alertname="HighLatency"}',
      alerts: [
        {
          status: 'resolved',
          labels: { alertname: 'HighLatency', instance: 'a:9090', severity: 'page' },
          annotations: { summary: 'p99 over 2s' },
          startsAt: new Date(T0 - 60_000).toISOString(),
          endsAt: new Date(clock.nowMs() - 1000).toISOString(),
          generatorURL: '',
          fingerprint: 'x',
        },
      ],
    });
    expect(forwarded).toEqual({ status: 200, body: { received: 1 } });
    clock.advance(60_000);
    await tickUntil(server, () => hook.received.length >= 3);
    expect(hook.received[2]).toMatchObject({
      receiver: 'ops',
      status: 'resolved',
      alerts: [{ status: 'resolved', labels: { alertname: 'HighLatency' } }],
    });

    const status = await call(server, 'GET', '/api/v2/status');
    expect(status.body).toMatchObject({
      cluster: { status: 'disabled' },
      versionInfo: { version: expect.any(String) },
    });
    expect(status.body.config.original).toContain('receiver: ops');
    expect((await call(server, 'GET', '/api/v2/receivers')).body).toEqual([{ name: 'ops' }, { name: 'ml' }]);

    // What a WebSocket client on topic `alerts` saw: the alert firing, notifications queued and delivered.
    const data = events.messages.map((m) => m.data as Record<string, any>);
    expect(data).toContainEqual(
      expect.objectContaining({
        kind: 'alert',
        status: 'firing',
        labels: expect.objectContaining({ alertname: 'HighLatency' }),
      }),
    );
    expect(data).toContainEqual(expect.objectContaining({ kind: 'notification', outcome: 'queued', receiver: 'ops' }));
    expect(data).toContainEqual(
      expect.objectContaining({ kind: 'notification', outcome: 'delivered', receiver: 'ml' }),
    );
    expect(data).toContainEqual(expect.objectContaining({ kind: 'alert', status: 'resolved' }));
  });

  it('reports every problem of a bad request, and takes the admin token as bearer or basic password', async () => {
    server = await startTestServer({}, { clock: new FakeClock(T0) });
    const bad = await call(server, 'POST', '/api/v2/alerts', [
      { labels: {} },
      { labels: { 'bad-name': 'x', ok: 'y' }, startsAt: 'yesterday' },
      { labels: { a: 'b' }, startsAt: new Date(T0).toISOString(), endsAt: new Date(T0 - 1).toISOString() },
    ]);
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues).toEqual([
      { path: '0.labels', message: 'at least one label pair is required' },
      { path: '1.labels.bad-name', message: 'invalid label name "bad-name"' },
      { path: '1.startsAt', message: '"yesterday" is not an RFC 3339 date-time' },
      { path: '2.endsAt', message: 'start time must be before end time' },
    ]);
    const badSilence = await call(server, 'POST', '/api/v2/silences', {
      matchers: [{ name: 'x', value: '(', isRegex: true }],
      startsAt: new Date(T0).toISOString(),
      endsAt: new Date(T0 - 1000).toISOString(),
    });
    expect(badSilence.status).toBe(400);
    expect(badSilence.body.error.issues.map((i: any) => i.path)).toEqual([
      'matchers.0',
      'createdBy',
      'comment',
      'endsAt',
      'endsAt',
    ]);
    expect((await call(server, 'GET', '/api/v2/alerts?filter=%3D%3D')).status).toBe(400);
    expect((await call(server, 'DELETE', '/api/v2/silence/nope')).status).toBe(404);
    expect(
      (await call(server, 'POST', '/api/v1/alerts/webhook/alertmanager', { version: '3', alerts: {} })).status,
    ).toBe(400);

    expect((await call(server, 'GET', '/api/v2/alerts', undefined, '')).status).toBe(401);
    const basic = `Basic ${Buffer.from(`prometheus:${ADMIN_TOKEN}`).toString('base64')}`;
    expect(await call(server, 'GET', '/api/v2/alerts', undefined, basic)).toEqual({ status: 200, body: [] });
    const p = await server.createProject('Shop', 'prj_shop');
    expect((await call(server, 'POST', '/api/v2/alerts', [{ labels: { a: 'b' } }], `Bearer ${p.key}`)).status).toBe(
      403,
    );
  });
});
