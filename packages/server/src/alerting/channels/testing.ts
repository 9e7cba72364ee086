/**
 * For channel tests: an HTTP server that records what arrives and answers from a script (a
 * status with headers and body, or `hold` to keep the request open), and a server started on
 * a fake clock with alerting receivers, whose log lines are kept to look for secrets.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { FakeClock } from '@reskpoints/core';
import pino from 'pino';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../test-support/harness.js';

export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hold';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
}

export interface Recorder {
  received: Received[];
  /** Base URL, e.g. `http://127.0.0.1:1234`. */
  base: string;
  close(): Promise<void>;
}

/** Answers each request with the next scripted answer, then 200 (or `fallback`). */
export async function httpRecorder(
  answers: Answer[],
  fallback: Answer = { status: 200, body: 'ok' },
): Promise<Recorder> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        // not JSON
      }
      received.push({ path: req.url ?? '', headers: req.headers, body, json });
      const a = answers.shift() ?? fallback;
      if (a === 'hold') return;
      res.writeHead(a.status, a.headers ?? {});
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    received,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export const T0 = Date.UTC(2026, 10, 30, 9);

export interface AlertingHarness {
  server: TestServer;
  clock: FakeClock;
  /** Every log line the server wrote (level debug and up). */
  logs: string[];
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Posts alerts to `/api/v2/alerts` (Alertmanager's shape). */
  postAlerts(alerts: unknown[]): Promise<void>;
  /** Ticks the jobs until `done` holds, at most ~5 s of real time. */
  tickUntil(done: () => boolean): Promise<void>;
  /** Advances the fake clock and runs one pass. */
  advance(ms: number): Promise<void>;
  /** Closes the server and starts another on the same data, config and clock. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAlerting(
  receivers: unknown[],
  route: Record<string, unknown> = {},
): Promise<AlertingHarness> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const clock = new FakeClock(T0);
  const first = (receivers[0] as { name: string }).name;
  const logger = pino({ level: 'debug' }, sink);
  let server = await startTestServer(
    {
      logLevel: 'debug',
      alerting: {
        evaluationTickMs: 50,
        route: {
          receiver: first,
          groupBy: ['alertname'],
          groupWait: 0,
          groupInterval: '1m',
          repeatInterval: '4h',
          ...route,
        },
        receivers,
        delivery: { initialBackoffMs: 100, maxBackoffMs: 1_000, maxAttempts: 5, timeoutMs: 5_000 },
      },
    },
    { clock, logger },
  );
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const tickUntil = async (done: () => boolean) => {
    for (let i = 0; i < 100 && !done(); i++) {
      await server.app.tickJobs();
      if (!done()) await new Promise((r) => setTimeout(r, 50));
    }
  };
  const h: AlertingHarness = {
    server,
    clock,
    logs,
    api,
    async postAlerts(alerts) {
      const r = await api('POST', '/api/v2/alerts', alerts);
      if (r.status !== 200) throw new Error(`POST /api/v2/alerts: ${r.status} ${JSON.stringify(r.body)}`);
    },
    tickUntil,
    async advance(ms) {
      clock.advance(ms);
      await server.app.tickJobs();
    },
    async restart() {
      await server.app.close();
      server = await startTestServer(server.config, { clock, logger });
      h.server = server;
    },
    stop: () => server.stop(),
  };
  return h;
}

/** The notification log's entries, newest first. */
export async function sentLog(h: AlertingHarness): Promise<any[]> {
  return (await h.api('GET', '/api/v1/alerts/notifications')).body.sent;
}
