import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/harness.js';

/** Credentials are checked before anything else about a request, on every authenticated route. */
describe('order of checks', () => {
  let s: TestServer;
  let key: string;
  const routes: Array<{ method: string; path: string }> = [];

  beforeAll(async () => {
    s = await startTestServer({ ingest: { maxBodyBytes: 64 * 1024 } });
    ({ key } = await s.createProject('Order', 'order'));
    const doc = (await (await fetch(`${s.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops))
        if (!(Array.isArray(op.security) && op.security.length === 0))
          routes.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x') });
  });
  afterAll(async () => s?.stop());

  it('finds the authenticated routes in the OpenAPI document', () => {
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'GET /api/v1/llm/summary',
        'GET /api/v1/llm/calls',
        'POST /api/v1/ingest',
        'POST /v1/traces',
        'POST /api/v1/projects',
      ]),
    );
  });

  it.each([
    ['no credentials', {}, /missing credentials/],
    ['an unknown key', { authorization: 'Bearer rpk_unknown' }, /not valid/],
  ])('answers 401 to %s before looking at bad parameters or a bad body', async (_name, auth, message) => {
    for (const r of routes) {
      const url = `${s.url}${r.path}?from=yesterday&to=never&limit=-1&groupBy=colour`;
      const res = await fetch(url, {
        method: r.method,
        headers: { ...auth, ...(r.method === 'GET' ? {} : { 'content-type': 'application/json' }) },
        ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: '{"not json' }),
      });
      const body = (await res.json()) as { error?: { code: string; message: string } };
      expect({ route: `${r.method} ${r.path}`, status: res.status }).toEqual({
        route: `${r.method} ${r.path}`,
        status: 401,
      });
      expect(body.error?.message).toMatch(message);
    }
  });

  it('answers 401 before refusing a body of the wrong type or size', async () => {
    const wrongType = await fetch(`${s.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(wrongType.status).toBe(401);
    const tooBig = await fetch(`${s.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [], pad: 'x'.repeat(128 * 1024) }),
    });
    expect(tooBig.status).toBe(401);
  });

  it('accepts RFC 3339, epoch milliseconds, now and now-<duration> as times', async () => {
    const now = Date.now();
    const res = await fetch(`${s.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [{ id: 'recent', timestamp: now - 3_600_000, provider: 'openai', model: 'gpt-4o', latencyMs: 5 }],
      }),
    });
    expect(res.status).toBe(200);
    const hourAgo = now - 2 * 3_600_000;
    for (const [from, to] of [
      ['now-24h', 'now'],
      ['now-1d', 'now+1m'],
      [String(hourAgo), new Date(now + 60_000).toISOString()],
      [new Date(hourAgo).toISOString(), 'now'],
    ]) {
      const q = new URLSearchParams({ from: from as string, to: to as string });
      const r = await fetch(`${s.url}/api/v1/llm/calls?${q}`, { headers: { authorization: `Bearer ${key}` } });
      expect({ from, to, status: r.status }).toEqual({ from, to, status: 200 });
      expect(((await r.json()) as { items: Array<{ id: string }> }).items.map((c) => c.id)).toEqual(['recent']);
    }
  });

  it('names the accepted time forms when a time is not one of them', async () => {
    const r = await fetch(`${s.url}/api/v1/llm/summary?from=yesterday&to=now-3x`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(r.status).toBe(400);
    const { error } = (await r.json()) as { error: { issues: Array<{ path: string; message: string }> } };
    const forms = /RFC 3339 date-time .*epoch milliseconds, now, or now-<duration> \(now-24h\).*got "yesterday"/;
    expect(error.issues.find((i) => i.path === 'from')?.message).toMatch(forms);
    expect(error.issues.find((i) => i.path === 'to')?.message).toMatch(/got "now-3x"/);
  });
});
