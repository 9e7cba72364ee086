import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  type ChildServer,
  createProject,
  spawnServer,
  spawnStalledStoreServer,
  tempDir,
} from '../test-support/harness.js';

const T0 = Date.UTC(2026, 10, 2, 8, 0, 0);

function batchOf(start: number, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: `evt-${start + i}`,
    timestamp: T0 + (start + i) * 10,
    provider: 'openai',
    model: 'gpt-4o-mini',
    latencyMs: 50,
    usage: { inputTokens: 10, outputTokens: 2 },
  }));
}

async function countCalls(url: string): Promise<{ total: number; ids: Set<string>; models: string[] }> {
  const ids = new Set<string>();
  const models: string[] = [];
  let total = 0;
  let cursor: string | null = null;
  do {
    const res: Response = await fetch(
      `${url}/api/v1/llm/calls?from=${T0}&to=${T0 + 86_400_000}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      },
    );
    const page = (await res.json()) as { items: Array<{ id: string; model: string }>; nextCursor: string | null };
    total += page.items.length;
    for (const c of page.items) {
      ids.add(c.id);
      models.push(c.model);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return { total, ids, models };
}

describe('acknowledged means durable', () => {
  const dataDir = tempDir('reskpoints-durable-');
  let server: ChildServer | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged event exactly once across kill -9, restart and client retries', async () => {
    server = await spawnServer(dataDir);
    const { key } = await createProject(server.url, 'durable');
    const ingest = (url: string, batch: unknown[]) =>
      fetch(`${url}/api/v1/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      });

    // Concurrent writers; record what was acknowledged, then kill while more is in flight.
    const acked = new Set<string>();
    const sent: Array<Promise<void>> = [];
    for (let b = 0; b < 30; b++) {
      const batch = batchOf(b * 100, 100);
      sent.push(
        ingest(server.url, batch).then(
          async (res) => {
            if (res.status === 200) for (const e of batch) acked.add(e.id);
            await res.body?.cancel();
          },
          () => undefined,
        ),
      );
      if (b === 20) await Promise.race([Promise.all(sent.slice(0, 10)), new Promise((r) => setTimeout(r, 2000))]);
    }
    await Promise.all(sent.slice(0, 10));
    await server.kill9();
    await Promise.all(sent);
    expect(acked.size).toBeGreaterThanOrEqual(1000);

    server = await spawnServer(dataDir);
    const after = await countCalls(server.url);
    for (const id of acked) expect(after.ids.has(id)).toBe(true);
    expect(after.total).toBe(after.ids.size);

    // The client retries everything (acknowledged or not): nothing is counted twice.
    for (let b = 0; b < 30; b++) {
      const res = await ingest(server.url, batchOf(b * 100, 100));
      expect(res.status).toBe(200);
    }
    const final = await countCalls(server.url);
    expect(final.total).toBe(3000);
    expect(final.ids.size).toBe(3000);
    expect(await server.stop()).toBe(0);
    server = undefined;
  });

  it('keeps what was acknowledged from the acknowledgement log across kill -9 while the store is hung', async () => {
    const dir = tempDir('reskpoints-durable-log-');
    try {
      // Every append hangs, so each 200 below can only come from the acknowledgement log.
      let stalled = await spawnStalledStoreServer(dir);
      const { key } = await createProject(stalled.url, 'stalled');
      const post = (path: string, type: string, body: string) =>
        fetch(`${stalled.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': type },
          body,
        });
      const native = await Promise.all(
        Array.from({ length: 8 }, (_, b) =>
          post('/api/v1/ingest', 'application/json', JSON.stringify({ batch: batchOf(b * 50, 50) })),
        ),
      );
      for (const res of native) expect(await res.json()).toEqual({ accepted: 50, duplicates: 0 });

      const nanos = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
      const otlpJson = {
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '0af7651916cd43dd8448eb211c80319c',
                    spanId: 'b7ad6b7169203331',
                    name: 'chat',
                    kind: 3,
                    startTimeUnixNano: nanos(T0 + 5_000),
                    endTimeUnixNano: nanos(T0 + 5_400),
                    attributes: [
                      { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
                      { key: 'gen_ai.provider.name', value: { stringValue: 'openai' } },
                      { key: 'gen_ai.request.model', value: { stringValue: 'model-from-otlp-json' } },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      };
      expect((await post('/v1/traces', 'application/json', JSON.stringify(otlpJson))).status).toBe(200);

      // The real protobuf exporter; its export result says whether the server answered 2xx.
      const memory = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'svc' }),
        spanProcessors: [new SimpleSpanProcessor(memory)],
      });
      const span = provider.getTracer('t').startSpan('chat', {
        kind: SpanKind.CLIENT,
        startTime: T0 + 6_000,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.request.model': 'model-from-otlp-protobuf',
        },
      });
      span.end(T0 + 6_300);
      const exporter = new OTLPTraceExporter({
        url: `${stalled.url}/v1/traces`,
        headers: { Authorization: `Bearer ${key}` },
      });
      const code = await new Promise<number>((r) => exporter.export(memory.getFinishedSpans(), (res) => r(res.code)));
      expect(code).toBe(0);
      await exporter.shutdown();

      expect(readdirSync(join(dir, 'ack-log')).length).toBeGreaterThan(0);
      await stalled.kill9();

      // The real server replays the log at start, even with the log now switched off.
      server = await spawnServer(dir, [], { RESKPOINTS_INGEST__ACK_LOG: 'false' });
      const after = await countCalls(server.url);
      for (let i = 0; i < 400; i++) expect(after.ids.has(`evt-${i}`)).toBe(true);
      expect(after.total).toBe(402);
      expect(after.ids.size).toBe(402);
      expect(after.models.filter((m) => m.startsWith('model-from-otlp')).sort()).toEqual([
        'model-from-otlp-json',
        'model-from-otlp-protobuf',
      ]);
      expect(readdirSync(join(dir, 'ack-log'))).toEqual([]);
      expect(await server.stop()).toBe(0);
      server = undefined;

      // A second start replays nothing again and still holds each event once.
      stalled = await spawnServer(dir);
      expect((await countCalls(stalled.url)).total).toBe(402);
      await stalled.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
