/**
 * Logs end to end on a started server: real shippers deliver unchanged (OpenTelemetry logs SDK
 * with the OTLP protobuf exporter, pino-loki, winston-loki, the native batch), logs get pattern
 * ids, search and pattern statistics answer, policies are versioned, and the logging SDK applies
 * a generated policy.
 */
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { createPinoIntegration, ReskPointsLogs } from '@reskpoints/sdk';
import pino from 'pino';
import { pinoLoki } from 'pino-loki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { startTestServer, type TestServer } from '../test-support/harness.js';

let server: TestServer;
let key: string;
let projectId: string;

beforeAll(async () => {
  server = await startTestServer();
  ({ key, projectId } = await server.createProject('logs'));
});
afterAll(async () => {
  await server?.stop();
});

const auth = () => ({ authorization: `Bearer ${key}` });
async function get(
  path: string,
  headers: Record<string, string> = auth(),
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${server.url}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}
async function send(method: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? auth() : { ...auth(), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await fn();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    v = await fn();
  }
  return v;
}

describe('logs on a started server', () => {
  it('takes OTLP logs from the real OpenTelemetry SDK and finds them by service, severity, trace and text', async () => {
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout' }),
      processors: [
        new BatchLogRecordProcessor({
          exporter: new OTLPLogExporter({ url: `${server.url}/v1/logs`, headers: auth() }),
        }),
      ],
    });
    const logger = provider.getLogger('app');
    for (let i = 0; i < 50; i++)
      logger.emit({
        severityNumber: i % 10 === 0 ? SeverityNumber.ERROR : SeverityNumber.INFO,
        body: i % 10 === 0 ? `payment failed for order ${i}` : `cart ${i} updated in ${i}ms`,
        attributes: { i },
      });
    await provider.forceFlush();
    await provider.shutdown();
    const all = await get('/api/v1/logs?from=now-1h&service=checkout&limit=100');
    expect(all.status).toBe(200);
    expect(all.body.items).toHaveLength(50);
    const errors = await get('/api/v1/logs?from=now-1h&severity=error');
    expect(errors.body.items.map((l: any) => l.body).sort()).toEqual(
      [0, 10, 20, 30, 40].map((i) => `payment failed for order ${i}`).sort(),
    );
    // Pattern ids were set at ingest: two patterns, one per kind of line.
    const ids = new Set(all.body.items.map((l: any) => l.patternId));
    expect(ids.size).toBe(2);
    const text = await get('/api/v1/logs?from=now-1h&q=PAYMENT%20FAILED');
    expect(text.body.items).toHaveLength(5);
    // Paging: 3 pages of 20 cover the 50 exactly once.
    const seen: string[] = [];
    let cursor = '';
    for (let page = 0; page < 5; page++) {
      const r = await get(`/api/v1/logs?from=now-1h&service=checkout&limit=20${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...r.body.items.map((l: any) => l.id));
      if (!r.body.nextCursor) break;
      cursor = encodeURIComponent(r.body.nextCursor);
    }
    expect(new Set(seen).size).toBe(50);
    expect(seen).toHaveLength(50);
  });

  it('takes Loki pushes from pino-loki (JSON) and winston-loki (snappy protobuf) with the key as Basic password', async () => {
    const stream = pinoLoki({
      host: server.url,
      batching: false,
      labels: { service_name: 'pino-svc' },
      basicAuth: { username: 'anyone', password: key },
    });
    const plog = pino({}, stream);
    plog.warn('disk almost full on sda1');
    const transport = new LokiTransport({
      host: server.url,
      batching: false,
      json: false,
      labels: { job: 'winston-svc' },
      basicAuth: `anyone:${key}`,
      onConnectionError: () => {},
    });
    const wlog = winston.createLogger({ transports: [transport] });
    wlog.error('invoice 17 could not be sent');
    const found = await waitFor(
      () => get('/api/v1/logs?from=now-1h&service=pino-svc,winston-svc'),
      (r) => r.body.items?.length === 2,
    );
    stream.end();
    wlog.close();
    expect(found.body.items.map((l: any) => [l.serviceName, l.severity]).sort()).toEqual([
      ['pino-svc', 'warn'],
      ['winston-svc', 'error'],
    ]);
  });

  it('answers 400 naming the field for a bad native batch, 401 without a key, 415 for a wrong type', async () => {
    const bad = await send('POST', '/api/v1/logs', { logs: [{ message: 'x', timestamp: 'yesterday' }] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('logs.0.timestamp');
    const ok = await send('POST', '/api/v1/logs', {
      logs: [{ message: 'native line 1', service: 'native', severity: 'WARNING' }],
    });
    expect(ok).toEqual({ status: 200, body: { accepted: 1 } });
    // Sent twice with its id and time (a client retry): stored once.
    const again = { logs: [{ id: 'n1', timestamp: Date.now() - 1000, message: 'native line 1', service: 'native' }] };
    expect((await send('POST', '/api/v1/logs', again)).status).toBe(200);
    expect((await send('POST', '/api/v1/logs', again)).status).toBe(200);
    const r = await get('/api/v1/logs?from=now-1h&service=native');
    expect(
      r.body.items.map((l: any) => l.id).sort(),
      JSON.stringify(r.body.items.map((l: any) => [l.id, l.timeMs, l.body])),
    ).toHaveLength(2);
    expect((await get('/api/v1/logs?from=now-1h', {})).status).toBe(401);
    const res = await fetch(`${server.url}/api/v1/logs`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(res.status).toBe(415);
    expect((await get('/api/v1/logs?from=now-1h&severity=loud')).status).toBe(400);
  });

  it('serves pattern statistics, versioned policies with ETag, history and compare, and generates a policy with savings', async () => {
    const lines = [];
    for (let i = 0; i < 600; i++)
      lines.push({ message: `GET /health 200 in ${i % 9}ms`, service: 'api', severity: 'info' });
    for (let i = 0; i < 20; i++)
      lines.push({ message: `db timeout after ${i}ms on shard ${i % 3}`, service: 'api', severity: 'error' });
    expect((await send('POST', '/api/v1/logs', { logs: lines })).status).toBe(200);
    const stats = await get('/api/v1/logs/patterns?from=now-1h&service=api');
    expect(stats.status).toBe(200);
    const health = stats.body.patterns.find((p: any) => p.template?.startsWith('GET /health'));
    if (health?.count !== 600) console.log(JSON.stringify(stats.body, null, 1));
    expect(health).toMatchObject({ count: 600, severities: { info: 600 } });
    expect(health.examples.length).toBeGreaterThan(0);
    expect(health.ratePerMinute).toBeCloseTo(10, 5);
    // Generate (preview), then apply: errors are never sampled, health is.
    const preview = await send('POST', '/api/v1/policies/api/generate', { window: '1m', targetPerMinute: 60 });
    expect(preview.status).toBe(200);
    expect(preview.body.version).toBeNull();
    expect(preview.body.policy.rules.map((r: any) => r.patternId)).toEqual([health.patternId]);
    expect(preview.body.projection.savedUsdPerMonth).toBeGreaterThan(0);
    expect((await get('/api/v1/policies/api')).status).toBe(404);
    const applied = await send('POST', '/api/v1/policies/api/generate', {
      window: '1m',
      targetPerMinute: 60,
      apply: true,
    });
    expect(applied.body.version.version).toBe(1);
    const current = await get('/api/v1/policies/api');
    expect(current.status).toBe(200);
    const etag = current.headers.get('etag') as string;
    expect((await get('/api/v1/policies/api', { ...auth(), 'if-none-match': etag })).status).toBe(304);
    // An unsafe policy is refused naming the problem; a safe manual one becomes version 2.
    const unsafe = await send('POST', '/api/v1/policies/api', {
      policy: { service: 'api', rules: [{ patternId: health.patternId, rate: 0.5, severity: 'error' }] },
    });
    expect(unsafe.status).toBe(400);
    expect(JSON.stringify(unsafe.body)).toContain('policy.rules.0.severity');
    const manual = await send('POST', '/api/v1/policies/api', {
      policy: { service: 'api', rules: [{ patternId: health.patternId, rate: 0.25 }] },
      note: 'keep a quarter',
    });
    expect(manual.status).toBe(201);
    expect(manual.body.version).toBe(2);
    const cmp = await get('/api/v1/policies/api/compare?from=1&to=2');
    expect(cmp.body.diff.changed[0].to.rate).toBe(0.25);
    expect((await get('/api/v1/policies/api', { ...auth(), 'if-none-match': etag })).status).toBe(200);
    expect((await send('DELETE', '/api/v1/policies/api', undefined)).status).toBe(200);
    const history = await get('/api/v1/policies/api/history');
    expect(history.body.versions.map((v: any) => [v.version, v.deleted])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);
    expect((await get('/api/v1/policies/api')).status).toBe(404);
  });

  it('the SDK fetches the service policy, samples with real pino, ships kept lines and reports statistics the policy generator uses', async () => {
    const probe = new (await import('@reskpoints/core')).LogMiner();
    const noisyId = probe.add('GET /items 200 in 1ms').patternId;
    expect(
      (
        await send('POST', '/api/v1/policies/shop', {
          policy: { service: 'shop', rules: [{ patternId: noisyId, rate: 0.1 }] },
        })
      ).status,
    ).toBe(201);
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const logs = await new ReskPointsLogs({ url: server.url, apiKey: key, service: 'shop', random }).start();
    expect(logs.policy.lastOutcome).toBe('updated');
    const logger = pino({ hooks: createPinoIntegration(logs).hooks }, { write() {} });
    let droppedBytes = 0;
    let keptNoisy = 0;
    for (let i = 0; i < 2000; i++) {
      if (i % 100 === 0) logger.error(`checkout failed for cart ${i}`);
      const msg = `GET /items 200 in ${i % 7}ms`;
      const before = logs.sampler.peekStats().reduce((s, p) => s + p.keptBytes, 0);
      logger.info(msg);
      const after = logs.sampler.peekStats().reduce((s, p) => s + p.keptBytes, 0);
      if (after === before) droppedBytes += msg.length;
      else keptNoisy++;
    }
    await logs.close();
    expect(logs.statsReported).toBe(1);
    const stored = await waitFor(
      () => get('/api/v1/logs?from=now-1h&service=shop&limit=1000'),
      (r) => r.body.items?.length === 20 + keptNoisy,
    );
    expect(stored.body.items.filter((l: any) => l.severity === 'error')).toHaveLength(20);
    expect(Math.abs(keptNoisy - 200)).toBeLessThan(4 * Math.sqrt(2000 * 0.1 * 0.9));
    // The statistics the SDK reported count every line; the savings estimate matches what was dropped.
    const gen = await send('POST', '/api/v1/policies/shop/generate', { window: '1h', targetPerMinute: 1 });
    expect(gen.body.statsFrom).toBe('both');
    // The current policy's projected savings over the hour the statistics cover are the bytes the
    // SDK dropped: the projection is a month of the window's dropped bytes.
    const projected = await send('POST', '/api/v1/policies/shop/project', { window: '1h' });
    expect(projected.status).toBe(200);
    expect(projected.body.version).toBe(1);
    expect(projected.body.statsFrom).toBe('both');
    const rule = projected.body.projection.byRule.find((r: any) => r.patternId === noisyId);
    const monthsPerHour = 1 / (30 * 24);
    const projectedDroppedBytes = rule.savedGbPerMonth * 1e9 * monthsPerHour;
    const noisyBytes = Array.from({ length: 2000 }, (_, i) => `GET /items 200 in ${i % 7}ms`.length).reduce(
      (a, b) => a + b,
      0,
    );
    // The projection is the expectation (90% of the pattern's bytes); what was dropped is one draw.
    expect(projectedDroppedBytes).toBeCloseTo(noisyBytes * 0.9, 3);
    const sigma = Math.sqrt(2000 * 0.1 * 0.9) * (noisyBytes / 2000);
    expect(Math.abs(droppedBytes - projectedDroppedBytes)).toBeLessThan(4 * sigma);
    // Unknown policy: 404 naming the service; a bad body: 400 naming the field.
    expect((await send('POST', '/api/v1/policies/nosuch/project', {})).status).toBe(404);
    const bad = await send('POST', '/api/v1/policies/shop/project', { window: 5 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('window');
  });
});
