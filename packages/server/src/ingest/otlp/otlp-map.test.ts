import type { LlmCall, Span } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { decodeOtlpTraces } from './otlp-traces.js';

const NOW_MS = Date.UTC(2026, 0, 15, 12);
const START_MS = NOW_MS - 60_000;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

type JsonAttr = { key: string; value: Record<string, unknown> };
type AttrInput = string | number | boolean | string[] | { raw: Record<string, unknown> };

function attr(key: string, v: AttrInput): JsonAttr {
  if (typeof v === 'object' && !Array.isArray(v)) return { key, value: v.raw };
  if (Array.isArray(v)) return { key, value: { arrayValue: { values: v.map((s) => ({ stringValue: s })) } } };
  if (typeof v === 'string') return { key, value: { stringValue: v } };
  if (typeof v === 'boolean') return { key, value: { boolValue: v } };
  return { key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } };
}

let spanCounter = 0;

interface SpanInit {
  attrs?: Record<string, AttrInput>;
  startMs?: number;
  endMs?: number;
  events?: Array<{ name: string; timeMs: number; attrs?: Record<string, AttrInput> }>;
  status?: { code: number; message?: string };
  name?: string;
}

function span(init: SpanInit): Record<string, unknown> {
  spanCounter++;
  const startMs = init.startMs ?? START_MS;
  return {
    traceId: TRACE,
    spanId: spanCounter.toString(16).padStart(16, '0'),
    name: init.name ?? 'op',
    startTimeUnixNano: `${startMs}000000`,
    endTimeUnixNano: `${init.endMs ?? startMs + 1000}000000`,
    attributes: Object.entries(init.attrs ?? {}).map(([k, v]) => attr(k, v)),
    events: (init.events ?? []).map((e) => ({
      name: e.name,
      timeUnixNano: `${e.timeMs}000000`,
      attributes: Object.entries(e.attrs ?? {}).map(([k, v]) => attr(k, v)),
    })),
    ...(init.status ? { status: init.status } : {}),
  };
}

function decode(
  spans: SpanInit[],
  resource: Record<string, AttrInput> = {},
  excerptMaxChars = 50,
): { llmCalls: LlmCall[]; spans: Span[]; rejectedSpans: number } {
  const body = {
    resourceSpans: [
      {
        resource: { attributes: Object.entries(resource).map(([k, v]) => attr(k, v)) },
        scopeSpans: [{ spans: spans.map(span) }],
      },
    ],
  };
  const r = decodeOtlpTraces(new TextEncoder().encode(JSON.stringify(body)), 'json', {
    projectId: 'prj_m',
    nowMs: NOW_MS,
    excerptMaxChars,
  });
  if (!r.ok) throw new Error(r.error.message);
  return { ...r.value.batch, rejectedSpans: r.value.rejectedSpans };
}

function call(init: SpanInit, resource: Record<string, AttrInput> = {}, excerptMaxChars = 50): LlmCall {
  const out = decode([init], resource, excerptMaxChars);
  expect(out.llmCalls).toHaveLength(1);
  return out.llmCalls[0] as LlmCall;
}

describe('classifying spans', () => {
  it.each<[string, Record<string, AttrInput>]>([
    ['gen_ai.operation.name', { 'gen_ai.operation.name': 'embeddings' }],
    ['gen_ai.provider.name', { 'gen_ai.provider.name': 'openai' }],
    ['gen_ai.system', { 'gen_ai.system': 'openai' }],
    ['gen_ai.request.model', { 'gen_ai.request.model': 'm' }],
    ['llm.model_name', { 'llm.model_name': 'm' }],
    ['openinference.span.kind=LLM', { 'openinference.span.kind': 'LLM' }],
    ['langfuse.observation.type=generation', { 'langfuse.observation.type': 'generation' }],
  ])('%s makes an LLM call', (_name, attrs) => {
    const out = decode([{ attrs }]);
    expect(out.llmCalls).toHaveLength(1);
    expect(out.spans).toHaveLength(0);
  });

  it.each<[string, Record<string, AttrInput>]>([
    ['no attributes', {}],
    ['openinference CHAIN', { 'openinference.span.kind': 'CHAIN' }],
    ['langfuse span', { 'langfuse.observation.type': 'span' }],
    ['gen_ai.agent.name only', { 'gen_ai.agent.name': 'planner' }],
  ])('%s stays a Span', (_name, attrs) => {
    const out = decode([{ attrs }]);
    expect(out.llmCalls).toHaveLength(0);
    expect(out.spans).toHaveLength(1);
  });
});

describe('LLM call fields', () => {
  it('uses "unknown" provider and model and the chat operation when nothing names them', () => {
    expect(call({ attrs: { 'gen_ai.conversation.id': 'c', 'gen_ai.operation.name': 'chat' } })).toMatchObject({
      provider: 'unknown',
      model: 'unknown',
      requestModel: null,
      operation: 'chat',
      environment: 'production',
      sessionId: 'c',
      reportedCostUsd: null,
      tags: [],
      metadata: {},
    });
  });

  it('prefers gen_ai.provider.name over gen_ai.system and llm.provider, and the response model', () => {
    expect(
      call({
        attrs: {
          'llm.provider': 'c',
          'gen_ai.system': 'b',
          'gen_ai.provider.name': 'a',
          'llm.model_name': 'z',
          'gen_ai.request.model': 'y',
          'gen_ai.response.model': 'x',
        },
      }),
    ).toMatchObject({ provider: 'a', model: 'x', requestModel: 'y' });
    expect(call({ attrs: { 'llm.system': 'd', 'llm.model_name': 'z' } })).toMatchObject({ provider: 'd', model: 'z' });
  });

  it('maps Langfuse embeddings to the embeddings operation', () => {
    expect(call({ attrs: { 'langfuse.observation.type': 'embedding' } }).operation).toBe('embeddings');
  });

  it('takes the environment from the span before the resource, clipped to 64 characters', () => {
    expect(call({ attrs: { 'gen_ai.system': 'x' } }, { 'deployment.environment': 'prod-eu' }).environment).toBe(
      'prod-eu',
    );
    expect(
      call({ attrs: { 'gen_ai.system': 'x', 'langfuse.environment': 'dev' } }, { 'deployment.environment.name': 'p' })
        .environment,
    ).toBe('dev');
    expect(call({ attrs: { 'gen_ai.system': 'x', 'deployment.environment.name': 'e'.repeat(80) } }).environment).toBe(
      'e'.repeat(64),
    );
  });

  it('reads user and session ids in documented order', () => {
    expect(
      call({ attrs: { 'gen_ai.system': 'x', 'langfuse.user.id': 'l', 'enduser.id': 'e', 'user.id': 'u' } }).userId,
    ).toBe('u');
    expect(call({ attrs: { 'gen_ai.system': 'x', 'langfuse.user.id': 'l', 'enduser.id': 'e' } }).userId).toBe('e');
    expect(call({ attrs: { 'gen_ai.system': 'x', 'langfuse.session.id': 's' } }).sessionId).toBe('s');
  });

  it('reads tags from arrays, JSON strings and comma lists, de-duplicated', () => {
    expect(
      call({
        attrs: {
          'gen_ai.system': 'x',
          'langfuse.trace.tags': '["a","b"]',
          tags: 'b, c,, d ',
          'tag.tags': ['e', 'a'],
        },
      }).tags,
    ).toEqual(['a', 'b', 'c', 'd', 'e']);
    const many = Array.from({ length: 70 }, (_, i) => `t${i}`);
    expect(call({ attrs: { 'gen_ai.system': 'x', tags: many } }).tags).toHaveLength(50);
  });

  it('collects metadata from Langfuse keys, JSON objects and reskpoints.* attributes', () => {
    const c = call({
      attrs: {
        'gen_ai.system': 'x',
        'langfuse.trace.metadata': JSON.stringify({ tenant: 'acme', nested: { a: 1 } }),
        'langfuse.trace.metadata.region': 'eu',
        'langfuse.observation.metadata.attempt': 2,
        'reskpoints.feature': 'summarise',
        'reskpoints.__proto__': 'ignored',
        'other.key': 'not metadata',
      },
    });
    expect(c.metadata).toEqual({
      tenant: 'acme',
      nested: '{"a":1}',
      region: 'eu',
      attempt: '2',
      feature: 'summarise',
    });
    expect(Object.getPrototypeOf(c.metadata)).toBe(Object.prototype);
  });

  it('keeps the attributes pricing reads: the service tier and 1-hour cache writes', () => {
    const c = call({
      attrs: {
        'gen_ai.system': 'openai',
        'openai.response.service_tier': 'flex',
        'gen_ai.usage.cache_creation.ephemeral_1h_input_tokens': 3000,
      },
    });
    expect(c.metadata).toEqual({
      'openai.response.service_tier': 'flex',
      'gen_ai.usage.cache_creation.ephemeral_1h_input_tokens': '3000',
    });
  });

  it('caps metadata at 64 keys', () => {
    const attrs: Record<string, AttrInput> = { 'gen_ai.system': 'x' };
    for (let i = 0; i < 100; i++) attrs[`reskpoints.k${i}`] = i;
    expect(Object.keys(call({ attrs }).metadata)).toHaveLength(64);
  });

  it('takes the cost from gen_ai.usage.cost, Langfuse cost_details or llm.cost.total, ignoring nonsense', () => {
    expect(call({ attrs: { 'gen_ai.system': 'x', 'gen_ai.usage.cost': 0.25 } }).reportedCostUsd).toBe(0.25);
    expect(
      call({ attrs: { 'gen_ai.system': 'x', 'langfuse.observation.cost_details': '{"input":1,"total":1.5}' } })
        .reportedCostUsd,
    ).toBe(1.5);
    expect(call({ attrs: { 'gen_ai.system': 'x', 'llm.cost.total': '0.75' } }).reportedCostUsd).toBe(0.75);
    expect(call({ attrs: { 'gen_ai.system': 'x', 'gen_ai.usage.cost': -1 } }).reportedCostUsd).toBeNull();
  });
});

describe('usage', () => {
  it('reads Langfuse usage_details given as a kvlist value', () => {
    const c = call({
      attrs: {
        'langfuse.observation.type': 'generation',
        'langfuse.observation.usage_details': {
          raw: {
            kvlistValue: {
              values: [
                { key: 'input', value: { intValue: '10' } },
                { key: 'output', value: { intValue: '5' } },
                { key: 'input_cache_read', value: { intValue: '90' } },
                { key: 'input_cache_creation', value: { intValue: '20' } },
                { key: 'output_reasoning', value: { intValue: '3' } },
              ],
            },
          },
        },
      },
    });
    expect(c.usageRaw).toEqual({
      semantics: 'input-excludes-cached',
      inputTokens: 10,
      // Langfuse buckets are separate: output_reasoning is added to output.
      outputTokens: 8,
      cacheReadTokens: 90,
      cacheWriteTokens: 20,
      reasoningTokens: 3,
      totalTokens: null,
    });
    expect(c.usage).toEqual({
      inputTokens: 120,
      outputTokens: 8,
      cacheReadTokens: 90,
      cacheWriteTokens: 20,
      reasoningTokens: 3,
      totalTokens: 128,
    });
  });

  it('accepts token counts sent as strings or doubles and drops negative or absurd ones', () => {
    const c = call({
      attrs: {
        'gen_ai.system': 'x',
        'gen_ai.usage.input_tokens': '42',
        'gen_ai.usage.output_tokens': 7.0,
        'gen_ai.usage.cache_read.input_tokens': -3,
        'gen_ai.usage.reasoning.output_tokens': 1e13,
      },
    });
    expect(c.usageRaw).toMatchObject({
      inputTokens: 42,
      outputTokens: 7,
      cacheReadTokens: null,
      reasoningTokens: null,
    });
  });

  it('is empty (all null raw, zero normalised) when no usage is reported', () => {
    const c = call({ attrs: { 'gen_ai.system': 'x' } });
    expect(c.usageRaw.inputTokens).toBeNull();
    expect(c.usage.totalTokens).toBe(0);
  });
});

describe('time to first token', () => {
  const base = { 'gen_ai.system': 'x' };
  it.each<[string, SpanInit, number | null]>([
    [
      'gen_ai.response.time_to_first_chunk (s)',
      { attrs: { ...base, 'gen_ai.response.time_to_first_chunk': 0.5 } },
      500,
    ],
    ['gen_ai.server.time_to_first_token (s)', { attrs: { ...base, 'gen_ai.server.time_to_first_token': 0.125 } }, 125],
    ['ai.response.msToFirstChunk (ms)', { attrs: { ...base, 'ai.response.msToFirstChunk': 88 } }, 88],
    ['a first_token event', { attrs: base, events: [{ name: 'first_token', timeMs: START_MS + 33 }] }, 33],
    [
      'an ai.stream.firstChunk event',
      { attrs: base, events: [{ name: 'ai.stream.firstChunk', timeMs: START_MS + 7 }] },
      7,
    ],
    ['other events', { attrs: base, events: [{ name: 'retry', timeMs: START_MS + 7 }] }, null],
    ['a negative value', { attrs: { ...base, 'gen_ai.response.time_to_first_chunk': -1 } }, null],
  ])('from %s', (_name, init, expected) => {
    expect(call(init).ttftMs).toBe(expected);
  });
});

describe('errors', () => {
  it('reads the exception from span attributes when there is no event', () => {
    expect(
      call({
        attrs: { 'gen_ai.system': 'x', 'exception.type': 'ValueError', 'exception.message': 'bad' },
        status: { code: 2 },
      }),
    ).toMatchObject({ status: 'error', errorType: 'ValueError', errorMessage: 'bad' });
  });

  it('treats a Langfuse ERROR level as a failed call', () => {
    expect(
      call({
        attrs: {
          'langfuse.observation.type': 'generation',
          'langfuse.observation.level': 'ERROR',
          'langfuse.observation.status_message': 'content filtered',
        },
      }),
    ).toMatchObject({ status: 'error', errorType: null, errorMessage: 'content filtered' });
  });

  it('leaves OK and UNSET statuses as ok and ignores exception events then', () => {
    expect(
      call({
        attrs: { 'gen_ai.system': 'x' },
        status: { code: 1 },
        events: [{ name: 'exception', timeMs: START_MS, attrs: { 'exception.type': 'Retry' } }],
      }),
    ).toMatchObject({ status: 'ok', errorType: null, errorMessage: null });
  });
});

describe('excerpts', () => {
  it('renders structured messages as JSON and truncates to the configured size', () => {
    const c = call(
      {
        attrs: {
          'gen_ai.system': 'x',
          'gen_ai.input.messages': ['first message', 'second'],
          'gen_ai.output.messages': 'y'.repeat(30),
        },
      },
      {},
      20,
    );
    expect(c.promptExcerpt).toBe('["first message","se…');
    expect(c.responseExcerpt).toBe('y'.repeat(20) + '…');
  });

  it('reads content from older gen_ai.content.* events', () => {
    const c = call({
      attrs: { 'gen_ai.system': 'x' },
      events: [
        { name: 'gen_ai.content.prompt', timeMs: START_MS, attrs: { 'gen_ai.prompt': 'question' } },
        { name: 'gen_ai.content.completion', timeMs: START_MS + 1, attrs: { 'gen_ai.completion': 'answer' } },
      ],
    });
    expect(c).toMatchObject({ promptExcerpt: 'question', responseExcerpt: 'answer' });
  });

  it('keeps none when the cap is 0', () => {
    const c = call({ attrs: { 'gen_ai.system': 'x', 'input.value': 'secret' } }, {}, 0);
    expect(c.promptExcerpt).toBeNull();
  });
});

describe('non-LLM spans', () => {
  it('flattens attributes, clips long strings and keeps non-finite doubles readable', () => {
    const out = decode([
      {
        name: 'GET /',
        attrs: {
          'http.route': '/',
          'big.text': 'z'.repeat(5000),
          ratio: { raw: { doubleValue: 'NaN' } },
          ['__proto__']: 'kept out',
        },
      },
    ]);
    const s = out.spans[0] as Span;
    expect(s.attributes['http.route']).toBe('/');
    expect(s.attributes['big.text']).toHaveLength(4096);
    expect(s.attributes.ratio).toBe('NaN');
    expect(Object.keys(s.attributes)).not.toContain('__proto__');
    expect(s).toMatchObject({ kind: 'unspecified', statusCode: 'unset', durationMs: 1000, serviceName: null });
  });

  it('drops a parent id that is not 8 bytes instead of rejecting the span', () => {
    const body = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: TRACE,
                  spanId: '00000000000000aa',
                  parentSpanId: 'abc',
                  startTimeUnixNano: `${START_MS}000000`,
                  endTimeUnixNano: `${START_MS + 1}000000`,
                },
              ],
            },
          ],
        },
      ],
    };
    const r = decodeOtlpTraces(new TextEncoder().encode(JSON.stringify(body)), 'json', {
      projectId: 'p',
      nowMs: NOW_MS,
      excerptMaxChars: 10,
    });
    expect(r.ok && r.value.batch.spans[0]?.parentSpanId).toBeNull();
  });
});
