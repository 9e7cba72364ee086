import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, nativeIngestBodySchema } from '@reskpoints/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_KEYS_FILE, DEMO_PROJECT_NAMES, startDemo } from './generator.js';
import type { OtlpTraceRequest } from './otlp.js';

const ADMIN = 'admin-token-0123456789abcdef';

interface Recorded {
  method: string;
  path: string;
  auth: string | null;
  body: unknown;
}

/** A stand-in for the ReskPoints API that records what it receives and keeps ids per project. */
class RecordingServer {
  readonly requests: Recorded[] = [];
  readonly projects = new Map<string, { id: string; name: string }>();
  readonly keys = new Map<string, string>(); // key → projectId
  readonly storedIds = new Map<string, Set<string>>();
  /** Answer this many ingest requests with 429 first. */
  overloadNext = 0;
  private server: Server | null = null;
  private keyCounter = 0;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private newKey(projectId: string): string {
    const key = `rpk_${projectId}_${++this.keyCounter}`;
    this.keys.set(key, projectId);
    return key;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? JSON.parse(text) : null;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const auth = req.headers.authorization?.replace(/^Bearer /, '') ?? null;
    this.requests.push({ method: req.method ?? '', path, auth, body });
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    const unauthorized = () => send(401, { error: { code: 'RP_UNAUTHORIZED', message: 'bad token' } });

    if (path === '/api/v1/projects' && req.method === 'GET') {
      if (auth !== ADMIN) return unauthorized();
      return send(200, { projects: [...this.projects.values()] });
    }
    if (path === '/api/v1/projects' && req.method === 'POST') {
      if (auth !== ADMIN) return unauthorized();
      const id = body.id ?? `prj_${this.projects.size}`;
      if (this.projects.has(id)) return send(409, { error: { code: 'RP_CONFLICT', message: 'exists' } });
      this.projects.set(id, { id, name: body.name });
      const key = this.newKey(id);
      return send(201, { project: { id, name: body.name, createdAtMs: 0 }, apiKey: { id: 'k', key, prefix: 'rpk' } });
    }
    const keyMatch = /^\/api\/v1\/projects\/([^/]+)\/keys$/.exec(path);
    if (keyMatch && req.method === 'POST') {
      if (auth !== ADMIN) return unauthorized();
      const id = decodeURIComponent(keyMatch[1]!);
      if (!this.projects.has(id)) return send(404, { error: { code: 'RP_NOT_FOUND', message: 'no project' } });
      return send(201, { apiKey: { id: 'k', key: this.newKey(id), prefix: 'rpk' } });
    }
    const projectId = auth ? this.keys.get(auth) : undefined;
    if (path === '/api/v1/ingest' || path === '/v1/traces') {
      if (!projectId) return unauthorized();
      if (this.overloadNext > 0) {
        this.overloadNext--;
        return send(429, { error: { code: 'RP_OVERLOADED', message: 'slow down' } }, { 'retry-after': '0' });
      }
      const ids =
        path === '/api/v1/ingest'
          ? (body.batch as Array<{ id: string }>).map((e) => e.id)
          : (body as OtlpTraceRequest).resourceSpans.flatMap((r) =>
              r.scopeSpans.flatMap((s) => s.spans.map((sp) => `${sp.traceId}/${sp.spanId}`)),
            );
      const stored = this.storedIds.get(projectId) ?? new Set<string>();
      this.storedIds.set(projectId, stored);
      let accepted = 0;
      for (const id of ids) {
        if (!stored.has(id)) accepted++;
        stored.add(id);
      }
      if (path === '/v1/traces') return send(200, { partialSuccess: {} });
      return send(200, { accepted, duplicates: ids.length - accepted });
    }
    send(404, { error: { code: 'RP_NOT_FOUND', message: 'no route' } });
  }
}

let server: RecordingServer;
let dataDir: string;
beforeEach(async () => {
  server = new RecordingServer();
  await server.start();
  dataDir = mkdtempSync(join(tmpdir(), 'rp-demo-'));
});
afterEach(async () => {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const waitUntil = async (cond: () => boolean, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('startDemo', () => {
  it('creates the projects, backfills over both channels, resends ids, honours 429 and streams', async () => {
    server.overloadNext = 1;
    const demo = await startDemo({
      baseUrl: server.url,
      adminToken: ADMIN,
      dataDir,
      seed: 1234,
      backfillHours: 1,
      backfillCallsPerHour: 900,
      callsPerSecond: 40,
      tickMs: 40,
      resendProbability: 0.3,
      maxBatchCalls: 100,
    });
    try {
      expect(Object.keys(demo.stats().projects).sort()).toEqual([...DEMO_PROJECT_NAMES].sort());
      expect([...server.projects.keys()].sort()).toEqual([...DEMO_PROJECT_NAMES].sort());

      const ingest = server.requests.filter((r) => r.path === '/api/v1/ingest');
      const traces = server.requests.filter((r) => r.path === '/v1/traces');
      expect(ingest.length).toBeGreaterThan(3);
      expect(traces.length).toBeGreaterThan(3);
      for (const r of ingest) {
        const parsed = nativeIngestBodySchema.safeParse(r.body);
        expect(parsed.success, JSON.stringify(parsed.error?.issues?.slice(0, 3))).toBe(true);
        expect(r.body as { batch: unknown[] }).toHaveProperty('batch');
        expect((r.body as { batch: unknown[] }).batch.length).toBeLessThanOrEqual(100);
      }
      // Every project key in use belongs to the project its events are about.
      for (const r of [...ingest, ...traces]) expect(server.keys.has(r.auth ?? '')).toBe(true);

      // The first ingest request was answered 429 and the same body went again.
      const overloaded = server.requests.find((r) => r.path === '/api/v1/ingest' || r.path === '/v1/traces')!;
      const next = server.requests[server.requests.indexOf(overloaded) + 1]!;
      expect(next.body).toEqual(overloaded.body);
      expect(demo.stats().overloadRetries).toBe(1);

      // Some requests are sent twice with the same event ids; the server reports duplicates.
      // (Which requests are resent depends on how live ticks interleave with the backfill, so
      // a native resend may come only once live traffic runs.)
      await waitUntil(() => demo.stats().duplicateCalls > 0, 10_000);
      const stats = demo.stats();
      expect(stats.resentRequests).toBeGreaterThan(0);
      const bodies = server.requests.filter((r) => r.path === '/api/v1/ingest').map((r) => JSON.stringify(r.body));
      expect(new Set(bodies).size).toBeLessThan(bodies.length);
      expect(stats.backfilledCalls).toBeGreaterThan(300);
      expect(stats.failedRequests).toBe(0);

      const spans = traces.flatMap((r) =>
        (r.body as OtlpTraceRequest).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)),
      );
      expect(spans.some((s) => s.attributes.some((a) => a.key === 'gen_ai.usage.input_tokens'))).toBe(true);

      // Backfilled calls cover the last hour; streaming follows.
      const times = ingest
        .flatMap((r) => (r.body as { batch: Array<{ timestamp: number | string }> }).batch)
        .map((e) => (typeof e.timestamp === 'number' ? e.timestamp : Date.parse(e.timestamp)));
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(50 * 60_000);
      await waitUntil(() => demo.stats().streamedCalls > 0);
    } finally {
      await demo.stop();
    }
    const after = server.requests.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(server.requests.length).toBe(after);

    const stored = JSON.parse(readFileSync(join(dataDir, DEMO_KEYS_FILE), 'utf8'));
    expect(Object.keys(stored.projects).sort()).toEqual([...DEMO_PROJECT_NAMES].sort());
  });

  it('reuses remembered keys on a second run and recovers when the server forgot them', async () => {
    const quiet = { adminToken: ADMIN, dataDir, seed: 1, backfillHours: 0, callsPerSecond: 0 };
    const first = await startDemo({ baseUrl: server.url, ...quiet });
    await first.stop();
    expect(first.stats().keysCreated).toBe(3);
    const keysBefore = server.keys.size;

    const second = await startDemo({ baseUrl: server.url, ...quiet });
    await second.stop();
    expect(second.stats().keysCreated).toBe(0);
    expect(server.keys.size).toBe(keysBefore);
    expect(server.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/projects')).toHaveLength(3);

    // A fresh server (new database) with the old data dir: projects are created again.
    const fresh = new RecordingServer();
    await fresh.start();
    try {
      const third = await startDemo({ baseUrl: fresh.url, ...quiet });
      await third.stop();
      expect(third.stats().keysCreated).toBe(3);
      expect(fresh.projects.size).toBe(3);
    } finally {
      await fresh.stop();
    }
  });

  it('backfills only the gap since the previous run', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 15, 15, 0));
    const opts = { adminToken: ADMIN, dataDir, clock, backfillHours: 1, backfillCallsPerHour: 1200, callsPerSecond: 0 };
    const first = await startDemo({ baseUrl: server.url, seed: 1, ...opts });
    await first.stop();
    clock.advance(10 * 60_000);
    const second = await startDemo({ baseUrl: server.url, seed: 2, ...opts });
    await second.stop();
    const a = first.stats().backfilledCalls;
    const b = second.stats().backfilledCalls;
    expect(a).toBeGreaterThan(900);
    // Ten minutes of the hour, with spikes making it uneven.
    expect(b).toBeGreaterThan(a / 20);
    expect(b).toBeLessThan(a / 3);
    const stored = JSON.parse(readFileSync(join(dataDir, DEMO_KEYS_FILE), 'utf8'));
    expect(stored.lastCallMs).toBe(clock.nowMs());
  });

  it('creates a new key when the server has the project but the key file is gone', async () => {
    server.projects.set('support-bot', { id: 'support-bot', name: 'support-bot' });
    const demo = await startDemo({
      baseUrl: server.url,
      adminToken: ADMIN,
      dataDir,
      seed: 2,
      backfillHours: 0.05,
      callsPerSecond: 0,
    });
    await demo.stop();
    expect(server.requests.some((r) => r.path === '/api/v1/projects/support-bot/keys')).toBe(true);
    expect(demo.stats().failedRequests).toBe(0);
  });

  it('fails clearly when the server cannot be reached', async () => {
    await server.stop();
    await expect(
      startDemo({ baseUrl: server.url, adminToken: ADMIN, dataDir, backfillHours: 0, callsPerSecond: 0 }),
    ).rejects.toThrow(/connection refused/);
    await server.start();
  });
});
