import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const hex16 = (n: number) => n.toString(16).padStart(16, '0');

/** An OTLP/JSON request: a server span and a GenAI client span under it. */
function otlpBody(startMs: number) {
  const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'chat-api' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: TRACE,
                spanId: hex16(1),
                name: 'POST /chat',
                kind: 2,
                startTimeUnixNano: ns(startMs),
                endTimeUnixNano: ns(startMs + 900),
              },
              {
                traceId: TRACE,
                spanId: hex16(2),
                parentSpanId: hex16(1),
                name: 'chat gpt-4o',
                kind: 3,
                startTimeUnixNano: ns(startMs + 10),
                endTimeUnixNano: ns(startMs + 610),
                status: { code: 2, message: 'rate limited' },
                attributes: [
                  { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
                  { key: 'gen_ai.provider.name', value: { stringValue: 'openai' } },
                  { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
                  { key: 'gen_ai.usage.input_tokens', value: { intValue: '1000' } },
                  { key: 'gen_ai.usage.output_tokens', value: { intValue: '200' } },
                  { key: 'user.id', value: { stringValue: 'alice' } },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('trace reads: GET /api/v1/traces and /api/v1/traces/{traceId}', () => {
  let s: TestServer;
  let a: { projectId: string; key: string };
  let b: { projectId: string; key: string };
  const get = (path: string, token: string) =>
    fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    s = await startTestServer();
    a = await s.createProject('traces-a');
    b = await s.createProject('traces-b');
    const res = await fetch(`${s.url}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(otlpBody(Date.now() - 60_000)),
    });
    expect(res.status).toBe(200);
  });
  afterAll(async () => s?.stop());

  it('lists the trace with its root span, calls and errors', async () => {
    const res = await get('/api/v1/traces?from=now-1h&to=now', a.key);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: Array<Record<string, unknown>> };
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({
      projectId: a.projectId,
      traceId: TRACE,
      llmCalls: 1,
      errors: 1,
      models: ['gpt-4o'],
      rootSpanName: 'POST /chat',
    });
    // Filters pick traces by their calls.
    const none = (await (await get('/api/v1/traces?from=now-1h&to=now&user=bob', a.key)).json()) as {
      items: unknown[];
    };
    expect(none.items).toEqual([]);
  });

  it('reads one trace: spans with the calls they recorded, totals', async () => {
    const res = await get(`/api/v1/traces/${TRACE}`, a.key);
    expect(res.status).toBe(200);
    const t = (await res.json()) as {
      spans: Array<{ spanId: string; llmCallIds: string[]; statusCode: string }>;
      llmCalls: Array<{ id: string; spanId: string }>;
      durationMs: number;
      errors: number;
      projectIds: string[];
    };
    // The GenAI span is stored as a call, which hangs under the span that is stored: its parent.
    expect(t.spans.map((x) => x.spanId)).toEqual([hex16(1)]);
    expect(t.llmCalls).toHaveLength(1);
    expect(t.llmCalls[0]!.spanId).toBe(hex16(2));
    expect(t.spans[0]!.llmCallIds).toEqual([t.llmCalls[0]!.id]);
    expect(t.durationMs).toBe(900);
    expect(t.errors).toBe(1); // the failed call
    expect(t.projectIds).toEqual([a.projectId]);
  });

  it('scopes a project key to its project; the admin reads any', async () => {
    expect((await get(`/api/v1/traces/${TRACE}`, b.key)).status).toBe(404);
    expect((await get(`/api/v1/traces/${TRACE}?project=${a.projectId}`, b.key)).status).toBe(400);
    expect((await get(`/api/v1/traces/${TRACE}`, ADMIN_TOKEN)).status).toBe(200);
    const listB = (await (await get('/api/v1/traces?from=now-1h&to=now', b.key)).json()) as { items: unknown[] };
    expect(listB.items).toEqual([]);
  });

  it('bad input is a 400 naming the field; no credentials a 401', async () => {
    const bad = await get(`/api/v1/traces/${TRACE}?from=yesterday`, a.key);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('from');
    expect((await fetch(`${s.url}/api/v1/traces/${TRACE}`)).status).toBe(401);
    expect((await get('/api/v1/traces?from=now-1h', a.key)).status).toBe(400);
    const cursor = await get('/api/v1/traces?from=now-1h&to=now&cursor=not-a-cursor', a.key);
    expect(cursor.status).toBe(400);
    expect(((await cursor.json()) as { error: { message: string } }).error.message).toContain('cursor');
  });

  it('the call list searches text on the server, with q; the trace list pages with a cursor', async () => {
    const found = (await (await get('/api/v1/llm/calls?from=now-1h&to=now&q=ALIC', a.key)).json()) as {
      items: Array<{ userId: string }>;
    };
    expect(found.items.map((c) => c.userId)).toEqual(['alice']);
    const none = (await (await get('/api/v1/llm/calls?from=now-1h&to=now&q=bob', a.key)).json()) as {
      items: unknown[];
    };
    expect(none.items).toEqual([]);
    expect((await get(`/api/v1/llm/calls?from=now-1h&to=now&q=${'x'.repeat(201)}`, a.key)).status).toBe(400);
    const page = (await (await get('/api/v1/traces?from=now-1h&to=now&limit=1', a.key)).json()) as {
      items: unknown[];
      nextCursor: string | null;
    };
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).toBeNull();
  });

  it('GET /api/v1/me says who the credential is', async () => {
    expect(await (await get('/api/v1/me', ADMIN_TOKEN)).json()).toEqual({ kind: 'admin', projectId: null });
    expect(await (await get('/api/v1/me', a.key)).json()).toEqual({ kind: 'project', projectId: a.projectId });
    expect((await get('/api/v1/me', 'rpk_wrong')).status).toBe(401);
  });
});
