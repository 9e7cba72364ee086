/**
 * The real OpenTelemetry JS SDK and both OTLP/HTTP exporters talking to a started server.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { LlmCall } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/harness.js';

describe.each(['protobuf', 'json'] as const)('OTLP/HTTP %s exporter → ReskPoints', (encoding) => {
  let s: TestServer;
  let key: string;
  let projectId: string;
  beforeAll(async () => {
    s = await startTestServer();
    ({ key, projectId } = await s.createProject(`otel-${encoding}`));
  });
  afterAll(async () => s?.stop());

  it('stores GenAI spans as LLM calls with model, provider, tokens, latency and status', async () => {
    const url = `${s.url}/v1/traces`;
    const headers = { Authorization: `Bearer ${key}` };
    const exporter =
      encoding === 'protobuf'
        ? new ProtoTraceExporter({ url, headers, compression: 'gzip' as never })
        : new JsonTraceExporter({ url, headers });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'chat-api', 'deployment.environment.name': 'staging' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('e2e');
    const start = Date.now() - 5_000;

    const root = tracer.startSpan('POST /chat', { kind: SpanKind.SERVER, startTime: start });
    const ctx = (await import('@opentelemetry/api')).trace.setSpan(
      (await import('@opentelemetry/api')).context.active(),
      root,
    );
    const chat = tracer.startSpan(
      'chat gpt-4o',
      {
        kind: SpanKind.CLIENT,
        startTime: start + 10,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.response.model': 'gpt-4o-2024-08-06',
          'gen_ai.usage.input_tokens': 1200,
          'gen_ai.usage.output_tokens': 300,
          'gen_ai.usage.cache_read.input_tokens': 1024,
          'gen_ai.usage.reasoning.output_tokens': 100,
          'user.id': 'alice',
          'session.id': 'sess-1',
        },
      },
      ctx,
    );
    chat.end(start + 10 + 842);
    const failed = tracer.startSpan(
      'chat claude',
      {
        kind: SpanKind.CLIENT,
        startTime: start + 900,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.system': 'anthropic',
          'gen_ai.request.model': 'claude-sonnet-4',
          'gen_ai.usage.prompt_tokens': 50,
          'gen_ai.usage.completion_tokens': 0,
          'error.type': 'rate_limit_exceeded',
        },
      },
      ctx,
    );
    failed.setStatus({ code: SpanStatusCode.ERROR, message: '429 Too Many Requests' });
    failed.end(start + 1_000);
    root.end(start + 1_100);
    await provider.forceFlush();
    await provider.shutdown();

    const res = await fetch(`${s.url}/api/v1/llm/calls?from=${start - 1000}&to=${start + 60_000}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: LlmCall[] };
    expect(items).toHaveLength(2);
    const ok = items.find((c) => c.provider === 'openai') as LlmCall;
    expect(ok).toMatchObject({
      projectId,
      source: 'otlp',
      model: 'gpt-4o',
      requestModel: 'gpt-4o',
      responseModel: 'gpt-4o-2024-08-06',
      operation: 'chat',
      status: 'ok',
      userId: 'alice',
      sessionId: 'sess-1',
      serviceName: 'chat-api',
      environment: 'staging',
      startTimeMs: start + 10,
    });
    expect(ok.latencyMs).toBeCloseTo(842, 3);
    expect(ok.usage).toEqual({
      inputTokens: 1200,
      outputTokens: 300,
      cacheReadTokens: 1024,
      cacheWriteTokens: 0,
      reasoningTokens: 100,
      totalTokens: 1500,
    });
    expect(ok.parentSpanId).toBe(root.spanContext().spanId);
    expect(ok.traceId).toBe(root.spanContext().traceId);

    const bad = items.find((c) => c.provider === 'anthropic') as LlmCall;
    expect(bad).toMatchObject({
      status: 'error',
      errorType: 'rate_limit_exceeded',
      model: 'claude-sonnet-4',
      requestModel: 'claude-sonnet-4',
      responseModel: null,
    });
    expect(bad.usage.inputTokens).toBe(50);

    // Costs computed at ingest and read back, at the providers' list prices per million
    // tokens. gpt-4o-2024-08-06: $2.50 input, $1.25 cached input, $10 output (reasoning is
    // output): (1200 − 1024) × 2.5 + 1024 × 1.25 + 300 × 10 = $0.00472. Claude Sonnet 4: $3
    // input: 50 × 3 = $0.00015.
    expect(ok.cost.totalUsd).toBeCloseTo(0.00472, 12);
    expect(ok.cost.priceId).toMatch(/gpt-4o/);
    expect(bad.cost.totalUsd).toBeCloseTo(0.00015, 12);
    const costs = await fetch(`${s.url}/api/v1/cost/breakdown?from=${start - 1000}&to=${start + 60_000}&by=provider`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const breakdown = (await costs.json()) as {
      total: { costUsd: number | null; unpricedRequests: number };
      rows: Array<{ group: { provider: string }; costUsd: number | null }>;
    };
    expect(breakdown.total.costUsd).toBeCloseTo(0.00487, 12);
    expect(breakdown.total.unpricedRequests).toBe(0);
    expect(breakdown.rows.find((r) => r.group.provider === 'openai')?.costUsd).toBeCloseTo(0.00472, 12);

    const summary = await fetch(
      `${s.url}/api/v1/llm/summary?from=${start - 1000}&to=${start + 60_000}&groupBy=provider`,
      {
        headers: { authorization: `Bearer ${key}` },
      },
    );
    const { rows } = (await summary.json()) as {
      rows: Array<{ group: { provider: string }; requests: number; errors: number }>;
    };
    expect(rows.find((r) => r.group.provider === 'anthropic')).toMatchObject({ requests: 1, errors: 1 });
  });

  it('groups a failed call (request model only) with successful ones (dated response model)', async () => {
    const url = `${s.url}/v1/traces`;
    const headers = { Authorization: `Bearer ${key}` };
    const exporter =
      encoding === 'protobuf' ? new ProtoTraceExporter({ url, headers }) : new JsonTraceExporter({ url, headers });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'grouping' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('e2e');
    // A window of its own, away from the other test's calls.
    const start = Date.now() - 3_600_000;
    for (let i = 0; i < 4; i++) {
      const span = tracer.startSpan('chat gpt-4o-mini', {
        kind: SpanKind.CLIENT,
        startTime: start + i * 100,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o-mini',
          // The failed call never got a response, so it reports only what it asked for.
          ...(i === 0 ? { 'error.type': '500' } : { 'gen_ai.response.model': 'gpt-4o-mini-2024-07-18' }),
        },
      });
      if (i === 0) span.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream error' });
      span.end(start + i * 100 + 50);
    }
    await provider.forceFlush();
    await provider.shutdown();

    const summary = await fetch(`${s.url}/api/v1/llm/summary?from=${start - 1000}&to=${start + 60_000}&groupBy=model`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(summary.status).toBe(200);
    const { rows } = (await summary.json()) as {
      rows: Array<{ group: { model: string }; requests: number; errors: number; errorRate: number }>;
    };
    expect(rows).toEqual([expect.objectContaining({ group: { model: 'gpt-4o-mini' }, requests: 4, errors: 1 })]);
    expect(rows[0]?.errorRate).toBe(0.25);
    // The reported names stay available, e.g. for pricing by snapshot.
    const res = await fetch(`${s.url}/api/v1/llm/calls?from=${start - 1000}&to=${start + 60_000}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const { items } = (await res.json()) as { items: LlmCall[] };
    expect(new Set(items.map((c) => `${c.requestModel}→${c.responseModel}`))).toEqual(
      new Set(['gpt-4o-mini→null', 'gpt-4o-mini→gpt-4o-mini-2024-07-18']),
    );
  });

  it('is refused with 401 when the exporter sends a wrong key', async () => {
    const res = await fetch(`${s.url}/v1/traces`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer rpk_wrong',
        'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      },
      body: encoding === 'json' ? '{"resourceSpans":[]}' : new Uint8Array(),
    });
    expect(res.status).toBe(401);
  });
});
