/**
 * The real `langfuse` v3 client posting batches to `POST /api/public/ingestion` of a started
 * server, with a Langfuse key pair; calls, usage and cost read back through the query API.
 */
import type { LlmCall } from '@reskpoints/core';
import { Langfuse } from 'langfuse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';

describe('Langfuse v3 client (langfuse on npm) → /api/public/ingestion', () => {
  let s: TestServer;
  let projectId: string;
  let publicKey: string;
  let secretKey: string;
  let basic: string;
  beforeAll(async () => {
    s = await startTestServer();
    ({ projectId } = await s.createProject('langfuse-v3'));
    const res = await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    ({ publicKey, secretKey } = (
      (await res.json()) as { langfuseKey: { publicKey: string; secretKey: string } }
    ).langfuseKey);
    basic = `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}`;
  });
  afterAll(async () => s?.stop());

  const client = () =>
    new Langfuse({ publicKey, secretKey, baseUrl: s.url, flushAt: 1000, flushInterval: 600_000, fetchRetryCount: 0 });

  const calls = async (from: number): Promise<LlmCall[]> => {
    const res = await fetch(`${s.url}/api/v1/llm/calls?from=${from}&to=${Date.now() + 60_000}&limit=100`, {
      headers: { authorization: basic },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: LlmCall[] }).items;
  };

  it('stores a generation created and ended in one batch, with its trace user, session and tags', async () => {
    const from = Date.now() - 1000;
    const langfuse = client();
    const trace = langfuse.trace({
      name: 'qa',
      userId: 'bob',
      sessionId: 'sess-1',
      tags: ['support'],
      metadata: { tenant: 'acme' },
    });
    const generation = trace.generation({
      name: 'answer',
      model: 'claude-3-5-haiku-20241022',
      input: [{ role: 'user', content: 'hello' }],
      metadata: { attempt: 1 },
    });
    generation.end({
      output: { role: 'assistant', content: 'hi there' },
      usageDetails: { input: 20, output: 10, cache_read_input_tokens: 300, cache_creation_input_tokens: 50 },
      costDetails: { total: 0.00042 },
    });
    trace.span({ name: 'retrieve' }).end();
    langfuse.score({ traceId: trace.id, name: 'quality', value: 1 });
    await langfuse.shutdownAsync();

    const stored = await calls(from);
    const call = stored.find((c) => c.id === generation.id) as LlmCall;
    expect(call).toMatchObject({
      projectId,
      source: 'langfuse',
      traceId: trace.id,
      spanId: generation.id,
      model: 'claude-3-5-haiku',
      requestModel: 'claude-3-5-haiku-20241022',
      userId: 'bob',
      sessionId: 'sess-1',
      tags: ['support'],
      metadata: { tenant: 'acme', attempt: '1' },
      status: 'ok',
      reportedCostUsd: 0.00042,
    });
    expect(call.usage).toEqual({
      inputTokens: 370,
      outputTokens: 10,
      cacheReadTokens: 300,
      cacheWriteTokens: 50,
      reasoningTokens: 0,
      totalTokens: 380,
    });
    expect(call.usageRaw.semantics).toBe('input-excludes-cached');
    // Priced by ReskPoints at Claude 3.5 Haiku's list prices per million tokens ($0.80 input,
    // $0.08 cache read, $1 cache write, $4 output): 20 × 0.8 + 300 × 0.08 + 50 × 1 + 10 × 4 =
    // $0.00013; the client's 0.00042 is kept as the reported cost.
    expect(call.cost.totalUsd).toBeCloseTo(0.00013, 12);
    expect(call.cost.priceId).toMatch(/claude-3-5-haiku/);
    const costs = await fetch(`${s.url}/api/v1/cost/breakdown?from=${from}&to=${Date.now() + 60_000}&by=model`, {
      headers: { authorization: basic },
    });
    expect(costs.status).toBe(200);
    const breakdown = (await costs.json()) as { rows: Array<{ group: { model: string }; costUsd: number | null }> };
    expect(breakdown.rows.find((r) => r.group.model === 'claude-3-5-haiku')?.costUsd).toBeCloseTo(0.00013, 12);
    expect(call.promptExcerpt).toContain('hello');
    expect(call.responseExcerpt).toContain('hi there');
    expect(call.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('merges a generation whose update arrives in a later batch, and stores it once', async () => {
    const from = Date.now() - 1000;
    const langfuse = client();
    const trace = langfuse.trace({ name: 'chat', userId: 'carol' });
    const generation = trace.generation({
      name: 'chat',
      model: 'gpt-4o',
      input: 'what is 2+2?',
      modelParameters: { temperature: 0 },
    });
    // The create (and the trace) go out alone, as when the client's flush interval fires mid-call.
    await langfuse.flushAsync();
    expect((await calls(from)).find((c) => c.id === generation.id)).toBeUndefined();

    generation.update({ completionStartTime: new Date() });
    generation.end({
      output: '4',
      // Langfuse's own OpenAI wrapper: input is prompt_tokens (cached included), total confirms it.
      usageDetails: { input: 1200, output: 300, total: 1500, input_cached_tokens: 1024, output_reasoning_tokens: 100 },
    });
    await langfuse.shutdownAsync();

    const stored = (await calls(from)).filter((c) => c.id === generation.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      model: 'gpt-4o',
      userId: 'carol',
      promptExcerpt: 'what is 2+2?',
      responseExcerpt: '4',
      reportedCostUsd: null,
    });
    expect(stored[0]?.usage).toEqual({
      inputTokens: 1200,
      outputTokens: 300,
      cacheReadTokens: 1024,
      cacheWriteTokens: 0,
      reasoningTokens: 100,
      totalTokens: 1500,
    });
    expect(stored[0]?.ttftMs).not.toBeNull();
  });

  it("answers 207 in Langfuse's shape, refusing bad events one by one", async () => {
    const now = new Date().toISOString();
    const res = await fetch(`${s.url}/api/public/ingestion`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          {
            id: 'ev-1',
            type: 'generation-create',
            timestamp: now,
            body: { id: 'gen-207', model: 'gpt-4o-mini', startTime: now, endTime: now, usage: { input: 5, output: 1 } },
          },
          {
            id: 'ev-2',
            type: 'generation-create',
            timestamp: now,
            body: { id: 'gen-old', startTime: '1999-01-01T00:00:00Z' },
          },
          { id: 'ev-3', type: 'no-such-type', timestamp: now, body: {} },
          { id: 'ev-4', type: 'score-create', timestamp: now, body: { name: 'q', value: 1 } },
          { type: 'trace-create', body: {} },
        ],
      }),
    });
    expect(res.status).toBe(207);
    const body = (await res.json()) as {
      successes: Array<{ id: string; status: number }>;
      errors: Array<{ id: string; status: number; message: string }>;
    };
    expect(body.successes).toEqual([
      { id: 'ev-1', status: 201 },
      { id: 'ev-4', status: 201 },
    ]);
    expect(body.errors.map((e) => [e.id, e.status])).toEqual([
      ['ev-3', 400],
      ['batch[4]', 400],
      ['ev-2', 400],
    ]);
    expect(body.errors[2]?.message).toContain('before 2000-01-01');
  });

  it("answers GET /api/public/metrics/daily in Langfuse's shape from the stored calls", async () => {
    const res = await fetch(`${s.url}/api/public/metrics/daily?limit=10`, { headers: { authorization: basic } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      data: Array<{
        date: string;
        countTraces: number;
        countObservations: number;
        totalCost: number;
        usage: Array<Record<string, unknown>>;
      }>;
      meta: { page: number; limit: number; totalItems: number; totalPages: number };
    };
    expect(body.meta).toEqual({ page: 1, limit: 10, totalItems: 1, totalPages: 1 });
    const today = body.data[0];
    expect(today?.date).toBe(new Date().toISOString().slice(0, 10));
    // The three generations stored by the tests above (the 207 test's one included).
    expect(today?.countObservations).toBe(3);
    // The cost is the one ReskPoints computed (the client reported 0.00042 for the Haiku call):
    // 20 input, 10 output, 300 cache-read and 50 cache-write tokens at $0.80, $4, $0.08 and $1
    // per million.
    const stored = await calls(Date.now() - 86_400_000);
    const computed = stored.reduce((sum, c) => sum + (c.cost.totalUsd ?? 0), 0);
    expect(today?.totalCost).toBeCloseTo(computed, 10);
    const byModel = Object.fromEntries((today?.usage ?? []).map((u) => [u.model, u]));
    expect(byModel['claude-3-5-haiku']).toEqual({
      model: 'claude-3-5-haiku',
      inputUsage: 370,
      outputUsage: 10,
      totalUsage: 380,
      countObservations: 1,
      countTraces: 1,
      totalCost: expect.closeTo(0.00013, 10),
    });
    expect(byModel['gpt-4o']).toMatchObject({ inputUsage: 1200, outputUsage: 300, totalUsage: 1500 });
    expect(byModel['gpt-4o-mini']).toMatchObject({ inputUsage: 5, outputUsage: 1, totalUsage: 6 });

    const filtered = await fetch(`${s.url}/api/public/metrics/daily?userId=carol`, {
      headers: { authorization: basic },
    });
    expect(((await filtered.json()) as typeof body).data[0]?.countObservations).toBe(1);
    const bad = await fetch(`${s.url}/api/public/metrics/daily?traceName=x&limit=500`, {
      headers: { authorization: basic },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/limit/);
  });

  it('refuses a body without a batch with 400 and wrong credentials with 401', async () => {
    const bad = await fetch(`${s.url}/api/public/ingestion`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/json' },
      body: '{"events":[]}',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('batch');
    const unauthorised = await fetch(`${s.url}/api/public/ingestion`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${publicKey}:sk-lf-nope`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: '{"batch":[]}',
    });
    expect(unauthorised.status).toBe(401);
  });
});
