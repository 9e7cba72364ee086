/**
 * Fixtures captured from the real OpenTelemetry JS SDK: spans are exported with the OTLP
 * protobuf and JSON exporters to a local HTTP server, and the recorded bodies are decoded.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  type Attributes,
  type Context,
  context,
  DiagLogLevel,
  diag,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { LlmCall, Span } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOtlpTraces, encodeOtlpTraceResponse, type OtlpEncoding } from './otlp-traces.js';

interface Captured {
  contentType: string;
  body: Buffer;
}

let server: Server;
let port = 0;
const captured: Captured[] = [];
/** What the server answers to the next export; tests set it to check partial-success handling. */
let nextResponse: { contentType: string; body: Uint8Array | string } | null = null;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      captured.push({ contentType: String(req.headers['content-type'] ?? ''), body });
      const reply = nextResponse;
      nextResponse = null;
      res.writeHead(200, { 'content-type': reply?.contentType ?? String(req.headers['content-type'] ?? '') });
      res.end(reply ? Buffer.from(reply.body) : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const SERVICE_RESOURCE = {
  'service.name': 'chat-api',
  'deployment.environment.name': 'staging',
};

/** Runs `build` against a fresh SDK provider and returns the request bodies it exported. */
async function capture(
  encoding: OtlpEncoding,
  build: (tracer: Tracer) => void,
  resource: Attributes = SERVICE_RESOURCE,
): Promise<Captured[]> {
  const url = `http://127.0.0.1:${port}/v1/traces`;
  const exporter = encoding === 'protobuf' ? new ProtoTraceExporter({ url }) : new JsonTraceExporter({ url });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(resource),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000, maxExportBatchSize: 512 })],
  });
  const before = captured.length;
  build(provider.getTracer('reskpoints-test', '1.0.0'));
  await provider.forceFlush();
  await provider.shutdown();
  return captured.slice(before);
}

const NOW_MS = Date.now();
const T0 = NOW_MS - 60_000;
const ctx = { projectId: 'prj_test', nowMs: NOW_MS + 1000, excerptMaxChars: 40 };

function decodeAll(encoding: OtlpEncoding, bodies: Captured[]): { llmCalls: LlmCall[]; spans: Span[] } {
  const llmCalls: LlmCall[] = [];
  const spans: Span[] = [];
  for (const c of bodies) {
    expect(c.contentType).toBe(encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json');
    const r = decodeOtlpTraces(new Uint8Array(c.body), encoding, ctx);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.rejectedSpans).toBe(0);
    expect(r.value.errorMessage).toBeNull();
    llmCalls.push(...r.value.batch.llmCalls);
    spans.push(...r.value.batch.spans);
  }
  return { llmCalls, spans };
}

function startChild(tracer: Tracer, name: string, parent: Context, startMs: number, attributes: Attributes) {
  return tracer.startSpan(name, { kind: SpanKind.CLIENT, startTime: startMs, attributes }, parent);
}

describe.each<OtlpEncoding>(['protobuf', 'json'])('OTLP %s export from the OpenTelemetry JS SDK', (encoding) => {
  it('maps a GenAI chat span with current attribute names, inside a mixed trace', async () => {
    const ids: Record<string, { traceId: string; spanId: string }> = {};
    const bodies = await capture(encoding, (tracer) => {
      const root = tracer.startSpan('POST /chat', {
        kind: SpanKind.SERVER,
        startTime: T0,
        attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200, 'app.retry': false },
      });
      const rootCtx = trace.setSpan(context.active(), root);
      const llm = startChild(tracer, 'chat gpt-4o', rootCtx, T0 + 10, {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.response.model': 'gpt-4o-2024-08-06',
        'gen_ai.usage.input_tokens': 1000,
        'gen_ai.usage.output_tokens': 200,
        'gen_ai.usage.cache_read.input_tokens': 600,
        'gen_ai.usage.cache_creation.input_tokens': 100,
        'gen_ai.usage.reasoning.output_tokens': 50,
        'gen_ai.response.time_to_first_chunk': 0.25,
        'gen_ai.conversation.id': 'conv-9',
        'gen_ai.input.messages': JSON.stringify([
          { role: 'user', parts: [{ type: 'text', content: 'What is OTLP?' }] },
        ]),
        'gen_ai.output.messages': 'OTLP is the OpenTelemetry protocol.',
        'user.id': 'user-42',
        'langfuse.trace.tags': ['beta', 'search'],
        'reskpoints.feature': 'answer',
      });
      llm.end(T0 + 1244);
      const db = startChild(tracer, 'SELECT docs', rootCtx, T0 + 1300, { 'db.system.name': 'postgresql' });
      db.setStatus({ code: SpanStatusCode.OK });
      db.end(T0 + 1320);
      root.end(T0 + 1400);
      ids.root = root.spanContext();
      ids.llm = llm.spanContext();
      ids.db = db.spanContext();
    });
    expect(bodies).toHaveLength(1);
    const { llmCalls, spans } = decodeAll(encoding, bodies);

    expect(llmCalls).toHaveLength(1);
    const call = llmCalls[0] as LlmCall;
    expect(call).toMatchObject({
      id: `${ids.llm?.traceId}${ids.llm?.spanId}`,
      projectId: 'prj_test',
      source: 'otlp',
      environment: 'staging',
      traceId: ids.root?.traceId,
      spanId: ids.llm?.spanId,
      parentSpanId: ids.root?.spanId,
      serviceName: 'chat-api',
      provider: 'openai',
      model: 'gpt-4o',
      requestModel: 'gpt-4o',
      responseModel: 'gpt-4o-2024-08-06',
      operation: 'chat',
      startTimeMs: T0 + 10,
      latencyMs: 1234,
      ttftMs: 250,
      status: 'ok',
      errorType: null,
      errorMessage: null,
      userId: 'user-42',
      sessionId: 'conv-9',
      tags: ['beta', 'search'],
      metadata: { feature: 'answer' },
      reportedCostUsd: null,
      responseExcerpt: 'OTLP is the OpenTelemetry protocol.',
      ingestedAtMs: ctx.nowMs,
    });
    expect(call.promptExcerpt).toBe(`${'[{"role":"user","parts":[{"type":"text",'.slice(0, 40)}…`);
    expect(call.usageRaw).toEqual({
      semantics: 'input-includes-cached',
      inputTokens: 1000,
      outputTokens: 200,
      cacheReadTokens: 600,
      cacheWriteTokens: 100,
      reasoningTokens: 50,
      totalTokens: null,
    });
    expect(call.usage).toEqual({
      inputTokens: 1000,
      outputTokens: 200,
      cacheReadTokens: 600,
      cacheWriteTokens: 100,
      reasoningTokens: 50,
      totalTokens: 1200,
    });

    expect(spans.map((s) => s.name).sort()).toEqual(['POST /chat', 'SELECT docs']);
    const root = spans.find((s) => s.name === 'POST /chat') as Span;
    expect(root).toMatchObject({
      traceId: ids.root?.traceId,
      spanId: ids.root?.spanId,
      parentSpanId: null,
      serviceName: 'chat-api',
      kind: 'server',
      startTimeMs: T0,
      durationMs: 1400,
      statusCode: 'unset',
      statusMessage: null,
      attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200, 'app.retry': false },
    });
    const db = spans.find((s) => s.name === 'SELECT docs') as Span;
    expect(db).toMatchObject({ kind: 'client', parentSpanId: ids.root?.spanId, statusCode: 'ok', durationMs: 20 });
  });

  it('maps deprecated GenAI names (gen_ai.system, prompt/completion tokens)', async () => {
    const bodies = await capture(encoding, (tracer) => {
      const span = tracer.startSpan('anthropic.chat', {
        startTime: T0,
        attributes: {
          'gen_ai.system': 'anthropic',
          'gen_ai.request.model': 'claude-3-5-sonnet',
          'gen_ai.usage.prompt_tokens': 300,
          'gen_ai.usage.completion_tokens': 40,
          'enduser.id': 'end-user-7',
          'session.id': 'sess-1',
          'gen_ai.prompt': 'Say hi',
          'gen_ai.completion': 'Hi!',
        },
      });
      span.end(T0 + 500);
    });
    const { llmCalls, spans } = decodeAll(encoding, bodies);
    expect(spans).toHaveLength(0);
    expect(llmCalls[0]).toMatchObject({
      provider: 'anthropic',
      model: 'claude-3-5-sonnet',
      requestModel: 'claude-3-5-sonnet',
      operation: 'chat',
      latencyMs: 500,
      ttftMs: null,
      userId: 'end-user-7',
      sessionId: 'sess-1',
      promptExcerpt: 'Say hi',
      responseExcerpt: 'Hi!',
      usageRaw: { semantics: 'input-includes-cached', inputTokens: 300, outputTokens: 40 },
      usage: { inputTokens: 300, outputTokens: 40, totalTokens: 340, cacheReadTokens: 0 },
    });
  });

  it('maps OpenInference LLM spans', async () => {
    const bodies = await capture(encoding, (tracer) => {
      const chain = tracer.startSpan('agent', { startTime: T0, attributes: { 'openinference.span.kind': 'CHAIN' } });
      const llm = startChild(tracer, 'ChatOpenAI', trace.setSpan(context.active(), chain), T0 + 5, {
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'gpt-4o-mini',
        'llm.provider': 'openai',
        'llm.token_count.prompt': 500,
        'llm.token_count.completion': 20,
        'llm.token_count.total': 520,
        'llm.token_count.prompt_details.cache_read': 200,
        'llm.token_count.completion_details.reasoning': 5,
        'llm.cost.total': 0.0021,
        'input.value': 'hello',
        'output.value': 'world',
        'user.id': 'u-oi',
        'session.id': 's-oi',
        'tag.tags': ['oi'],
        metadata: JSON.stringify({ run: 3, experiment: 'x' }),
      });
      llm.end(T0 + 105);
      chain.end(T0 + 110);
    });
    const { llmCalls, spans } = decodeAll(encoding, bodies);
    expect(spans).toHaveLength(1);
    expect(spans[0]?.attributes['openinference.span.kind']).toBe('CHAIN');
    expect(llmCalls[0]).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini',
      requestModel: null,
      latencyMs: 100,
      userId: 'u-oi',
      sessionId: 's-oi',
      tags: ['oi'],
      metadata: { run: '3', experiment: 'x' },
      reportedCostUsd: 0.0021,
      promptExcerpt: 'hello',
      responseExcerpt: 'world',
      parentSpanId: spans[0]?.spanId,
      usageRaw: {
        semantics: 'input-includes-cached',
        inputTokens: 500,
        outputTokens: 20,
        totalTokens: 520,
        cacheReadTokens: 200,
        cacheWriteTokens: null,
        reasoningTokens: 5,
      },
      usage: { inputTokens: 500, outputTokens: 20, cacheReadTokens: 200, reasoningTokens: 5, totalTokens: 520 },
    });
  });

  it('maps Langfuse generation attributes (input excludes cached tokens)', async () => {
    const bodies = await capture(
      encoding,
      (tracer) => {
        const span = tracer.startSpan('generation', {
          startTime: T0,
          attributes: {
            'langfuse.observation.type': 'generation',
            'langfuse.observation.model.name': 'claude-3-5-haiku',
            'langfuse.observation.usage_details': JSON.stringify({
              input: 100,
              output: 50,
              cache_read_input_tokens: 400,
              total: 550,
            }),
            'langfuse.observation.cost_details': JSON.stringify({ input: 0.001, output: 0.002 }),
            'langfuse.user.id': 'lf-user',
            'langfuse.session.id': 'lf-session',
            'langfuse.environment': 'canary',
            'langfuse.trace.tags': JSON.stringify(['lf', 'prod']),
            'langfuse.trace.metadata.team': 'search',
            'langfuse.observation.metadata.step': 2,
            'langfuse.observation.input': JSON.stringify({ question: 'q' }),
            'langfuse.observation.output': 'answer',
            'langfuse.observation.completion_start_time': JSON.stringify(new Date(T0 + 120).toISOString()),
          },
        });
        span.end(T0 + 400);
      },
      { 'service.name': 'lf-app' },
    );
    const { llmCalls } = decodeAll(encoding, bodies);
    const call = llmCalls[0] as LlmCall;
    expect(call).toMatchObject({
      provider: 'unknown',
      model: 'claude-3-5-haiku',
      environment: 'canary',
      userId: 'lf-user',
      sessionId: 'lf-session',
      tags: ['lf', 'prod'],
      metadata: { team: 'search', step: '2' },
      ttftMs: 120,
      promptExcerpt: '{"question":"q"}',
      responseExcerpt: 'answer',
      usageRaw: {
        semantics: 'input-excludes-cached',
        inputTokens: 100,
        outputTokens: 50,
        cacheReadTokens: 400,
        totalTokens: 550,
      },
      usage: { inputTokens: 500, outputTokens: 50, cacheReadTokens: 400, totalTokens: 550 },
    });
    expect(call.reportedCostUsd).toBeCloseTo(0.003, 10);
  });

  it('maps failed calls: status ERROR with an exception event, and error.type alone', async () => {
    const bodies = await capture(encoding, (tracer) => {
      const failed = tracer.startSpan('chat', {
        startTime: T0,
        attributes: { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' },
      });
      const e = new Error('429 Too Many Requests');
      e.name = 'RateLimitError';
      failed.recordException(e, T0 + 40);
      failed.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
      failed.end(T0 + 50);
      const typed = tracer.startSpan('chat', {
        startTime: T0 + 100,
        attributes: { 'gen_ai.provider.name': 'openai', 'error.type': 'timeout' },
      });
      typed.end(T0 + 200);
    });
    const { llmCalls } = decodeAll(encoding, bodies);
    const byStart = [...llmCalls].sort((x, y) => x.startTimeMs - y.startTimeMs);
    expect(byStart[0]).toMatchObject({
      status: 'error',
      errorType: 'RateLimitError',
      errorMessage: 'rate limited',
      model: 'gpt-4o',
    });
    expect(byStart[1]).toMatchObject({ status: 'error', errorType: 'timeout', errorMessage: null, model: 'unknown' });
  });

  it('the SDK exporter reads our partial-success response', async () => {
    const warnings: string[] = [];
    diag.setLogger(
      {
        error: () => {},
        warn: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      DiagLogLevel.WARN,
    );
    try {
      nextResponse = {
        contentType: encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json',
        body: encodeOtlpTraceResponse(2, '2 of 3 spans rejected: bad ids', encoding),
      };
      await capture(encoding, (tracer) => tracer.startSpan('noop', { startTime: T0 }).end(T0 + 1));
    } finally {
      diag.disable();
    }
    const warning = warnings.find((w) => w.includes('Partial Success'));
    expect(warning).toBeDefined();
    expect(warning).toContain('"rejectedSpans":');
    expect(warning).toContain('2 of 3 spans rejected: bad ids');
    expect(warning).toMatch(/"rejectedSpans":"?2"?/);
  });
});

describe('protobuf and JSON exports of the same spans', () => {
  it('decode to the same events', async () => {
    const build = (tracer: Tracer) => {
      const span = tracer.startSpan('chat', {
        startTime: T0 + 0.5,
        attributes: {
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4.1',
          'gen_ai.usage.input_tokens': 12,
          'gen_ai.usage.output_tokens': 3,
          'gen_ai.usage.cost': 0.5,
          'app.ratio': 0.25,
          'app.flags': [true, false],
        },
      });
      span.addEvent('first_token', {}, T0 + 40.5);
      span.end(T0 + 100.75);
    };
    // Ids differ per run, so compare everything but them.
    const strip = (c: LlmCall) => ({ ...c, id: '', traceId: '', spanId: '' });
    const proto = decodeAll('protobuf', await capture('protobuf', build)).llmCalls.map(strip);
    const json = decodeAll('json', await capture('json', build)).llmCalls.map(strip);
    expect(proto).toEqual(json);
    expect(proto[0]).toMatchObject({ latencyMs: 100.25, ttftMs: 40, reportedCostUsd: 0.5, startTimeMs: T0 });
  });
});
