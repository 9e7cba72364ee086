import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LogMiner, type SamplingPolicy } from '@reskpoints/core';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import winston from 'winston';
import { createPinoIntegration, ReskPointsLogs, ReskPointsTransport } from './index.js';

/** A local HTTP server standing in for ReskPoints' log endpoints; records what arrives. */
interface Recorder {
  url: string;
  policy: SamplingPolicy | null;
  policyStatus: number;
  logsStatus: number[];
  logs: Array<{ body: string; severity: string; attributes: Record<string, unknown> }>;
  stats: Array<Record<string, unknown>>;
  policyRequests: Array<{ ifNoneMatch: string | undefined }>;
  auth: Set<string>;
}

let server: Server;
let rec: Recorder;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeEach(async () => {
  rec = {
    url: '',
    policy: null,
    policyStatus: 200,
    logsStatus: [],
    logs: [],
    stats: [],
    policyRequests: [],
    auth: new Set(),
  };
  server = createServer(async (req, res) => {
    rec.auth.add(String(req.headers.authorization));
    const text = await body(req);
    if (req.url?.startsWith('/api/v1/policies/')) {
      rec.policyRequests.push({ ifNoneMatch: req.headers['if-none-match'] as string | undefined });
      if (!rec.policy) return void res.writeHead(404).end('{}');
      const etag = `"${JSON.stringify(rec.policy).length}"`;
      if (req.headers['if-none-match'] === etag) return void res.writeHead(304).end();
      return void res
        .writeHead(rec.policyStatus, { etag, 'content-type': 'application/json' })
        .end(JSON.stringify({ policy: rec.policy }));
    }
    if (req.url === '/v1/logs') {
      const status = rec.logsStatus.shift() ?? 200;
      if (status !== 200) return void res.writeHead(status, { 'retry-after': '0' }).end('{}');
      const doc = JSON.parse(text);
      for (const rl of doc.resourceLogs)
        for (const sl of rl.scopeLogs)
          for (const r of sl.logRecords)
            rec.logs.push({
              body: r.body.stringValue,
              severity: r.severityText,
              attributes: Object.fromEntries(
                r.attributes.map((a: { key: string; value: Record<string, unknown> }) => [
                  a.key,
                  Object.values(a.value)[0],
                ]),
              ),
            });
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }
    if (req.url === '/api/v1/patterns/stats') {
      rec.stats.push(JSON.parse(text));
      return void res.writeHead(202).end('{}');
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rec.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => new Promise<void>((r) => server.close(() => r())));

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A workload: noisy health checks, chatty cache misses, rare errors. */
function workload(n: number): Array<{ message: string; level: 'info' | 'debug' | 'error' }> {
  const out: Array<{ message: string; level: 'info' | 'debug' | 'error' }> = [];
  for (let i = 0; i < n; i++) {
    if (i % 50 === 7)
      out.push({ message: `payment failed for order ${1000 + i}: upstream timeout after ${i % 90}ms`, level: 'error' });
    else if (i % 3 === 0) out.push({ message: `cache miss for key user:${i} in ${i % 17}ms`, level: 'debug' });
    else out.push({ message: `GET /health 200 in ${i % 13}ms`, level: 'info' });
  }
  return out;
}

function policyFor(rates: Record<string, number>): SamplingPolicy {
  // Pattern ids from the same miner the server uses.
  const m = new LogMiner();
  return {
    service: 'checkout',
    alwaysKeepFrom: 'warn',
    defaultRate: 1,
    rules: Object.entries(rates).map(([message, rate]) => ({ patternId: m.add(message).patternId, rate })),
  };
}

function within(kept: number, n: number, rate: number): void {
  const sd = Math.sqrt(n * rate * (1 - rate));
  expect(Math.abs(kept - n * rate)).toBeLessThan(4 * sd + 1);
}

describe('@reskpoints/sdk with real loggers', () => {
  const rates = { 'GET /health 200 in 3ms': 0.1, 'cache miss for key user:3 in 3ms': 0.25 };

  it('pino: every error delivered, noisy patterns sampled at their rates, statistics reported', async () => {
    rec.policy = policyFor(rates);
    const logs = await new ReskPointsLogs({
      url: rec.url,
      apiKey: 'rpk_test',
      service: 'checkout',
      random: mulberry32(1),
    }).start();
    const written: string[] = [];
    const { hooks } = createPinoIntegration(logs);
    const logger = pino({ level: 'debug', hooks }, { write: (s: string) => void written.push(s) });
    const work = workload(6_000);
    for (const w of work) logger[w.level]({ orderSource: 'web' }, w.message);
    await logs.close();
    // pino still writes what was kept to its own destination, and only that.
    expect(written).toHaveLength(rec.logs.length);

    const errors = work.filter((w) => w.level === 'error');
    const delivered = rec.logs.filter((l) => l.severity === 'ERROR').map((l) => l.body);
    expect(delivered).toEqual(errors.map((e) => e.message));
    const health = work.filter((w) => w.message.startsWith('GET /health')).length;
    const cache = work.filter((w) => w.message.startsWith('cache miss')).length;
    within(rec.logs.filter((l) => l.body.startsWith('GET /health')).length, health, 0.1);
    within(rec.logs.filter((l) => l.body.startsWith('cache miss')).length, cache, 0.25);
    // Attributes from pino's object argument travel with the line, and so does the pattern id.
    expect(rec.logs[0]?.attributes['orderSource']).toBe('web');
    expect(String(rec.logs[0]?.attributes['log.pattern_id'])).toMatch(/^p_/);
    expect(rec.auth).toEqual(new Set(['Bearer rpk_test']));
    // Statistics count every line, kept or not.
    const reported = rec.stats.flatMap((s) => s['patterns'] as Array<{ count: number; keptCount: number }>);
    expect(reported.reduce((s, p) => s + p.count, 0)).toBe(work.length);
    expect(reported.reduce((s, p) => s + p.keptCount, 0)).toBe(rec.logs.length);
  });

  it('winston: the transport samples with the policy and never drops an error', async () => {
    rec.policy = policyFor(rates);
    const logs = await new ReskPointsLogs({
      url: rec.url,
      apiKey: 'rpk_w',
      service: 'checkout',
      random: mulberry32(2),
    }).start();
    const logger = winston.createLogger({ level: 'debug', transports: [new ReskPointsTransport({ logs })] });
    const work = workload(3_000);
    for (const w of work) logger.log(w.level, w.message, { region: 'eu' });
    await new Promise((r) => setImmediate(r));
    await logs.close();
    expect(rec.logs.filter((l) => l.severity === 'ERROR')).toHaveLength(work.filter((w) => w.level === 'error').length);
    within(
      rec.logs.filter((l) => l.body.startsWith('GET /health')).length,
      work.filter((w) => w.message.startsWith('GET /health')).length,
      0.1,
    );
    expect(rec.logs.find((l) => l.severity === 'ERROR')?.attributes['region']).toBe('eu');
  });

  it('keeps everything before any policy, uses the ETag, and ignores an unsafe policy', async () => {
    const logs = new ReskPointsLogs({ url: rec.url, apiKey: 'k', service: 'checkout' });
    expect(await logs.policy.refresh()).toBe('none');
    expect(logs.handle({ message: 'GET /health 200 in 1ms', severity: 'info' })).toBe(true);
    rec.policy = policyFor(rates);
    expect(await logs.policy.refresh()).toBe('updated');
    expect(await logs.policy.refresh()).toBe('unchanged');
    expect(rec.policyRequests.at(-1)?.ifNoneMatch).toMatch(/^"/);
    // A policy that would sample errors is refused; the last good one stays.
    rec.policy = { ...policyFor(rates), rules: [{ patternId: 'p_x', rate: 0.5, severity: 'error' }] };
    expect(await logs.policy.refresh()).toBe('rejected');
    expect(logs.policy.lastError).toMatch(/rules\.0\.severity/);
    expect(logs.policy.policy.policy.rules).toHaveLength(2);
    // Unreachable: still the last good policy.
    const dead = new ReskPointsLogs({ url: 'http://127.0.0.1:9', apiKey: 'k', service: 's' });
    expect(await dead.policy.refresh()).toBe('unreachable');
    expect(dead.handle({ message: 'x', severity: 'debug' })).toBe(true);
    await logs.close();
    await dead.shipper.close(0);
  });

  it('retries after 429 and 503 and delivers each record once; a full buffer drops debug lines before errors', async () => {
    rec.logsStatus = [429, 503];
    const logs = new ReskPointsLogs({ url: rec.url, apiKey: 'k', service: 's', maxBufferedLogs: 5, maxBatchLogs: 100 });
    for (let i = 0; i < 3; i++) logs.handle({ message: `debug line ${i}`, severity: 'debug' });
    for (let i = 0; i < 3; i++) logs.handle({ message: `error line ${i}`, severity: 'error' });
    expect(logs.shipper.dropped).toBe(1);
    await logs.shipper.close(3_000);
    expect(rec.logs.map((l) => l.body)).toEqual([
      'debug line 1',
      'debug line 2',
      'error line 0',
      'error line 1',
      'error line 2',
    ]);
    expect(logs.shipper.failures).toBe(2);
  });
});
