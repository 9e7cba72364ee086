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
