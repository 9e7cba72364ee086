/**
 * The durable outbox across a crash: the built server (a child process) starts delivering a
 * notification to a webhook receiver that holds the request open, is killed with SIGKILL
 * before the receiver answers, and is restarted on the same data directory. The notification
 * is delivered again by the restarted server and completes exactly once; the killed attempt
 * and the completed one carry the same Idempotency-Key; the pipeline does not decide to send
 * it a second time, also when the alert is re-sent after the restart.
 */
import { createHmac } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type ChildServer, spawnServer, tempDir } from '../test-support/harness.js';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** Answered 200 (the receiver acknowledged it); false while held or when the sender went away. */
  completed: boolean;
  aborted: boolean;
}

/** Holds the first request open (never answers it); answers every later one with 200. */
async function holdingReceiver() {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const d: Delivery = { headers: req.headers, body, completed: false, aborted: false };
      deliveries.push(d);
      res.on('close', () => {
        if (!res.writableFinished) d.aborted = true;
      });
      if (deliveries.length === 1) return; // held: the sender is killed before we answer
      res.writeHead(200);
      res.end('ok', () => {
        d.completed = true;
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    deliveries,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function waitFor(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function call(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe('notification delivery across SIGKILL', () => {
  const dataDir = tempDir('reskpoints-alert-restart-');
  let server: ChildServer | undefined;
  let receiver: Awaited<ReturnType<typeof holdingReceiver>> | undefined;
  afterAll(async () => {
    await server?.kill9();
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers a notification interrupted by kill -9 after the restart, and exactly once', async () => {
    receiver = await holdingReceiver();
    const configFile = join(dataDir, 'reskpoints.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        alerting: {
          evaluationTickMs: 100,
          route: { receiver: 'hook', groupBy: ['alertname'], groupWait: 0, groupInterval: '1m', repeatInterval: '4h' },
          receivers: [{ name: 'hook', webhook: { url: receiver.url, secret: 'restart-secret' } }],
          // Longer than the test: the held attempt can only end by the kill.
          delivery: { timeoutMs: 120_000, initialBackoffMs: 200 },
        },
      }),
    );
    server = await spawnServer(dataDir, ['--config', configFile]);
    const alert = {
      labels: { alertname: 'BudgetExceeded', project: 'prj_shop', severity: 'page' },
      annotations: { summary: 'prj_shop spent 112% of its monthly budget' },
    };
    expect((await call(server.url, 'POST', '/api/v2/alerts', [alert])).status).toBe(200);

    await waitFor('the first delivery attempt', () => receiver?.deliveries.length === 1);
    const held = receiver.deliveries[0] as Delivery;
    const pending = (await call(server.url, 'GET', '/api/v1/alerts/notifications')).body;
    expect(pending.sent).toEqual([]);
    expect(pending.pending).toMatchObject([{ receiver: 'hook', channel: 'webhook', status: 'firing', attempts: 0 }]);
    const id = pending.pending[0].id as string;
    expect(held.headers['idempotency-key']).toBe(id);

    await server.kill9();
    await waitFor('the held request to be cut', () => held.aborted);
    expect(held.completed).toBe(false);

    server = await spawnServer(dataDir, ['--config', configFile]);
    await waitFor('the delivery after the restart', () => receiver?.deliveries.some((d) => d.completed) ?? false);
    // Prometheus re-sends firing alerts: after the restart that must not make a new notification.
    expect((await call(server.url, 'POST', '/api/v2/alerts', [alert])).status).toBe(200);
    await waitFor('the re-sent alert to be taken', async () => {
      const alerts = (await call(server?.url ?? '', 'GET', '/api/v2/alerts')).body as unknown[];
      return alerts.length === 1;
    });
    // Many evaluation passes (every 100 ms) later, still one notification.
    await new Promise((r) => setTimeout(r, 3_000));

    const deliveries = receiver.deliveries;
    expect(deliveries).toHaveLength(2);
    expect(deliveries.filter((d) => d.completed)).toHaveLength(1);
    expect(new Set(deliveries.map((d) => d.headers['idempotency-key']))).toEqual(new Set([id]));
    const done = deliveries[1] as Delivery;
    expect(done.body).toBe(held.body);
    const ts = done.headers['x-reskpoints-timestamp'] as string;
    expect(done.headers['x-reskpoints-signature']).toBe(
      `sha256=${createHmac('sha256', 'restart-secret').update(`${ts}.${done.body}`).digest('hex')}`,
    );
    expect(JSON.parse(done.body)).toMatchObject({
      status: 'firing',
      receiver: 'hook',
      alerts: [{ labels: alert.labels, annotations: alert.annotations }],
    });

    const log = (await call(server.url, 'GET', '/api/v1/alerts/notifications')).body;
    expect(log.pending).toEqual([]);
    expect(log.sent).toMatchObject([{ id, receiver: 'hook', channel: 'webhook', outcome: 'delivered' }]);
    expect(await server.stop()).toBe(0);
    server = undefined;
  });
});
