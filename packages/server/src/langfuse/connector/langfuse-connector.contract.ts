/**
 * The pull connector against a local HTTP server that speaks Langfuse's documented daily
 * metrics API (Basic auth, page/limit/fromTimestamp/toTimestamp, {data, meta}), including a
 * 429 with Retry-After, 5xx answers and a refused key. Waiting is on a fake clock.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '@reskpoints/core';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  migrateForTest,
  type OpenedStateSql,
  openStateSql,
  type StateSqlBackend,
} from '../../platform/testing/state-sql.js';
import type { LangfuseDailyMetric } from '../daily-metrics.js';
import { LangfuseMetricsClient, retryAfterMs } from './langfuse-client.js';
import {
  LANGFUSE_CONNECTOR_MIGRATIONS,
  LangfuseConnectorRepository,
  LangfuseMetricsPuller,
} from './langfuse-connector.js';

const NOW = Date.UTC(2026, 10, 30, 15, 0, 0);
const PK = 'pk-lf-test';
const SK = 'sk-lf-test';

const day = (date: string, cost: number, n: number): LangfuseDailyMetric => ({
  date,
  countTraces: n,
  countObservations: n * 2,
  totalCost: cost,
  usage: [
    {
      model: 'gpt-4o',
      inputUsage: 1000 * n,
      outputUsage: 100 * n,
      totalUsage: 1100 * n,
      countObservations: n * 2,
      countTraces: n,
      totalCost: cost,
    },
  ],
});

/** Days the fake Langfuse holds, newest first, as Langfuse orders them. */
const DAYS = [
  day('2026-11-30', 1.25, 5),
  day('2026-11-29', 2.5, 10),
  day('2026-11-28', 0.5, 2),
  day('2026-11-27', 9, 30),
];

interface Seen {
  url: URL;
  auth: string | undefined;
}

/** Run on DuckDB by `npm test` and on PostgreSQL by the cluster suite. */
export function describeLangfuseConnector(backend: StateSqlBackend): void {
  describe(`Langfuse metrics pull connector (${backend})`, () => {
    let server: Server;
    let baseUrl: string;
    let seen: Seen[];
    /** Answers to give before the real ones, in order. */
    let script: Array<(res: ServerResponse) => void>;
    let clock: FakeClock;
    let slept: number[];
    let opened: OpenedStateSql | null = null;
    let repo: LangfuseConnectorRepository;

    beforeAll(async () => {
      server = createServer((req: IncomingMessage, res: ServerResponse) => {
        const url = new URL(req.url ?? '/', 'http://x');
        seen.push({ url, auth: req.headers.authorization });
        const next = script.shift();
        if (next) return next(res);
        if (req.headers.authorization !== `Basic ${Buffer.from(`${PK}:${SK}`).toString('base64')}`) {
          res.writeHead(401, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ message: 'Invalid credentials' }));
        }
        if (url.pathname !== '/api/public/metrics/daily') {
          res.writeHead(404);
          return res.end();
        }
        const page = Number(url.searchParams.get('page') ?? '1');
        const limit = Number(url.searchParams.get('limit') ?? '50');
        const from = url.searchParams.get('fromTimestamp')?.slice(0, 10) ?? '0000';
        const to = url.searchParams.get('toTimestamp')?.slice(0, 10) ?? '9999';
        const inRange = DAYS.filter((d) => d.date >= from && d.date <= to);
        // Two days per page whatever the limit, so that paging is exercised.
        const size = Math.min(limit, 2);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            data: inRange.slice((page - 1) * size, page * size),
            meta: { page, limit: size, totalItems: inRange.length, totalPages: Math.ceil(inRange.length / size) },
          }),
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      await new Promise((r) => server.close(r));
    });
    afterEach(async () => {
      await opened?.close();
      opened = null;
    });

    beforeEach(async () => {
      seen = [];
      script = [];
      slept = [];
      clock = new FakeClock(NOW);
      opened = await openStateSql(backend);
      await migrateForTest(opened.db, [{ name: 'langfuse', stateMigrations: LANGFUSE_CONNECTOR_MIGRATIONS }]);
      repo = new LangfuseConnectorRepository(opened.db);
    });

    const puller = (retry = {}) =>
      new LangfuseMetricsPuller({
        repository: repo,
        clock,
        logger: pino({ level: 'silent' }),
        client: new LangfuseMetricsClient({
          fetch,
          clock,
          random: () => 0.5,
          retry,
          sleep: async (ms) => {
            slept.push(ms);
            clock.advance(ms);
          },
        }),
      });

    it('pulls every page of the lookback window with Basic auth and stores the days', async () => {
      await repo.configure('p1', { baseUrl, publicKey: PK, secretKey: SK, lookbackDays: 3 });
      expect(await puller().runOnce()).toEqual({ pulled: 1, failed: 0 });
      expect(seen.map((s) => s.url.searchParams.get('page'))).toEqual(['1', '2']);
      expect(seen[0]?.url.searchParams.get('fromTimestamp')).toBe('2026-11-28T00:00:00.000Z');
      expect(seen[0]?.url.searchParams.get('toTimestamp')).toBe(new Date(NOW).toISOString());
      const stored = await repo.days('p1', '2026-11-01', '2026-11-30');
      expect(stored.map((d) => [d.date, d.totalCost, d.pulledAtMs])).toEqual([
        ['2026-11-28', 0.5, NOW],
        ['2026-11-29', 2.5, NOW],
        ['2026-11-30', 1.25, NOW],
      ]);
      expect(stored[2]?.usage[0]).toMatchObject({ model: 'gpt-4o', inputUsage: 5000, totalCost: 1.25 });
      expect((await repo.get('p1'))?.status).toEqual({
        lastPullAtMs: NOW,
        lastSuccessAtMs: NOW,
        lastError: null,
        daysStored: 3,
      });
    });

    it('waits as a 429 Retry-After asks, backs off with jitter on 5xx, then succeeds', async () => {
      await repo.configure('p1', { baseUrl, publicKey: PK, secretKey: SK, lookbackDays: 1 });
      script = [
        (res) => {
          res.writeHead(429, { 'retry-after': '7', 'content-type': 'text/plain' });
          res.end('Too Many Requests');
        },
        (res) => {
          res.writeHead(503);
          res.end();
        },
        (res) => {
          res.writeHead(502);
          res.end('bad gateway');
        },
      ];
      const status = await puller({ baseDelayMs: 1000 }).pullProject('p1');
      // Retry-After 7 s, then full jitter (random 0.5) of 1 s·2^1 and 1 s·2^2.
      expect(slept).toEqual([7000, 1000, 2000]);
      expect(seen).toHaveLength(4);
      expect(status).toMatchObject({ lastError: null, daysStored: 1, lastPullAtMs: NOW, lastSuccessAtMs: NOW });
      expect(clock.nowMs()).toBe(NOW + 10_000);
      expect((await repo.days('p1', '2026-11-30', '2026-11-30'))[0]?.totalCost).toBe(1.25);
    });

    it('gives up after maxAttempts on persistent 5xx, and does not retry a refused key', async () => {
      await repo.configure('p1', { baseUrl, publicKey: PK, secretKey: SK, lookbackDays: 1 });
      script = Array.from({ length: 3 }, () => (res: ServerResponse) => {
        res.writeHead(500);
        res.end('boom');
      });
      const failed = await puller({ maxAttempts: 3 }).pullProject('p1');
      expect(seen).toHaveLength(3);
      expect(slept).toHaveLength(2);
      expect(failed?.lastError).toMatch(/^transient: HTTP 500 boom \(after 3 attempts\)/);
      expect(failed?.lastSuccessAtMs).toBeNull();
      expect(await repo.days('p1', '2026-11-01', '2026-11-30')).toEqual([]);

      seen = [];
      slept = [];
      await repo.configure('p1', { baseUrl, publicKey: PK, secretKey: 'sk-lf-wrong', lookbackDays: 1 });
      const refused = await puller().pullProject('p1');
      expect(seen).toHaveLength(1);
      expect(slept).toEqual([]);
      expect(refused?.lastError).toMatch(/^permanent: HTTP 401/);
    });

    it('replaces a day on the next pull, and the job never throws on a broken source', async () => {
      await repo.configure('p1', { baseUrl, publicKey: PK, secretKey: SK, lookbackDays: 1 });
      await repo.putDays('p1', [day('2026-11-30', 0.01, 1)], NOW - 3_600_000);
      await puller().runOnce();
      expect((await repo.days('p1', '2026-11-30', '2026-11-30'))[0]).toMatchObject({
        totalCost: 1.25,
        pulledAtMs: NOW,
      });
      await repo.configure('p2', { baseUrl: 'http://127.0.0.1:1', publicKey: PK, secretKey: SK, lookbackDays: 1 });
      expect(await puller({ maxAttempts: 2 }).runOnce()).toEqual({ pulled: 1, failed: 1 });
      expect((await repo.get('p2'))?.status.lastError).toMatch(/^transient: request failed/);
    });

    it('reads Retry-After as seconds or an HTTP date', () => {
      expect(retryAfterMs('3', NOW)).toBe(3000);
      expect(retryAfterMs(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
      expect(retryAfterMs('soon', NOW)).toBeNull();
      expect(retryAfterMs(null, NOW)).toBeNull();
    });
  });
}
