/**
 * The `alerts` topic of the `/api/v1/events` WebSocket for rule alerts, on a fake clock: an
 * admin client sees a rule's series go pending, then firing (after `for`), the alert fire,
 * the notification queued and delivered, and finally the series and the alert resolve, in
 * that order; a project key's client sees none of it (alerts belong to no project); a bad
 * topic name is refused before the upgrade.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PlatformEvent } from '../platform/events.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';

const T0 = Date.UTC(2026, 10, 30, 10);

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

describe('alerts on the events WebSocket', () => {
  let server: TestServer | null = null;
  const closers: (() => void)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) c();
    await server?.stop();
    server = null;
  });

  it('streams rule transitions, the alert and its notifications in order; project keys see none', async () => {
    const received: string[] = [];
    const hook: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push(body);
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    closers.push(() => hook.close());
    const clock = new FakeClock(T0);
    server = await startTestServer(
      {
        alerting: {
          rules: [
            {
              name: 'SlowCalls',
              metric: 'latencyP95Ms',
              window: '5m',
              groupBy: ['model'],
              threshold: { op: '>', value: 1000 },
              for: '1m',
              annotations: { summary: 'p95 {{ $value }} ms on {{ $labels.model }}' },
            },
          ],
          route: { receiver: 'hook', groupBy: ['alertname'], groupWait: 0, groupInterval: '1m' },
          receivers: [{ name: 'hook', webhook: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/` } }],
        },
      },
      { clock },
    );
    const s = server;
    const project = await s.createProject('Shop', 'prj_shop');
    const ws = s.url.replace('http', 'ws');
    const admin = await openEvents(`${ws}/api/v1/events?topics=alerts&token=${ADMIN_TOKEN}`);
    closers.push(() => admin.ws.close());
    const scoped = await openEvents(`${ws}/api/v1/events?topics=alerts&token=${project.key}`);
    closers.push(() => scoped.ws.close());
    const data = () => admin.messages.map((m) => m.data as Record<string, any>);
    const until = async (what: string, done: () => boolean) => {
      for (let i = 0; i < 100 && !done(); i++) {
        await s.app.tickJobs();
        if (!done()) await new Promise((r) => setTimeout(r, 30));
      }
      if (!done()) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(data())}`);
    };

    const res = await fetch(`${s.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${project.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [1, 2, 3].map((i) => ({
          id: `slow-${i}`,
          timestamp: new Date(T0 - 1000 * i).toISOString(),
          provider: 'openai',
          model: 'gpt-4o',
          latencyMs: 4000,
          usage: { inputTokens: 10, outputTokens: 10 },
        })),
      }),
    });
    expect(res.status).toBe(200);
    await until('the series to go pending', () => data().some((d) => d['kind'] === 'rule'));
    expect(data()).toEqual([
      {
        kind: 'rule',
        rule: 'SlowCalls',
        fingerprint: expect.any(String),
        labels: { model: 'gpt-4o', alertname: 'SlowCalls' },
        from: 'inactive',
        to: 'pending',
        value: 4000,
      },
    ]);
    const fingerprint = data()[0]?.['fingerprint'];
    // Pending does not notify.
    expect(received).toHaveLength(0);

    clock.advance(60_000);
    await until('the delivery', () => data().some((d) => d['outcome'] === 'delivered'));
    const afterFiring = data().slice(1);
    expect(
      afterFiring.map((d) => `${d['kind']}:${d['to'] ?? d['status']}${d['outcome'] ? `:${d['outcome']}` : ''}`),
    ).toEqual(['rule:firing', 'alert:firing', 'notification:firing:queued', 'notification:firing:delivered']);
    expect(afterFiring[0]).toMatchObject({ from: 'pending', to: 'firing', fingerprint });
    expect(afterFiring[1]).toMatchObject({
      fingerprint,
      labels: { alertname: 'SlowCalls', model: 'gpt-4o' },
      annotations: { summary: 'p95 4000 ms on gpt-4o' },
      startsAtMs: T0 + 60_000,
    });
    expect(afterFiring[3]).toMatchObject({ receiver: 'hook', attempts: 1, id: afterFiring[2]?.['id'] });
    expect(received).toHaveLength(1);
    // The REST API agrees with what the socket said.
    const rules = (await (
      await fetch(`${s.url}/api/v1/alerts/rules/SlowCalls`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json()) as { rule: { state: string; series: { status: string }[] } };
    expect(rules.rule).toMatchObject({ state: 'firing', series: [{ status: 'firing' }] });

    // The calls leave the window: the series goes inactive, the alert resolves.
    clock.advance(6 * 60_000);
    await until('the resolution', () =>
      data().some((d) => d['kind'] === 'alert' && d['status'] === 'resolved' && d['fingerprint'] === fingerprint),
    );
    expect(data()).toContainEqual(
      expect.objectContaining({ kind: 'rule', from: 'firing', to: 'inactive', fingerprint, value: null }),
    );

    // Alerts belong to no project: a project key's socket got nothing.
    expect(scoped.messages).toEqual([]);
    // A bad topic name is a 400 before any upgrade.
    const bad = await fetch(`${s.url}/api/v1/events?topics=al%20erts&token=${ADMIN_TOKEN}`);
    expect(bad.status).toBe(400);
  });
});
