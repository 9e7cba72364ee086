import type { DemoCall } from './traffic.js';

/**
 * OTLP/HTTP JSON (ExportTraceServiceRequest) for demo calls, shaped like what the
 * OpenTelemetry JS exporter sends: hex trace/span ids, nanosecond timestamps as decimal
 * strings, integers as `intValue` numbers, GenAI semantic-convention attributes.
 */

export type OtlpAnyValue =
  | { stringValue: string }
  | { intValue: number }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { arrayValue: { values: OtlpAnyValue[] } };

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  status: { code: number; message?: string };
}

export interface OtlpTraceRequest {
  resourceSpans: Array<{
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: Array<{ scope: { name: string; version: string }; spans: OtlpSpan[] }>;
  }>;
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;

const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): OtlpKeyValue => ({ key, value: { intValue: Math.round(value) } });

const nanos = (ms: number): string => (BigInt(Math.round(ms)) * 1_000_000n).toString();

/**
 * Services instrumented with an older GenAI convention report `gen_ai.system` instead of
 * `gen_ai.provider.name`; the demo keeps one such service so both spellings arrive.
 */
const SERVICES_ON_OLD_CONVENTION = new Set(['code-assistant']);

function llmSpan(call: DemoCall): OtlpSpan {
  const attributes: OtlpKeyValue[] = [
    str('gen_ai.operation.name', call.operation),
    SERVICES_ON_OLD_CONVENTION.has(call.serviceName)
      ? str('gen_ai.system', call.provider)
      : str('gen_ai.provider.name', call.provider),
    str('gen_ai.request.model', call.requestModel),
  ];
  if (call.status === 'ok') attributes.push(str('gen_ai.response.model', call.model));
  const u = call.usage;
  if (u) {
    attributes.push(int('gen_ai.usage.input_tokens', u.inputTokens));
    if (call.operation !== 'embeddings') attributes.push(int('gen_ai.usage.output_tokens', u.outputTokens));
    if (u.cacheReadTokens > 0) attributes.push(int('gen_ai.usage.cache_read.input_tokens', u.cacheReadTokens));
    if (u.cacheWriteTokens > 0) attributes.push(int('gen_ai.usage.cache_creation.input_tokens', u.cacheWriteTokens));
    if (u.reasoningTokens > 0) attributes.push(int('gen_ai.usage.reasoning.output_tokens', u.reasoningTokens));
  }
  attributes.push(str('user.id', call.userId), str('session.id', call.sessionId));
  attributes.push(str('gen_ai.conversation.id', call.sessionId));
  attributes.push({
    key: 'langfuse.trace.tags',
    value: { arrayValue: { values: call.tags.map((t) => ({ stringValue: t })) } },
  });
  for (const [k, v] of Object.entries(call.metadata)) attributes.push(str(`app.${k}`, v));
  if (call.errorType) attributes.push(str('error.type', call.errorType));
  return {
    traceId: call.traceId,
    spanId: call.spanId,
    parentSpanId: call.parentSpanId,
    name: `${call.operation} ${call.requestModel}`,
    kind: SPAN_KIND_CLIENT,
    startTimeUnixNano: nanos(call.startTimeMs),
    endTimeUnixNano: nanos(call.startTimeMs + call.latencyMs),
    attributes,
    status:
      call.status === 'error'
        ? { code: STATUS_ERROR, ...(call.errorMessage ? { message: call.errorMessage } : {}) }
        : { code: STATUS_UNSET },
  };
}

/** The application's request span around the LLM call, so traces have a service-side parent. */
function requestSpan(call: DemoCall): OtlpSpan {
  const [method = 'POST', route = '/'] = call.route.split(' ');
  return {
    traceId: call.traceId,
    spanId: call.parentSpanId,
    name: call.route,
    kind: SPAN_KIND_SERVER,
    startTimeUnixNano: nanos(call.startTimeMs - 3),
    endTimeUnixNano: nanos(call.startTimeMs + call.latencyMs + 5),
    attributes: [str('http.request.method', method), str('http.route', route), int('http.response.status_code', 200)],
    status: { code: STATUS_UNSET },
  };
}

/**
 * One request body for the given calls, grouped by service and environment (one resource
 * each). With `withRequestSpans`, each call's parent request span is included too.
 */
export function buildOtlpTraceRequest(
  calls: readonly DemoCall[],
  options: { withRequestSpans?: boolean } = {},
): OtlpTraceRequest {
  const groups = new Map<string, DemoCall[]>();
  for (const c of calls) {
    const key = `${c.serviceName}\u0000${c.environment}`;
    const list = groups.get(key);
    if (list) list.push(c);
    else groups.set(key, [c]);
  }
  return {
    resourceSpans: [...groups.values()].map((group) => {
      const first = group[0] as DemoCall;
      const spans: OtlpSpan[] = [];
      for (const c of group) {
        // Retries run under the same request span; send it once.
        if (options.withRequestSpans && c.attempt === 1) spans.push(requestSpan(c));
        spans.push(llmSpan(c));
      }
      return {
        resource: {
          attributes: [
            str('service.name', first.serviceName),
            str('deployment.environment.name', first.environment),
            str('telemetry.sdk.language', 'nodejs'),
          ],
        },
        scopeSpans: [{ scope: { name: 'reskpoints-demo', version: '1' }, spans }],
      };
    }),
  };
}
