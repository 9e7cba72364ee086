import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryStore } from '../store/ports.js';
import { startTestServer, type TestServer } from '../test-support/harness.js';

// Memory held, not garbage not yet collected: the heap is measured after a full collection.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const retainedHeap = () => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

describe('robustness', () => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await startTestServer();
    ({ key } = await s.createProject('fuzz'));
  });
  afterAll(async () => s?.stop());

  const send = (path: string, body: Uint8Array | string, contentType: string) =>
    fetch(`${s.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
      body: body as BodyInit,
    });

  it('never answers 5xx to random payloads on any ingest endpoint, and stays healthy', async () => {
    const jsonish = fc.jsonValue({ maxDepth: 4 });
    const eventish = fc.record(
      {
        id: fc.oneof(fc.string(), fc.integer()),
        timestamp: fc.oneof(fc.integer(), fc.string(), fc.double()),
        provider: fc.oneof(fc.string(), fc.constant(null)),
        model: fc.string(),
        latencyMs: fc.oneof(fc.double(), fc.string()),
        usage: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.double(), fc.string())), jsonish),
        tags: fc.oneof(fc.array(fc.string()), jsonish),
      },
      { requiredKeys: [] },
    );
    const payload = fc.oneof(
      fc
        .uint8Array({ maxLength: 512 })
        .map((b) => ({ body: b as Uint8Array | string, type: 'application/x-protobuf', path: '/v1/traces' })),
      jsonish.map((j) => ({
        body: JSON.stringify(j) as Uint8Array | string,
        type: 'application/json',
        path: '/v1/traces',
      })),
      jsonish.map((j) => ({
        body: JSON.stringify(j) as Uint8Array | string,
        type: 'application/json',
        path: '/api/v1/ingest',
      })),
      fc.array(eventish, { maxLength: 5 }).map((batch) => ({
        body: JSON.stringify({ batch }) as Uint8Array | string,
        type: 'application/json',
        path: '/api/v1/ingest',
      })),
      fc.string().map((t) => ({ body: t as Uint8Array | string, type: 'application/json', path: '/api/v1/ingest' })),
    );
    await fc.assert(
      fc.asyncProperty(payload, async ({ body, type, path }) => {
        const res = await send(path, body, type);
        await res.arrayBuffer();
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  it('never answers 5xx to random query strings', async () => {
    const params = fc.dictionary(
      fc.constantFrom('from', 'to', 'groupBy', 'interval', 'limit', 'cursor', 'model', 'orderBy', 'status', 'tag'),
      fc.oneof(
        fc.string(),
        fc.integer().map(String),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      ),
    );
    await fc.assert(
      fc.asyncProperty(params, fc.constantFrom('/api/v1/llm/summary', '/api/v1/llm/calls'), async (p, path) => {
        const res = await fetch(`${s.url}${path}?${new URLSearchParams(p)}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        await res.arrayBuffer();
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
  });
});

/** Delays every append, as a slow disk would. */
function slowed(store: TelemetryStore, delayMs: number): TelemetryStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'appendBatch')
        return async (batch: Parameters<TelemetryStore['appendBatch']>[0]) => {
          await new Promise((r) => setTimeout(r, delayMs));
          return target.appendBatch(batch);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('overload', () => {
  it('answers 429 with Retry-After when the store is slow, keeps memory bounded, and loses nothing it acknowledged', async () => {
    const s = await startTestServer(
      { ingest: { queueMaxEvents: 2_000, maxBatchEvents: 500, retryAfterSeconds: 2 } },
      { wrapTelemetryStore: (t) => slowed(t, 150) },
    );
    try {
      const { key } = await s.createProject('overload');
      const T0 = Date.UTC(2026, 10, 3);
      // Calls without usage are priced from token estimates; the tokenizer's tables (about
      // 70 MB, loaded once) are not queue memory, so they are loaded before measuring.
      const warm = await fetch(`${s.url}/api/v1/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          batch: [{ id: 'warm', timestamp: T0 - 86_400_000, provider: 'openai', model: 'gpt-4o', prompt: 'hi' }],
        }),
      });
      expect(warm.status).toBe(200);
      const heapBefore = retainedHeap();
      const acked: string[] = [];
      let refused = 0;
      let retryAfter: string | null = null;
      const send = async (b: number) => {
        const batch = Array.from({ length: 250 }, (_, i) => ({
          id: `o-${b}-${i}`,
          timestamp: T0 + b * 1000 + i,
          provider: 'openai',
          model: 'gpt-4o',
          latencyMs: 10,
          prompt: 'p'.repeat(500),
        }));
        const res = await fetch(`${s.url}/api/v1/ingest`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        if (res.status === 200) acked.push(...batch.map((e) => e.id));
        else if (res.status === 429) {
          refused++;
          retryAfter = res.headers.get('retry-after');
        } else throw new Error(`unexpected ${res.status}`);
        await res.arrayBuffer();
      };
      let peakDepth = 0;
      for (let wave = 0; wave < 6; wave++) {
        await Promise.all(Array.from({ length: 40 }, (_, i) => send(wave * 40 + i)));
        const m = await (await fetch(`${s.url}/metrics`)).text();
        peakDepth = Math.max(peakDepth, Number(/reskpoints_ingest_queue_depth_events (\d+)/.exec(m)?.[1] ?? 0));
      }
      expect(refused).toBeGreaterThan(0);
      expect(retryAfter).toBe('2');
      expect(peakDepth).toBeLessThanOrEqual(2_000);
      // 240 requests x 250 events x ~600 bytes would be ~36 MB if everything queued.
      expect(retainedHeap() - heapBefore).toBeLessThan(150 * 1024 * 1024);
      const res = await fetch(`${s.url}/api/v1/llm/summary?from=${T0}&to=${T0 + 3_600_000}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const { rows } = (await res.json()) as { rows: Array<{ requests: number }> };
      expect(rows[0]?.requests).toBe(acked.length);
    } finally {
      await s.stop();
    }
  });
});
