/**
 * OTLP logs decoding, on bodies captured from the real OpenTelemetry JS logs SDK (protobuf and
 * JSON exporters) sent to a local HTTP server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOtlpLogs, encodeOtlpLogsResponse } from './otlp-logs.js';
import type { OtlpEncoding } from './otlp-traces.js';

let server: Server;
let port = 0;
const captured: Buffer[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      captured.push(body);
      res.writeHead(200, { 'content-type': String(req.headers['content-type']) }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const NOW = Date.now();
const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

/** Emits four records through the real SDK; the exported bodies land in `captured`. */
async function capture(encoding: OtlpEncoding): Promise<void> {
  captured.length = 0;
  const url = `http://127.0.0.1:${port}/v1/logs`;
  const exporter = encoding === 'json' ? new JsonLogExporter({ url }) : new ProtoLogExporter({ url });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({
      'service.name': 'checkout',
      'deployment.environment': 'prod',
      'host.name': 'web-1',
    }),
    processors: [new BatchLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('app');
  logger.emit({
    timestamp: NOW - 1_000,
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: 'payment failed for order 42',
    attributes: { 'order.id': 42, retry: true, 'http.route': '/pay' },
    context: undefined,
  });
  logger.emit({ severityNumber: SeverityNumber.INFO, body: { structured: 'yes', n: 1 }, attributes: {} });
  logger.emit({
    severityText: 'warning',
    body: 'disk almost full',
    eventName: 'gen_ai.user.message',
    attributes: { 'gen_ai.system': 'openai' },
  } as never);
  // A record tied to a span.
  logger.emit({
    severityNumber: SeverityNumber.DEBUG,
    body: 'inside span',
    attributes: {},
    context: (await import('@opentelemetry/api')).trace.setSpanContext(
      (await import('@opentelemetry/api')).context.active(),
      { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 },
    ),
  });
  await provider.forceFlush();
  await provider.shutdown();
  expect(captured.length).toBeGreaterThan(0);
}

describe.each(['protobuf', 'json'] as const)('OTLP logs from the real SDK (%s)', (encoding) => {
  it('decodes severity, body, attributes, resource, event name and trace context', async () => {
    const bodies: Buffer[] = [];
    await capture(encoding);
    bodies.push(...captured);
    const logs = bodies.flatMap((b) => {
      const r = decodeOtlpLogs(b, encoding, { projectId: 'p1', nowMs: NOW, excerptMaxChars: 100 });
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.rejectedLogRecords).toBe(0);
      return r.value.logs;
    });
    expect(logs).toHaveLength(4);
    const [error, structured, event, inSpan] = logs;
    expect(error).toMatchObject({
      projectId: 'p1',
      source: 'otlp',
      timeMs: NOW - 1_000,
      serviceName: 'checkout',
      environment: 'prod',
      severity: 'error',
      severityNumber: 17,
      severityText: 'ERROR',
      body: 'payment failed for order 42',
      attributes: { 'order.id': 42, retry: true, 'http.route': '/pay' },
      resource: { 'host.name': 'web-1' },
      traceId: null,
      patternId: null,
      ingestedAtMs: NOW,
    });
    expect(error?.id).toMatch(/^l_[0-9a-f]{16}$/);
    expect(JSON.parse(structured?.body as string)).toEqual({ structured: 'yes', n: 1 });
    expect(structured?.severity).toBe('info');
    // No timestamp: the observed time stands in.
    expect(Math.abs((structured?.timeMs as number) - NOW)).toBeLessThan(60_000);
    expect(event?.severity).toBe('warn');
    expect(event?.eventName).toBe('gen_ai.user.message');
    expect(inSpan).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, severity: 'debug' });
    // Decoding again gives the same ids (a retried export is stored once).
    const again = decodeOtlpLogs(bodies[0] as Buffer, encoding, {
      projectId: 'p1',
      nowMs: NOW + 5,
      excerptMaxChars: 100,
    });
    expect(again.ok && again.value.logs.map((l) => l.id)).toEqual(
      logs.slice(0, again.ok ? again.value.logs.length : 0).map((l) => l.id),
    );
  });
});

describe('OTLP logs validation', () => {
  const ctx = { projectId: 'p', nowMs: NOW, excerptMaxChars: 0 };
  it('rejects records with bad ids or times as partial success and keeps the rest', () => {
    const body = Buffer.from(
      JSON.stringify({
        resourceLogs: [
          {
            scopeLogs: [
              {
                logRecords: [
                  { timeUnixNano: String(NOW * 1e6), body: { stringValue: 'ok' } },
                  { timeUnixNano: '1000', body: { stringValue: 'too old' } },
                  { traceId: 'xyz', body: { stringValue: 'bad trace' } },
                  { severityNumber: 'not a level', body: { stringValue: 'bad enum' } },
                ],
              },
            ],
          },
        ],
      }),
    );
    const r = decodeOtlpLogs(body, 'json', ctx);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.logs.map((l) => l.body)).toEqual(['ok']);
    expect(r.value.rejectedLogRecords).toBe(3);
    expect(r.value.errorMessage).toMatch(/before 2000/);
    expect(r.value.errorMessage).toMatch(/traceId "xyz"/);
    expect(r.value.errorMessage).toMatch(/severityNumber/);
  });

  it('refuses undecodable bodies with a message naming the problem', () => {
    const r1 = decodeOtlpLogs(Buffer.from('{"resourceLogs": 5}'), 'json', ctx);
    expect(!r1.ok && r1.error.message).toMatch(/resourceLogs: expected an array/);
    const r2 = decodeOtlpLogs(Buffer.from([0x0a, 0xff, 0x01]), 'protobuf', ctx);
    expect(!r2.ok && r2.error.message).toMatch(/undecodable OTLP\/protobuf ExportLogsServiceRequest/);
    const r3 = decodeOtlpLogs(Buffer.alloc(0), 'json', ctx);
    expect(!r3.ok && r3.error.code).toBe('RP_INVALID_BODY');
  });

  it('encodes partial success the way protobuf readers decode it', () => {
    const bytes = encodeOtlpLogsResponse(300, 'two bad', 'protobuf') as Uint8Array;
    const root = protobuf.Root.fromJSON({
      nested: {
        R: { fields: { partialSuccess: { type: 'P', id: 1 } } },
        P: { fields: { rejectedLogRecords: { type: 'int64', id: 1 }, errorMessage: { type: 'string', id: 2 } } },
      },
    });
    const msg = root.lookupType('R').toObject(root.lookupType('R').decode(bytes), { longs: Number });
    expect(msg).toEqual({ partialSuccess: { rejectedLogRecords: 300, errorMessage: 'two bad' } });
    expect(encodeOtlpLogsResponse(0, null, 'protobuf')).toHaveLength(0);
    expect(encodeOtlpLogsResponse(0, null, 'json')).toBe('{}');
  });
});
