import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

function call(i: number, over: Record<string, unknown> = {}) {
  return {
    id: `call-${i}`,
    timestamp: T0 + i * 1000,
    provider: i % 2 ? 'openai' : 'anthropic',
    model: i % 2 ? 'gpt-4o' : 'claude-sonnet-4',
    latencyMs: 100 + i,
    ttftMs: 20 + i,
    usage: { inputTokens: 100 + i, outputTokens: 10, cacheReadTokens: 50, inputIncludesCached: i % 2 === 1 },
    userId: `user-${i % 3}`,
    sessionId: `s-${i % 5}`,
    tags: ['feature:chat', `tier:${i % 2 ? 'free' : 'pro'}`],
    status: i % 10 === 0 ? 'error' : 'ok',
    ...over,
  };
}

describe('HTTP API (embedded, DuckDB)', () => {
  let s: TestServer;
  let key: string;
  let projectId: string;
  let otherKey: string;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${s.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
      body: typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body),
    });
  const get = (path: string, token = key) =>
    fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    s = await startTestServer({ ingest: { maxBodyBytes: 256 * 1024 } });
    ({ key, projectId } = await s.createProject('Support bot', 'support-bot'));
    ({ key: otherKey } = await s.createProject('Other'));
  });
  afterAll(async () => s?.stop());

  it('ingests a native batch, answers after commit, and stores a retried batch once', async () => {
    const batch = Array.from({ length: 40 }, (_, i) => call(i));
    const r1 = await post('/api/v1/ingest', { batch });
    expect(r1.status).toBe(200);
    expect(await r1.json()).toEqual({ accepted: 40, duplicates: 0 });
    const r2 = await post('/api/v1/ingest', { batch: [...batch.slice(0, 10), call(40)] });
    expect(await r2.json()).toEqual({ accepted: 1, duplicates: 10 });

    const list = await get(`/api/v1/llm/calls?from=${iso(T0)}&to=${iso(T0 + 3_600_000)}&limit=100`);
    expect(list.status).toBe(200);
    const body = (await list.json()) as { items: Array<Record<string, any>>; nextCursor: string | null };
    expect(body.items).toHaveLength(41);
    expect(body.nextCursor).toBeNull();
    const c3 = body.items.find((c) => c.id === 'call-3');
    expect(c3).toMatchObject({
      projectId,
      provider: 'openai',
      model: 'gpt-4o',
      latencyMs: 103,
      ttftMs: 23,
      userId: 'user-0',
      source: 'native',
    });
    // OpenAI-style usage counts cached input inside inputTokens; Anthropic-style does not.
    expect(c3?.usage).toMatchObject({ inputTokens: 103, cacheReadTokens: 50, outputTokens: 10, totalTokens: 113 });
    const c4 = body.items.find((c) => c.id === 'call-4');
    expect(c4?.usage).toMatchObject({ inputTokens: 154, cacheReadTokens: 50, totalTokens: 164 });
    expect(c4?.usageRaw).toMatchObject({ inputTokens: 104, semantics: 'input-excludes-cached' });
  });

  it('pages through calls with a cursor, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(
        `/api/v1/llm/calls?from=${T0}&to=${T0 + 3_600_000}&limit=7${cursor ? `&cursor=${cursor}` : ''}`,
      );
      const page = (await res.json()) as { items: Array<{ id: string }>; nextCursor: string | null };
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(41);
    expect(new Set(seen).size).toBe(41);
  });

  it('summarises by model with tokens, errors and percentiles', async () => {
    const res = await get(`/api/v1/llm/summary?from=${iso(T0)}&to=${iso(T0 + 3_600_000)}&groupBy=model`);
    expect(res.status).toBe(200);
    const { rows } = (await res.json()) as { rows: Array<Record<string, any>> };
    const gpt = rows.find((r) => r.group.model === 'gpt-4o');
    expect(gpt?.requests).toBe(20);
    const claude = rows.find((r) => r.group.model === 'claude-sonnet-4');
    expect(claude?.requests).toBe(21);
    expect(claude?.errors).toBe(5); // ids 0,10,20,30,40
    expect(claude?.latencyP50Ms).toBeGreaterThan(110);
    expect(claude?.latencyP50Ms).toBeLessThan(130);
    // Even ids, input excluding cached: 21 × (100 + 50) + (0 + 2 + … + 40) = 3,570.
    expect(claude).toMatchObject({
      inputTokens: 3570,
      outputTokens: 210,
      cacheReadTokens: 1050,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      totalTokens: 3780,
    });
  });

  it('summarises per hour bucket and orders top users', async () => {
    const res = await get(`/api/v1/llm/summary?from=${T0}&to=${T0 + 7_200_000}&groupBy=user&orderBy=requests&limit=2`);
    const { rows } = (await res.json()) as { rows: Array<Record<string, any>> };
    expect(rows).toHaveLength(2);
    expect(rows[0]?.requests).toBeGreaterThanOrEqual(rows[1]?.requests);
    const hourly = await get(`/api/v1/llm/summary?from=${T0}&to=${T0 + 7_200_000}&interval=1h`);
    const h = (await hourly.json()) as { rows: Array<Record<string, any>> };
    expect(h.rows.map((r) => r.bucketStartMs)).toEqual([T0]);
    expect(h.rows[0]?.requests).toBe(41);
  });

  it('scopes a project key to its own project', async () => {
    const res = await get(`/api/v1/llm/calls?from=${T0}&to=${T0 + 3_600_000}`, otherKey);
    expect(((await res.json()) as { items: unknown[] }).items).toHaveLength(0);
    const forbidden = await get(`/api/v1/llm/calls?from=${T0}&to=${T0 + 3_600_000}&project=support-bot`, otherKey);
    expect(forbidden.status).toBe(400);
    const admin = await get(
      `/api/v1/llm/calls?from=${T0}&to=${T0 + 3_600_000}&project=support-bot&limit=1`,
      ADMIN_TOKEN,
    );
    expect(((await admin.json()) as { items: unknown[] }).items).toHaveLength(1);
  });

  it('accepts gzip bodies', async () => {
    const res = await post('/api/v1/ingest', gzipSync(JSON.stringify({ batch: [call(100)] })), {
      'content-encoding': 'gzip',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0 });
  });

  it('refuses missing, unknown and revoked keys with 401 and never returns data', async () => {
    const none = await fetch(`${s.url}/api/v1/llm/calls?from=${T0}&to=${T0 + 1000}`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe('RP_UNAUTHORIZED');
    expect((await get(`/api/v1/llm/calls?from=${T0}&to=${T0 + 1000}`, 'rpk_nope')).status).toBe(401);
    expect((await post('/api/v1/ingest', { batch: [call(1)] }, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect(
      (await post('/api/v1/ingest', { batch: [call(1)] }, { authorization: `Bearer ${ADMIN_TOKEN}` })).status,
    ).toBe(403);
    expect((await post('/api/v1/projects', { name: 'x' })).status).toBe(403);

    const created = await fetch(`${s.url}/api/v1/projects/support-bot/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'temp' }),
    });
    const { apiKey } = (await created.json()) as { apiKey: { id: string; key: string } };
    expect((await get(`/api/v1/llm/calls?from=${T0}&to=${T0 + 1000}`, apiKey.key)).status).toBe(200);
    const del = await fetch(`${s.url}/api/v1/keys/${apiKey.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(del.status).toBe(204);
    expect((await get(`/api/v1/llm/calls?from=${T0}&to=${T0 + 1000}`, apiKey.key)).status).toBe(401);
  });

  it.each([
    ['malformed JSON', '{"batch": [', {}, 400, 'RP_INVALID_BODY', /malformed JSON/],
    ['empty body', '', {}, 400, 'RP_INVALID_BODY', /empty/],
    ['not gzip', 'plain text', { 'content-encoding': 'gzip' }, 400, 'RP_INVALID_BODY', /gzip/],
    ['unknown encoding', '{}', { 'content-encoding': 'br' }, 415, 'RP_UNSUPPORTED_MEDIA_TYPE', /br/],
    [
      'wrong content type',
      'batch=1',
      { 'content-type': 'text/plain' },
      415,
      'RP_UNSUPPORTED_MEDIA_TYPE',
      /text\/plain/,
    ],
    [
      'wrong field type',
      JSON.stringify({ batch: [{ ...call(1), latencyMs: 'slow' }] }),
      {},
      400,
      'RP_VALIDATION',
      /batch\.0\.latencyMs/,
    ],
    ['missing fields', JSON.stringify({ batch: [{ id: 'x' }] }), {}, 400, 'RP_VALIDATION', /batch\.0\.timestamp/],
    ['empty batch', JSON.stringify({ batch: [] }), {}, 400, 'RP_VALIDATION', /batch/],
    [
      'negative tokens',
      JSON.stringify({ batch: [call(1, { usage: { inputTokens: -5 } })] }),
      {},
      400,
      'RP_VALIDATION',
      /usage\.inputTokens/,
    ],
    [
      'oversized body',
      JSON.stringify({ batch: [call(1, { prompt: 'x'.repeat(300_000) })] }),
      {},
      413,
      'RP_PAYLOAD_TOO_LARGE',
      /./,
    ],
  ] as const)('rejects %s with a 4xx and a message', async (_name, body, headers, status, code, message) => {
    const res = await post('/api/v1/ingest', body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe(code);
    expect(json.error.message).toMatch(message);
  });

  it('rejects a gzip bomb by its decompressed size', async () => {
    const bomb = gzipSync(Buffer.alloc(5 * 1024 * 1024, 32));
    expect(bomb.length).toBeLessThan(256 * 1024);
    const res = await post('/api/v1/ingest', bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
  });

  it.each([
    ['missing range', '', /from/],
    ['reversed range', `from=${T0}&to=${T0 - 1}`, /to: must be after from/],
    ['absurd range', `from=1970-01-01T00:00:00Z&to=${T0}`, /from: expected an RFC 3339 date-time/],
    ['too long a range', `from=2001-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, /range longer than/],
    ['garbage time', `from=yesterday&to=${T0}`, /from/],
    ['unknown dimension', `from=${T0}&to=${T0 + 1000}&groupBy=colour`, /groupBy: unknown dimension "colour"/],
    ['bad interval', `from=${T0}&to=${T0 + 1000}&interval=fortnight`, /interval/],
    ['too many buckets', `from=2026-01-01T00:00:00Z&to=2026-11-01T00:00:00Z&interval=1s`, /more than .* buckets/],
    ['bad status', `from=${T0}&to=${T0 + 1000}&status=maybe`, /status/],
    ['bad order', `from=${T0}&to=${T0 + 1000}&orderBy=vibes`, /orderBy/],
  ])('summary rejects %s with 400 naming the parameter', async (_name, qs, message) => {
    const res = await get(`/api/v1/llm/summary?${qs}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toMatch(message);
  });

  it('rejects a forged cursor and an over-large limit', async () => {
    const bad = await get(`/api/v1/llm/calls?from=${T0}&to=${T0 + 1000}&cursor=not-a-cursor!`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toMatch(/cursor/);
    const big = await get(`/api/v1/llm/calls?from=${T0}&to=${T0 + 1000}&limit=100000`);
    expect(big.status).toBe(400);
  });

  it('stays healthy after bad input and serves ops endpoints', async () => {
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect((await fetch(`${s.url}/ready`)).status).toBe(200);
    const v = (await (await fetch(`${s.url}/version`)).json()) as { version: string };
    expect(v.version).toBeTruthy();
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/reskpoints_ingest_events_total\{source="native",outcome="accepted"\} \d+/);
    expect(metrics).toMatch(/reskpoints_ingest_queue_depth_events 0/);
    expect(metrics).toMatch(/reskpoints_commit_duration_seconds_count [1-9]/);
    // Keys of the calls committed by this suite are held in memory for the duplicate check.
    expect(metrics).toMatch(/reskpoints_recent_keys_bytes [1-9]\d*/);
    expect(metrics).toMatch(/reskpoints_duplicate_check_db_lookups_total \d+/);
    const notFound = await fetch(`${s.url}/nope`);
    expect(notFound.status).toBe(404);
    expect(((await notFound.json()) as any).error.code).toBe('RP_NOT_FOUND');
  });

  it('serves an OpenAPI document generated from the routes, and a browsable page', async () => {
    const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as any;
    expect(doc.openapi).toMatch(/^3\./);
    for (const p of ['/api/v1/ingest', '/v1/traces', '/api/v1/llm/calls', '/api/v1/llm/summary', '/api/v1/projects'])
      expect(Object.keys(doc.paths)).toContain(p);
    const params = doc.paths['/api/v1/llm/summary'].get.parameters.map((p: any) => p.name);
    expect(params).toEqual(expect.arrayContaining(['from', 'to', 'groupBy', 'interval']));
    expect(
      doc.paths['/api/v1/ingest'].post.requestBody.content['application/json'].schema.properties.batch,
    ).toBeDefined();
    const page = await fetch(`${s.url}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/swagger/i);
  });

  it('pushes newly committed calls over the live WebSocket, filtered by model', async () => {
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/api/v1/live?token=${key}&model=gpt-4o`);
    const messages: any[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (d) => {
        const m = JSON.parse(String(d));
        messages.push(m);
        if (m.type === 'hello') resolve();
      });
      ws.on('error', reject);
    });
    const got = new Promise<void>((resolve) =>
      ws.on('message', () => messages.some((m) => m.type === 'llm_calls') && resolve()),
    );
    await post('/api/v1/ingest', { batch: [call(201), call(202), call(203)] });
    await got;
    const pushed = messages.filter((m) => m.type === 'llm_calls').flatMap((m) => m.items);
    expect(pushed.map((c: any) => c.id).sort()).toEqual(['call-201', 'call-203']);
    ws.close();

    const refused = new WebSocket(`${s.url.replace('http', 'ws')}/api/v1/live?token=bad`);
    const status = await new Promise<number>((resolve) =>
      refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
  });
});
