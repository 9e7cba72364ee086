/**
 * The decoded form of an OTLP trace export, shared by the protobuf and the JSON decoder so
 * that one mapper turns both into normalised events. It keeps what the mapper reads (plus
 * the scope name); links, trace state and dropped counts are not kept.
 */

/** An OTLP AnyValue. int64 values become numbers (exact up to 2^53, which token counts never reach). */
export type OtlpValue = string | number | boolean | Uint8Array | OtlpValue[] | OtlpKvList | null;

/** A kvlist AnyValue; a class so the mapper can tell it apart from arrays and bytes. */
export class OtlpKvList {
  constructor(readonly values: Map<string, OtlpValue>) {}
}

export type OtlpAttributes = Map<string, OtlpValue>;

export interface OtlpEventData {
  name: string;
  /** Epoch ms, fractional; NaN when missing or unreadable. */
  timeUnixMs: number;
  attributes: OtlpAttributes;
}

export interface OtlpSpanData {
  /**
   * Lower-case hex of the id bytes ('' when absent). Protobuf ids are always hex, of
   * whatever length arrived; JSON ids are the string as sent, so the mapper validates both.
   */
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** SpanKind enum value (0..5); other values are kept and mapped to 'unspecified'. */
  kind: number;
  /** Epoch ms, fractional (nanosecond input keeps sub-ms precision); NaN when unreadable. */
  startTimeUnixMs: number;
  endTimeUnixMs: number;
  attributes: OtlpAttributes;
  events: OtlpEventData[];
  /** Status.code enum value: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
  /**
   * Set by the JSON decoder when a span field had the wrong type; the span is then
   * rejected with this reason instead of failing the whole request.
   */
  problem: string | null;
}

export interface OtlpScopeSpansData {
  scopeName: string;
  spans: OtlpSpanData[];
}

export interface OtlpResourceSpansData {
  resourceAttributes: OtlpAttributes;
  scopeSpans: OtlpScopeSpansData[];
}

export type OtlpTraceRequestData = OtlpResourceSpansData[];

/** Thrown by the decoders on undecodable input; caught at the public boundary and returned as a value. */
export class OtlpDecodeError extends Error {
  override name = 'OtlpDecodeError';
}

/** Nesting limit for AnyValue arrays/kvlists, so hostile input cannot exhaust the stack. */
export const MAX_VALUE_DEPTH = 32;

export function newSpanData(): OtlpSpanData {
  return {
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    startTimeUnixMs: Number.NaN,
    endTimeUnixMs: Number.NaN,
    attributes: new Map(),
    events: [],
    statusCode: 0,
    statusMessage: '',
    problem: null,
  };
}

/** One OTLP LogRecord as decoded (logs/v1). */
export interface OtlpLogRecordData {
  /** Epoch ms, fractional; NaN when absent (0 on the wire means unknown). */
  timeUnixMs: number;
  observedTimeUnixMs: number;
  /** SeverityNumber (0 = unspecified). */
  severityNumber: number;
  severityText: string;
  body: OtlpValue;
  attributes: OtlpAttributes;
  /** Lower-case hex ('' when absent); JSON ids as sent. */
  traceId: string;
  spanId: string;
  /** `event_name` (field 12), or '' — older senders put it in the `event.name` attribute. */
  eventName: string;
  /** Set by the JSON decoder when a field had the wrong type; the record is then rejected. */
  problem: string | null;
}

export interface OtlpScopeLogsData {
  scopeName: string;
  logRecords: OtlpLogRecordData[];
}

export interface OtlpResourceLogsData {
  resourceAttributes: OtlpAttributes;
  scopeLogs: OtlpScopeLogsData[];
}

export type OtlpLogsRequestData = OtlpResourceLogsData[];

export function newLogRecordData(): OtlpLogRecordData {
  return {
    timeUnixMs: Number.NaN,
    observedTimeUnixMs: Number.NaN,
    severityNumber: 0,
    severityText: '',
    body: null,
    attributes: new Map(),
    traceId: '',
    spanId: '',
    eventName: '',
    problem: null,
  };
}
