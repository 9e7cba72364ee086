/**
 * OTLP trace decode + map throughput, single thread. Run: npx tsx bench/otlp-decode.ts
 *
 * Each request carries 512 GenAI chat spans (the BatchSpanProcessor's default batch) with
 * the attributes a typical instrumentation sets, ~1 KB of prompt/response content each.
 * Prints spans/s for protobuf and JSON (decoded and mapped to LlmCalls), and for reference
 * the reflected protobufjs decoder on the same bytes (decode only, no mapping). Rates are per
 * CPU-second of this process, so a busy shared machine does not halve them.
 */
import { decodeOtlpTraces, type OtlpEncoding } from '../packages/server/src/ingest/otlp/index.js';
import { otlpTraceSchema } from '../packages/server/src/ingest/otlp/otlp-schema.js';

const SPANS_PER_REQUEST = 512;
const RUN_MS = 2000;
const nowMs = Date.now();

const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');
const s = (key: string, v: string) => ({ key, value: { stringValue: v } });
const i = (key: string, v: number) => ({ key, value: { intValue: v } });
const d = (key: string, v: number) => ({ key, value: { doubleValue: v } });

const prompt = JSON.stringify([
  { role: 'system', parts: [{ type: 'text', content: 'You are a helpful assistant. '.repeat(6) }] },
  {
    role: 'user',
    parts: [{ type: 'text', content: 'Summarise the incident report below in three bullet points. '.repeat(6) }],
  },
]);
const completion = JSON.stringify([
  {
    role: 'assistant',
    parts: [{ type: 'text', content: '- The cache tier ran out of memory. '.repeat(7) }],
    finish_reason: 'stop',
  },
]);

function spanObject(n: number) {
  const start = nowMs - 60_000 + n;
  return {
    traceId: hex(n + 1, 16),
    spanId: hex(n + 1, 8),
    parentSpanId: hex(n + 100_000, 8),
    name: 'chat gpt-4o-mini',
    kind: 3,
    start: `${start}000000`,
    end: `${start + 850}123456`,
    attributes: [
      s('gen_ai.operation.name', 'chat'),
      s('gen_ai.provider.name', 'openai'),
      s('gen_ai.request.model', 'gpt-4o-mini'),
      s('gen_ai.response.model', 'gpt-4o-mini-2024-07-18'),
      s('gen_ai.response.id', `chatcmpl-${hex(n, 12)}`),
      { key: 'gen_ai.response.finish_reasons', value: { arrayValue: { values: [{ stringValue: 'stop' }] } } },
      d('gen_ai.request.temperature', 0.2),
      i('gen_ai.request.max_tokens', 1024),
      i('gen_ai.usage.input_tokens', 1200 + (n % 50)),
      i('gen_ai.usage.output_tokens', 180 + (n % 20)),
      i('gen_ai.usage.cache_read.input_tokens', 1024),
      s('server.address', 'api.openai.com'),
      i('server.port', 443),
      s('user.id', `user-${n % 100}`),
      s('session.id', `session-${n % 20}`),
      s('gen_ai.input.messages', prompt),
      s('gen_ai.output.messages', completion),
    ],
  };
}

const resourceAttributes = [
  s('service.name', 'chat-api'),
  s('service.version', '1.4.2'),
  s('deployment.environment.name', 'production'),
  s('telemetry.sdk.language', 'nodejs'),
];

function protobufBody(): Uint8Array {
  const type = otlpTraceSchema().ExportTraceServiceRequest;
  const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, n) => {
    const { traceId, spanId, parentSpanId, start, end, ...rest } = spanObject(n);
    return {
      ...rest,
      traceId: Buffer.from(traceId, 'hex'),
      spanId: Buffer.from(spanId, 'hex'),
      parentSpanId: Buffer.from(parentSpanId, 'hex'),
      startTimeUnixNano: start,
      endTimeUnixNano: end,
      status: {},
    };
  });
  const msg = type.fromObject({
    resourceSpans: [
      { resource: { attributes: resourceAttributes }, scopeSpans: [{ scope: { name: 'openai' }, spans }] },
    ],
  });
  return type.encode(msg).finish();
}

function jsonBody(): Uint8Array {
  const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, n) => {
    const { start, end, attributes, ...rest } = spanObject(n);
    return {
      ...rest,
      startTimeUnixNano: start,
      endTimeUnixNano: end,
      attributes: attributes.map((a) =>
        'intValue' in a.value ? { key: a.key, value: { intValue: String(a.value.intValue) } } : a,
      ),
      status: {},
    };
  });
  return new TextEncoder().encode(
    JSON.stringify({
      resourceSpans: [
        { resource: { attributes: resourceAttributes }, scopeSpans: [{ scope: { name: 'openai' }, spans }] },
      ],
    }),
  );
}

/**
 * Runs `run` for RUN_MS and prints spans per CPU-second of this process (robust when the
 * machine is shared; GC threads count as cost too) and per wall-clock second.
 */
function measure(label: string, bytes: number, run: () => number): void {
  for (let k = 0; k < 20; k++) run(); // warm-up: let the JIT settle
  let spans = 0;
  let requests = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let elapsedMs = 0;
  while (elapsedMs < RUN_MS) {
    spans += run();
    requests++;
    elapsedMs = performance.now() - t0;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const perCpuSecond = Math.round((spans / cpuMs) * 1000).toLocaleString('en-US');
  const perWallSecond = Math.round((spans / elapsedMs) * 1000).toLocaleString('en-US');
  const mbPerCpuSecond = ((bytes * requests) / cpuMs / 1000).toFixed(0);
  console.log(
    `${label}: ${perCpuSecond} spans/s per CPU-second (${mbPerCpuSecond} MB/s; wall clock ${perWallSecond} spans/s; ${bytes} B per ${SPANS_PER_REQUEST}-span request)`,
  );
}

const ctx = { projectId: 'prj_bench', nowMs, excerptMaxChars: 2000 };

function decodeAndMap(body: Uint8Array, encoding: OtlpEncoding): () => number {
  return () => {
    const r = decodeOtlpTraces(body, encoding, ctx);
    if (!r.ok || r.value.batch.llmCalls.length !== SPANS_PER_REQUEST) throw new Error('benchmark input did not decode');
    return r.value.batch.llmCalls.length;
  };
}

const proto = protobufBody();
const json = jsonBody();
measure('otlp protobuf decode+map', proto.length, decodeAndMap(proto, 'protobuf'));
measure('otlp json     decode+map', json.length, decodeAndMap(json, 'json'));
const reflected = otlpTraceSchema().ExportTraceServiceRequest;
measure('reference: protobufjs reflected decode only', proto.length, () => {
  reflected.decode(proto);
  return SPANS_PER_REQUEST;
});
