/**
 * The real Langfuse JS SDK (v5: `@langfuse/tracing` + `@langfuse/otel`, OpenTelemetry-based)
 * pointed at a started server with a Langfuse key pair, unchanged.
 */
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { propagateAttributes, setLangfuseTracerProvider, startObservation } from '@langfuse/tracing';
import { context, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { LlmCall } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';

async function createLangfuseKey(url: string, projectId: string): Promise<{ publicKey: string; secretKey: string }> {
  const res = await fetch(`${url}/api/v1/projects/${projectId}/langfuse-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(res.status).toBe(201);
  const { langfuseKey } = (await res.json()) as { langfuseKey: { publicKey: string; secretKey: string } };
  return langfuseKey;
}

const basic = (publicKey: string, secretKey: string) =>
  `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}`;

describe('Langfuse SDK v5 (@langfuse/otel) → ReskPoints', () => {
  let s: TestServer;
  let projectId: string;
  let keys: { publicKey: string; secretKey: string };
  beforeAll(async () => {
    s = await startTestServer();
    ({ projectId } = await s.createProject('langfuse-otel'));
    keys = await createLangfuseKey(s.url, projectId);
  });
  afterAll(async () => {
    setLangfuseTracerProvider(null);
    trace.disable();
    context.disable();
    propagation.disable();
    await s?.stop();
  });

  it('issues a pk-lf/sk-lf pair, shown once and listed by its public key', async () => {
    expect(keys.publicKey).toMatch(/^pk-lf-[0-9a-f-]{36}$/);
    expect(keys.secretKey).toMatch(/^sk-lf-[0-9a-f-]{36}$/);
    const res = await fetch(`${s.url}/api/v1/projects/${projectId}/keys`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const listed = JSON.stringify(await res.json());
    expect(listed).toContain(keys.publicKey);
    expect(listed).not.toContain(keys.secretKey);
  });

  it('stores generations as LLM calls with model, usage, cost, user, session and parent', async () => {
    const processor = new LangfuseSpanProcessor({
      publicKey: keys.publicKey,
      secretKey: keys.secretKey,
      baseUrl: s.url,
      exportMode: 'immediate',
      environment: 'staging',
      mediaUploadEnabled: false,
    });
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    // As an application does: the context manager carries the propagated user and session.
    provider.register();
    setLangfuseTracerProvider(provider);
    const before = Date.now() - 1000;

    let rootSpanId = '';
    let generationId = '';
    await propagateAttributes({ userId: 'alice', sessionId: 'sess-9', tags: ['rag', 'beta'] }, async () => {
      const root = startObservation('handle-question', { input: { question: 'what is up?' } });
      rootSpanId = root.id;
      const generation = root.startObservation(
        'chat',
        { model: 'gpt-4o', input: [{ role: 'user', content: 'what is up?' }], metadata: { feature: 'qa' } },
        { asType: 'generation' },
      );
      generationId = generation.id;
      generation.update({
        output: { role: 'assistant', content: 'the sky' },
        // Langfuse convention: input excludes the cached input, output excludes reasoning.
        usageDetails: { input: 176, input_cached_tokens: 1024, output: 200, output_reasoning_tokens: 100 },
        costDetails: { input: 0.0012, output: 0.003, total: 0.0042 },
      });
      generation.end();
      const tool = root.startObservation('lookup', { input: { q: 'sky' } }, { asType: 'tool' });
      tool.end();
      root.end();
    });
    await provider.forceFlush();
    await provider.shutdown();

    const headers = { authorization: basic(keys.publicKey, keys.secretKey) };
    const res = await fetch(`${s.url}/api/v1/llm/calls?from=${before}&to=${Date.now() + 60_000}`, { headers });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: LlmCall[] };
    expect(items).toHaveLength(1);
    const call = items[0] as LlmCall;
    expect(call).toMatchObject({
      projectId,
      source: 'otlp',
      spanId: generationId,
      parentSpanId: rootSpanId,
      model: 'gpt-4o',
      operation: 'chat',
      status: 'ok',
      userId: 'alice',
      sessionId: 'sess-9',
      environment: 'staging',
      metadata: { feature: 'qa' },
      reportedCostUsd: 0.0042,
    });
    expect(call.tags.sort()).toEqual(['beta', 'rag']);
    expect(call.usage).toEqual({
      inputTokens: 1200,
      outputTokens: 300,
      cacheReadTokens: 1024,
      cacheWriteTokens: 0,
      reasoningTokens: 100,
      totalTokens: 1500,
    });
    expect(call.responseExcerpt).toContain('the sky');

    // ReskPoints prices the call itself (the SDK's costDetails stay as the reported cost), at
    // gpt-4o's list prices per million tokens: $2.50 input, $1.25 cached input, $10 output
    // (reasoning tokens are output tokens): 176 × 2.5 + 1024 × 1.25 + 300 × 10 = $0.00472.
    expect(call.cost.totalUsd).toBeCloseTo(0.00472, 12);
    expect(call.cost).toMatchObject({ tokensEstimated: false });
    expect(call.cost.priceId).toMatch(/gpt-4o/);
    const summary = await fetch(`${s.url}/api/v1/llm/summary?from=${before}&to=${Date.now() + 60_000}&groupBy=model`, {
      headers,
    });
    const { rows } = (await summary.json()) as {
      rows: Array<{ group: { model: string }; costUsd: number | null; reportedCostUsd: number | null }>;
    };
    expect(rows).toHaveLength(1);
    expect(rows[0]?.costUsd).toBeCloseTo(0.00472, 12);
    expect(rows[0]?.reportedCostUsd).toBeCloseTo(0.0042, 12);
  });

  it('refuses a wrong secret key with 401', async () => {
    const res = await fetch(`${s.url}/api/public/otel/v1/traces`, {
      method: 'POST',
      headers: { authorization: basic(keys.publicKey, 'sk-lf-wrong'), 'content-type': 'application/json' },
      body: '{"resourceSpans":[]}',
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('RP_UNAUTHORIZED');
  });
});
