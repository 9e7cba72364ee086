/**
 * Loki push decoding, on bodies captured from the real shippers: pino-loki (JSON) and
 * winston-loki (protobuf compressed with snappy) posting to a local HTTP server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { pinoLoki } from 'pino-loki';
import snappy from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { decodeLokiJson, decodeLokiProtobuf, parseLabelSet } from './loki-push.js';

let server: Server;
let url = '';
const captured: Array<{ contentType: string; body: Buffer; path: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      captured.push({
        contentType: String(req.headers['content-type']),
        body: Buffer.concat(chunks),
        path: String(req.url),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function waitFor(pred: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(pred()).toBe(true);
}

const ctx = () => ({ projectId: 'p1', nowMs: Date.now() });

describe('Loki push from real shippers', () => {
  it('pino-loki (JSON): lines, labels as resource, level and service', async () => {
    captured.length = 0;
    const stream = pinoLoki({ host: url, batching: false, labels: { service_name: 'checkout', env: 'prod' } });
    const logger = pino({ level: 'debug' }, stream);
    logger.info({ orderId: 42 }, 'order placed');
    logger.error('payment failed');
    await waitFor(() => captured.length >= 2);
    stream.end();
    expect(captured[0]?.path).toBe('/loki/api/v1/push');
    expect(captured[0]?.contentType).toMatch(/json/);
    const logs = captured.flatMap((c) => {
      const r = decodeLokiJson(c.body, ctx());
      if (!r.ok) throw new Error(r.error.message);
      return r.value.logs;
    });
    expect(logs).toHaveLength(2);
    const [info, error] = logs;
    expect(info).toMatchObject({ source: 'loki', serviceName: 'checkout', environment: 'prod', severity: 'info' });
    expect(JSON.parse(info?.body as string)).toMatchObject({ msg: 'order placed', orderId: 42 });
    expect(error?.severity).toBe('error');
    expect(error?.resource).toMatchObject({ service_name: 'checkout', env: 'prod' });
    expect(Math.abs((info?.timeMs as number) - Date.now())).toBeLessThan(60_000);
  });

  it('winston-loki (protobuf + snappy): lines, labels and levels', async () => {
    captured.length = 0;
    const transport = new LokiTransport({
      host: url,
      batching: false,
      labels: { job: 'billing', environment: 'staging' },
      json: false,
      onConnectionError: () => {},
    });
    const logger = winston.createLogger({ level: 'debug', transports: [transport] });
    logger.warn('disk almost full', { disk: 'sda1' });
    logger.info('invoice 17 sent');
    await waitFor(() => captured.length >= 2);
    logger.close();
    expect(captured[0]?.contentType).toBe('application/x-protobuf');
    const logs = captured.flatMap((c) => {
      const r = decodeLokiProtobuf(c.body, ctx());
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.rejected).toBe(0);
      return r.value.logs;
    });
    expect(logs.map((l) => l.severity).sort()).toEqual(['info', 'warn']);
    const warn = logs.find((l) => l.severity === 'warn');
    expect(warn).toMatchObject({ serviceName: 'billing', environment: 'staging' });
    expect(warn?.body).toContain('disk almost full');
  });
});

describe('Loki push validation', () => {
  it('parses label sets with escapes and refuses malformed ones', () => {
    expect(parseLabelSet('{job="a", msg="say \\"hi\\"", x="1"}')).toEqual({ job: 'a', msg: 'say "hi"', x: '1' });
    expect(parseLabelSet('{}')).toEqual({});
    expect(parseLabelSet('job=a')).toBeNull();
    expect(parseLabelSet('{job="a"')).toBeNull();
  });

  it('rejects entries with bad timestamps as partial success, and bad bodies whole', () => {
    const now = Date.now();
    const body = Buffer.from(
      JSON.stringify({
        streams: [
          {
            stream: { app: 'a' },
            values: [
              [`${now}000000`, 'level=error boom'],
              ['yesterday', 'x'],
              [`${now}000000`, 'ok', { trace_id: 'AB'.repeat(16) }],
            ],
          },
        ],
      }),
    );
    const r = decodeLokiJson(body, ctx());
    expect(r.ok && r.value.logs.map((l) => l.body)).toEqual(['level=error boom', 'ok']);
    expect(r.ok && r.value.logs[0]?.severity).toBe('error');
    expect(r.ok && r.value.logs[1]?.traceId).toBe('ab'.repeat(16));
    expect(r.ok && r.value.errorMessage).toMatch(/"yesterday" is not unix nanoseconds/);
    const bad = decodeLokiJson(Buffer.from('{"streams": {}}'), ctx());
    expect(!bad.ok && bad.error.message).toMatch(/streams: expected an array/);
    const notSnappy = decodeLokiProtobuf(Buffer.from('plain text'), ctx());
    expect(!notSnappy.ok && notSnappy.error.message).toMatch(/snappy/);
    const notProto = decodeLokiProtobuf(snappy.compress(Buffer.from([0x0a, 0xff, 0xff, 0xff])), ctx());
    expect(!notProto.ok && notProto.error.message).toMatch(/undecodable Loki PushRequest/);
  });
});
