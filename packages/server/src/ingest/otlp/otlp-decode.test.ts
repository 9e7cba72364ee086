import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { otlpTraceSchema } from './otlp-schema.js';
import { decodeOtlpTraces, encodeOtlpTraceResponse, type OtlpEncoding } from './otlp-traces.js';

const NOW_MS = Date.UTC(2026, 0, 15, 12);
const ctx = { projectId: 'prj_1', nowMs: NOW_MS, excerptMaxChars: 100 };
const START_NS = `${NOW_MS - 60_000}000000`;
const END_NS = `${NOW_MS - 59_000}000000`;
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN_A = 'b7ad6b7169203331';
const SPAN_B = '00f067aa0ba902b7';

const utf8 = (s: string) => new TextEncoder().encode(s);
const hexBytes = (h: string) => Buffer.from(h, 'hex');

/** A span in the shape protobufjs' fromObject takes (ids as bytes, fixed64 as decimal strings). */
interface ProtoSpanInit {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  start?: string;
  end?: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  [extra: string]: unknown;
}

function protoSpan(init: ProtoSpanInit): Record<string, unknown> {
  const { traceId = TRACE, spanId = SPAN_A, parentSpanId, start = START_NS, end = END_NS, ...rest } = init;
  return {
    traceId: hexBytes(traceId),
    spanId: hexBytes(spanId),
    ...(parentSpanId ? { parentSpanId: hexBytes(parentSpanId) } : {}),
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    name: 'span',
    ...rest,
  };
}

function protoBody(spans: Record<string, unknown>[], resourceAttributes: unknown[] = []): Uint8Array {
  const type = otlpTraceSchema().ExportTraceServiceRequest;
  const msg = type.fromObject({
    resourceSpans: [{ resource: { attributes: resourceAttributes }, scopeSpans: [{ scope: { name: 's' }, spans }] }],
  });
  return type.encode(msg).finish();
}

function jsonSpan(init: ProtoSpanInit): Record<string, unknown> {
  const { traceId = TRACE, spanId = SPAN_A, parentSpanId, start = START_NS, end = END_NS, ...rest } = init;
  return {
    traceId,
    spanId,
    ...(parentSpanId ? { parentSpanId } : {}),
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    name: 'span',
    ...rest,
  };
}

function jsonBody(spans: unknown[], resourceAttributes: unknown[] = []): Uint8Array {
  return utf8(
    JSON.stringify({ resourceSpans: [{ resource: { attributes: resourceAttributes }, scopeSpans: [{ spans }] }] }),
  );
}

function body(encoding: OtlpEncoding, spans: ProtoSpanInit[], resourceAttributes: unknown[] = []): Uint8Array {
  return encoding === 'protobuf'
    ? protoBody(spans.map(protoSpan), resourceAttributes)
    : jsonBody(spans.map(jsonSpan), resourceAttributes);
}

function decodeOk(b: Uint8Array, encoding: OtlpEncoding) {
  const r = decodeOtlpTraces(b, encoding, ctx);
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.value;
}

function decodeErr(b: Uint8Array, encoding: OtlpEncoding) {
  const r = decodeOtlpTraces(b, encoding, ctx);
  if (r.ok) throw new Error('expected an error');
  expect(r.error.code).toBe('RP_INVALID_BODY');
  return r.error.message;
}

const llmAttrs = [
  { key: 'gen_ai.provider.name', value: { stringValue: 'openai' } },
  { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
  { key: 'gen_ai.usage.input_tokens', value: { intValue: 10 } },
];

describe('decodeOtlpTraces: bad input', () => {
  it.each<OtlpEncoding>(['protobuf', 'json'])('rejects an empty %s body', (encoding) => {
    expect(decodeErr(new Uint8Array(0), encoding)).toMatch(/empty body/);
  });

  it('rejects garbage and truncated protobuf with a message', () => {
    // Field 1 (resource_spans) announcing far more bytes than there are.
    expect(decodeErr(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), 'protobuf')).toMatch(
      /ResourceSpans: length \d+ runs past the end/,
    );
    expect(decodeErr(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 'protobuf')).toMatch(/undecodable/);
    const valid = body('protobuf', [{ attributes: llmAttrs }]);
    expect(decodeOk(valid, 'protobuf').batch.llmCalls).toHaveLength(1);
    for (const cut of [1, 5, 20, valid.length - 1]) {
      expect(decodeErr(valid.subarray(0, cut), 'protobuf')).toMatch(/undecodable OTLP\/protobuf/);
    }
  });

  it('rejects protobuf whose known fields carry the wrong wire type', () => {
    // ExportTraceServiceRequest.resource_spans (field 1) sent as a varint.
    expect(decodeErr(new Uint8Array([0x08, 0x01]), 'protobuf')).toMatch(/field 1 has wire type 0/);
  });

  it('rejects JSON that is not JSON or not an object', () => {
    expect(decodeErr(utf8('{"resourceSpans": ['), 'json')).toMatch(/not valid JSON/);
    expect(decodeErr(utf8('\u00ff\u0000'), 'json')).toMatch(/not valid JSON/);
    expect(decodeErr(utf8('[1,2]'), 'json')).toMatch(/must be a JSON object.*got array/);
    expect(decodeErr(utf8('"x"'), 'json')).toMatch(/got string/);
    expect(decodeErr(utf8('null'), 'json')).toMatch(/got null/);
  });

  it('names the field when the JSON structure has the wrong types', () => {
    expect(decodeErr(utf8('{"resourceSpans":5}'), 'json')).toBe(
      'undecodable OTLP/JSON ExportTraceServiceRequest: resourceSpans: expected an array, got number',
    );
    expect(decodeErr(utf8('{"resourceSpans":[{"scopeSpans":{}}]}'), 'json')).toMatch(
      /resourceSpans\[0\]\.scopeSpans: expected an array, got object/,
    );
    expect(decodeErr(utf8('{"resourceSpans":[{"scopeSpans":[{"spans":"x"}]}]}'), 'json')).toMatch(
      /resourceSpans\[0\]\.scopeSpans\[0\]\.spans: expected an array, got string/,
    );
    expect(decodeErr(utf8('{"resourceSpans":[{"resource":{"attributes":[{"key":1}]}}]}'), 'json')).toMatch(
      /resourceSpans\[0\]\.resource\.attributes\[0\]\.key: expected a string, got number/,
    );
  });

  it('accepts an empty request object', () => {
    expect(decodeOk(utf8('{}'), 'json')).toEqual({
      batch: { llmCalls: [], spans: [] },
      rejectedSpans: 0,
      errorMessage: null,
    });
  });
});

describe('decodeOtlpTraces: partial success', () => {
  it.each<OtlpEncoding>(['protobuf', 'json'])('%s: rejects invalid spans one by one and keeps the rest', (encoding) => {
    const b = body(encoding, [
      { spanId: SPAN_A, attributes: llmAttrs },
      { spanId: SPAN_B, parentSpanId: SPAN_A, name: 'db' },
      { traceId: 'abcdef', spanId: '1111111111111111' },
      { spanId: '0000000000000000' },
      { spanId: '2222222222222222', start: '0' },
      { spanId: '3333333333333333', end: `${NOW_MS - 61_000}000000` },
    ]);
    const r = decodeOk(b, encoding);
    expect(r.batch.llmCalls.map((c) => c.spanId)).toEqual([SPAN_A]);
    expect(r.batch.spans.map((s) => [s.spanId, s.parentSpanId])).toEqual([[SPAN_B, SPAN_A]]);
    expect(r.rejectedSpans).toBe(4);
    expect(r.errorMessage).toBe(
      '4 of 6 spans rejected: ' +
        'resourceSpans[0].scopeSpans[0].spans[2]: traceId must be 16 bytes (32 hex characters, not all zero), got "abcdef"; ' +
        'resourceSpans[0].scopeSpans[0].spans[3]: spanId must be 8 bytes (16 hex characters, not all zero), got "0000000000000000"; ' +
        'resourceSpans[0].scopeSpans[0].spans[4]: startTimeUnixNano is missing; ' +
        'resourceSpans[0].scopeSpans[0].spans[5]: endTimeUnixNano is before startTimeUnixNano',
    );
  });

  it('lists the first five reasons and counts the rest', () => {
    const spans = Array.from({ length: 8 }, () => ({ traceId: '' }));
    const r = decodeOk(body('json', spans), 'json');
    expect(r.rejectedSpans).toBe(8);
    expect(r.errorMessage).toMatch(/^8 of 8 spans rejected: .*got none; and 3 more$/);
  });

  it('rejects timestamps beyond what a Date can hold without failing', () => {
    const r = decodeOk(jsonBody([{ ...jsonSpan({}), startTimeUnixNano: 1e300, endTimeUnixNano: 1e300 }]), 'json');
    expect(r.errorMessage).toMatch(/startTimeUnixNano 1e\+294 ms is more than 24h in the future/);
  });

  it('rejects absurd timestamps', () => {
    const r = decodeOk(
      jsonBody([
        jsonSpan({ start: '946684799000000000', end: '946684800000000000' }),
        jsonSpan({ start: `${NOW_MS + 25 * 3600_000}000000`, end: `${NOW_MS + 25 * 3600_000 + 1}000000` }),
        jsonSpan({ start: START_NS, end: `${NOW_MS + 25 * 3600_000}000000` }),
        { ...jsonSpan({}), endTimeUnixNano: undefined },
      ]),
      'json',
    );
    expect(r.rejectedSpans).toBe(4);
    expect(r.errorMessage).toContain('is before 2000-01-01');
    expect(r.errorMessage).toContain('more than 24h in the future');
    expect(r.errorMessage).toContain('span lasts longer than 24h');
    expect(r.errorMessage).toContain('endTimeUnixNano is missing');
  });

  it('JSON: a span with a mistyped field is rejected with its path, the others kept', () => {
    const b = jsonBody([
      jsonSpan({ attributes: [{ key: 'n', value: { intValue: 'ten' } }] }),
      jsonSpan({ spanId: SPAN_B, status: { code: 'STATUS_CODE_ERROR', message: 'x' } }),
      jsonSpan({ spanId: '1111111111111111', kind: true }),
      'not a span',
    ]);
    const r = decodeOk(b, 'json');
    expect(r.batch.spans).toHaveLength(1);
    expect(r.batch.spans[0]?.statusCode).toBe('error');
    expect(r.rejectedSpans).toBe(3);
    expect(r.errorMessage).toContain(
      'spans[0]: attributes[0].value.intValue: expected an integer (number or decimal string), got string',
    );
    expect(r.errorMessage).toContain('spans[2]: kind: expected an enum integer');
    expect(r.errorMessage).toContain('spans[3]: expected a Span object, got string');
  });
});

describe('decodeOtlpTraces: value decoding', () => {
  const richAttributes = [
    { key: 'str', value: { stringValue: 'héllo ✓' } },
    { key: 'neg', value: { intValue: '-5' } },
    { key: 'big', value: { intValue: '4294967297' } },
    { key: 'minus_big', value: { intValue: '-4294967296' } },
    { key: 'dbl', value: { doubleValue: 1.5 } },
    { key: 'flag', value: { boolValue: true } },
    { key: 'raw', value: { bytesValue: Buffer.from([1, 2, 255]).toString('base64') } },
    { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } } },
    {
      key: 'map',
      value: { kvlistValue: { values: [{ key: 'k', value: { arrayValue: { values: [{ boolValue: false }] } } }] } },
    },
    { key: 'empty', value: {} },
  ];
  const expectedAttributes = {
    str: 'héllo ✓',
    neg: -5,
    big: 4294967297,
    minus_big: -4294967296,
    dbl: 1.5,
    flag: true,
    raw: 'AQL/',
    list: '["a",2]',
    map: '{"k":[false]}',
  };

  it('protobuf and JSON give the same Span, including skipped fields (links, flags, dropped counts)', () => {
    const extra = {
      kind: 3,
      traceState: 'a=b',
      flags: 0x301,
      droppedAttributesCount: 2,
      links: [{ traceId: hexBytes(TRACE), spanId: hexBytes(SPAN_B), attributes: [] }],
      events: [{ timeUnixNano: START_NS, name: 'e', attributes: [{ key: 'x', value: { intValue: 1 } }] }],
      status: { code: 1, message: '' },
    };
    const proto = decodeOk(
      protoBody(
        [protoSpan({ attributes: richAttributes, ...extra })],
        [{ key: 'service.name', value: { stringValue: 'svc' } }],
      ),
      'protobuf',
    );
    const json = decodeOk(
      jsonBody(
        [
          jsonSpan({
            attributes: richAttributes,
            kind: 3,
            traceState: 'a=b',
            flags: 0x301,
            events: [{ timeUnixNano: START_NS, name: 'e', attributes: [{ key: 'x', value: { intValue: 1 } }] }],
            status: { code: 1 },
          }),
        ],
        [{ key: 'service.name', value: { stringValue: 'svc' } }],
      ),
      'json',
    );
    expect(proto.batch.spans).toHaveLength(1);
    expect(proto.batch.spans[0]).toMatchObject({
      traceId: TRACE,
      spanId: SPAN_A,
      serviceName: 'svc',
      kind: 'client',
      statusCode: 'ok',
      startTimeMs: NOW_MS - 60_000,
      durationMs: 1000,
      attributes: expectedAttributes,
    });
    expect(Object.keys(proto.batch.spans[0]?.attributes ?? {})).not.toContain('empty');
    expect(json.batch).toEqual(proto.batch);
  });

  it('JSON: accepts upper-case hex ids, numeric int64 and nanosecond numbers', () => {
    const r = decodeOk(
      jsonBody([
        {
          traceId: TRACE.toUpperCase(),
          spanId: SPAN_A.toUpperCase(),
          startTimeUnixNano: (NOW_MS - 1000) * 1e6,
          endTimeUnixNano: NOW_MS * 1e6,
          attributes: [
            { key: 'gen_ai.system', value: { stringValue: 'openai' } },
            { key: 'gen_ai.usage.input_tokens', value: { intValue: 7 } },
          ],
        },
      ]),
      'json',
    );
    expect(r.batch.llmCalls[0]).toMatchObject({ traceId: TRACE, spanId: SPAN_A, latencyMs: 1000 });
    expect(r.batch.llmCalls[0]?.usage.inputTokens).toBe(7);
  });

  it('protobuf: nanosecond timestamps keep whole milliseconds exact', () => {
    // 1795379181874 ms: ns / 1e6 in doubles would give 1795379181873.9998.
    const r = decodeOk(
      protoBody([protoSpan({ start: '1768478400874000000', end: '1768478400875500000' })]),
      'protobuf',
    );
    expect(r.batch.spans[0]).toMatchObject({ startTimeMs: 1768478400874, durationMs: 1.5 });
  });
});

describe('decodeOtlpTraces never throws', () => {
  const encodings = fc.constantFrom<OtlpEncoding>('protobuf', 'json');

  it('on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), encodings, (bytes, encoding) => {
        const r = decodeOtlpTraces(bytes, encoding, ctx);
        if (!r.ok) expect(r.error.code).toBe('RP_INVALID_BODY');
      }),
      { numRuns: 2000 },
    );
  });

  it('on mutated and truncated valid protobuf', () => {
    const valid = body('protobuf', [
      { attributes: llmAttrs, events: [{ name: 'exception', timeUnixNano: START_NS }], status: { code: 2 } },
      { spanId: SPAN_B, attributes: [{ key: 'l', value: { arrayValue: { values: [{ doubleValue: 2 }] } } }] },
    ]);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(valid.length),
        (flips, cut) => {
          const bytes = Uint8Array.from(valid);
          for (const [at, v] of flips) bytes[at] = v;
          decodeOtlpTraces(bytes.subarray(0, cut), 'protobuf', ctx);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('on random JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        decodeOtlpTraces(utf8(JSON.stringify(v) ?? 'null'), 'json', ctx);
        decodeOtlpTraces(utf8(JSON.stringify({ resourceSpans: [v] })), 'json', ctx);
      }),
      { numRuns: 1000 },
    );
  });

  it('on OTLP-shaped JSON with random field values, and accounts for every span', () => {
    const anyJson = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue());
    const attrValue = fc.oneof(
      fc.record({ stringValue: fc.oneof(fc.string(), anyJson) }),
      fc.record({ intValue: fc.oneof(fc.integer(), fc.bigInt().map(String), anyJson) }),
      fc.record({ doubleValue: fc.oneof(fc.double(), anyJson) }),
      fc.record({ boolValue: fc.oneof(fc.boolean(), anyJson) }),
      fc.record({ arrayValue: fc.record({ values: fc.array(fc.record({ stringValue: fc.string() })) }) }),
      fc.record({ bytesValue: fc.string() }),
      anyJson,
    );
    const key = fc.oneof(
      fc.constantFrom(
        'gen_ai.provider.name',
        'gen_ai.request.model',
        'gen_ai.usage.input_tokens',
        'gen_ai.usage.output_tokens',
        'gen_ai.response.time_to_first_chunk',
        'llm.token_count.prompt',
        'langfuse.observation.type',
        'langfuse.observation.usage_details',
        'langfuse.observation.cost_details',
        'langfuse.trace.tags',
        'langfuse.trace.metadata',
        'langfuse.observation.completion_start_time',
        'reskpoints.x',
        'tags',
        'error.type',
        '__proto__',
      ),
      fc.string(),
    );
    const id = (bytes: number) =>
      fc.oneof(
        fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex')),
        fc.string(),
        anyJson,
      );
    const time = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String), fc.integer(), fc.double(), anyJson);
    const span = fc.record(
      {
        traceId: id(16),
        spanId: id(8),
        parentSpanId: id(8),
        name: fc.oneof(fc.string(), anyJson),
        kind: fc.oneof(fc.integer({ min: -1, max: 7 }), anyJson),
        startTimeUnixNano: time,
        endTimeUnixNano: time,
        attributes: fc.oneof(fc.array(fc.record({ key, value: attrValue })), anyJson),
        events: fc.oneof(fc.array(fc.record({ name: fc.string(), timeUnixNano: time })), anyJson),
        status: fc.oneof(fc.record({ code: fc.oneof(fc.integer(), anyJson), message: fc.string() }), anyJson),
      },
      { requiredKeys: ['traceId', 'spanId', 'startTimeUnixNano', 'endTimeUnixNano', 'attributes'] },
    );
    fc.assert(
      fc.property(fc.array(span, { maxLength: 5 }), (spans) => {
        const r = decodeOtlpTraces(jsonBody(spans), 'json', ctx);
        expect(r.ok).toBe(true);
        if (r.ok) {
          const { batch, rejectedSpans } = r.value;
          expect(batch.llmCalls.length + batch.spans.length + rejectedSpans).toBe(spans.length);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('encodeOtlpTraceResponse', () => {
  it('protobuf: writes partial_success (field 1) with rejected_spans (1) and error_message (2)', () => {
    const bytes = encodeOtlpTraceResponse(3, 'msg', 'protobuf') as Uint8Array;
    // Checked byte by byte, independent of our schema: 0x0a len | 0x08 3 | 0x12 3 "msg".
    expect([...bytes]).toEqual([0x0a, 7, 0x08, 3, 0x12, 3, 0x6d, 0x73, 0x67]);
    const decoded = otlpTraceSchema().ExportTraceServiceResponse.toObject(
      otlpTraceSchema().ExportTraceServiceResponse.decode(bytes),
      { longs: Number },
    );
    expect(decoded).toEqual({ partialSuccess: { rejectedSpans: 3, errorMessage: 'msg' } });
  });

  it('round-trips large counts and long messages through our schema', () => {
    const message = 'x'.repeat(1000);
    const type = otlpTraceSchema().ExportTraceServiceResponse;
    const bytes = encodeOtlpTraceResponse(123_456_789, message, 'protobuf') as Uint8Array;
    expect(type.toObject(type.decode(bytes), { longs: Number })).toEqual({
      partialSuccess: { rejectedSpans: 123_456_789, errorMessage: message },
    });
  });

  it('is empty when everything was accepted', () => {
    expect(encodeOtlpTraceResponse(0, null, 'protobuf')).toEqual(new Uint8Array(0));
    expect(encodeOtlpTraceResponse(0, null, 'json')).toBe('{}');
  });

  it('JSON: carries partialSuccess, also for a warning without rejected spans', () => {
    expect(JSON.parse(encodeOtlpTraceResponse(2, 'bad ids', 'json') as string)).toEqual({
      partialSuccess: { rejectedSpans: 2, errorMessage: 'bad ids' },
    });
    expect(JSON.parse(encodeOtlpTraceResponse(0, 'note', 'json') as string)).toEqual({
      partialSuccess: { rejectedSpans: 0, errorMessage: 'note' },
    });
  });

  it('decode result feeds the encoder', () => {
    const r = decodeOk(body('json', [{ traceId: '' }, {}]), 'json');
    const out = JSON.parse(encodeOtlpTraceResponse(r.rejectedSpans, r.errorMessage, 'json') as string);
    expect(out.partialSuccess.rejectedSpans).toBe(1);
    expect(out.partialSuccess.errorMessage).toMatch(/^1 of 2 spans rejected: .*traceId/);
  });
});
