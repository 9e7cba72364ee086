/**
 * Hand-written protobuf decoder for `ExportTraceServiceRequest`
 * (opentelemetry-proto collector/trace/v1, trace/v1, common/v1, resource/v1).
 *
 * Written by hand on top of the protobufjs wire Reader rather than a reflected Root
 * because it decodes straight into the mapper's model: no Long objects for the 64-bit
 * fields, no intermediate message objects, and ids turn into hex without a copy. The
 * micro-benchmark in bench/otlp-decode.ts compares the two (about 2x in favour of this one).
 *
 * Field numbers (wire type in brackets) used here:
 * - ExportTraceServiceRequest: resource_spans=1 [2]
 * - ResourceSpans: resource=1 [2], scope_spans=2 [2], schema_url=3 [2]
 * - Resource: attributes=1 [2], dropped_attributes_count=2 [0], entity_refs=3 [2]
 * - ScopeSpans: scope=1 [2], spans=2 [2], schema_url=3 [2]
 * - InstrumentationScope: name=1 [2], version=2 [2], attributes=3 [2], dropped=4 [0]
 * - Span: trace_id=1, span_id=2, trace_state=3, parent_span_id=4, name=5 [2]; kind=6 [0];
 *   start_time_unix_nano=7, end_time_unix_nano=8 [1 fixed64]; attributes=9 [2];
 *   dropped_attributes_count=10 [0]; events=11 [2]; dropped_events_count=12 [0];
 *   links=13 [2]; dropped_links_count=14 [0]; status=15 [2]; flags=16 [5 fixed32]
 * - Span.Event: time_unix_nano=1 [1], name=2 [2], attributes=3 [2], dropped=4 [0]
 * - Status: message=2 [2], code=3 [0]
 * - KeyValue: key=1 [2], value=2 [2]
 * - AnyValue (oneof): string_value=1 [2], bool_value=2 [0], int_value=3 [0 int64],
 *   double_value=4 [1], array_value=5 [2], kvlist_value=6 [2], bytes_value=7 [2]
 * - ArrayValue / KeyValueList: values=1 [2]
 *
 * Logs (logs/v1, collector/logs/v1):
 * - ExportLogsServiceRequest: resource_logs=1 [2]
 * - ResourceLogs: resource=1 [2], scope_logs=2 [2], schema_url=3 [2]
 * - ScopeLogs: scope=1 [2], log_records=2 [2], schema_url=3 [2]
 * - LogRecord: time_unix_nano=1 [1], severity_number=2 [0], severity_text=3 [2], body=5 [2],
 *   attributes=6 [2], dropped_attributes_count=7 [0], flags=8 [5], trace_id=9 [2],
 *   span_id=10 [2], observed_time_unix_nano=11 [1], event_name=12 [2]
 */
import protobuf from 'protobufjs/minimal.js';
import {
  MAX_VALUE_DEPTH,
  newLogRecordData,
  newSpanData,
  type OtlpAttributes,
  OtlpDecodeError,
  type OtlpEventData,
  OtlpKvList,
  type OtlpLogRecordData,
  type OtlpLogsRequestData,
  type OtlpResourceLogsData,
  type OtlpResourceSpansData,
  type OtlpScopeLogsData,
  type OtlpScopeSpansData,
  type OtlpSpanData,
  type OtlpTraceRequestData,
  type OtlpValue,
} from './otlp-model.js';

type Reader = protobuf.Reader;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const tag = (field: number, wire: number): number => (field << 3) | wire;

/**
 * The wire type of every field each message defines (index = field number), to tell
 * fields this decoder skips from bytes that are not this message at all.
 */
type WireTypes = ReadonlyArray<number | undefined>;
const wireTypes = (entries: Record<number, number>): WireTypes => {
  const out: Array<number | undefined> = [];
  for (const [field, wire] of Object.entries(entries)) out[Number(field)] = wire;
  return out;
};
const REQUEST_WIRES = wireTypes({ 1: WIRE_LEN });
const RESOURCE_SPANS_WIRES = wireTypes({ 1: WIRE_LEN, 2: WIRE_LEN, 3: WIRE_LEN });
const RESOURCE_WIRES = wireTypes({ 1: WIRE_LEN, 2: WIRE_VARINT, 3: WIRE_LEN });
const SCOPE_SPANS_WIRES = wireTypes({ 1: WIRE_LEN, 2: WIRE_LEN, 3: WIRE_LEN });
const SCOPE_WIRES = wireTypes({ 1: WIRE_LEN, 2: WIRE_LEN, 3: WIRE_LEN, 4: WIRE_VARINT });
const SPAN_WIRES = wireTypes({
  1: WIRE_LEN,
  2: WIRE_LEN,
  3: WIRE_LEN,
  4: WIRE_LEN,
  5: WIRE_LEN,
  6: WIRE_VARINT,
  7: WIRE_FIXED64,
  8: WIRE_FIXED64,
  9: WIRE_LEN,
  10: WIRE_VARINT,
  11: WIRE_LEN,
  12: WIRE_VARINT,
  13: WIRE_LEN,
  14: WIRE_VARINT,
  15: WIRE_LEN,
  16: WIRE_FIXED32,
});
const EVENT_WIRES = wireTypes({ 1: WIRE_FIXED64, 2: WIRE_LEN, 3: WIRE_LEN, 4: WIRE_VARINT });
const STATUS_WIRES = wireTypes({ 2: WIRE_LEN, 3: WIRE_VARINT });
const KEY_VALUE_WIRES = wireTypes({ 1: WIRE_LEN, 2: WIRE_LEN });
const ANY_VALUE_WIRES = wireTypes({
  1: WIRE_LEN,
  2: WIRE_VARINT,
  3: WIRE_VARINT,
  4: WIRE_FIXED64,
  5: WIRE_LEN,
  6: WIRE_LEN,
  7: WIRE_LEN,
});
const LIST_WIRES = wireTypes({ 1: WIRE_LEN });

/**
 * Skips a field this decoder does not read. A defined field arriving with another wire
 * type means the bytes are not this message, so that is an error rather than a skip.
 */
function skipField(r: Reader, t: number, message: string, wires: WireTypes): void {
  const field = t >>> 3;
  if (field === 0) throw new OtlpDecodeError(`${message}: illegal field number 0 at byte ${r.pos}`);
  const expected = wires[field];
  if (expected !== undefined && expected !== (t & 7)) {
    throw new OtlpDecodeError(`${message}: field ${field} has wire type ${t & 7}, the schema says ${expected}`);
  }
  r.skipType(t & 7, 0, field);
}

/** Reads a length prefix and returns the end offset of the embedded message. */
function messageEnd(r: Reader, message: string): number {
  const length = r.size();
  const end = r.pos + length;
  if (end > r.len) throw new OtlpDecodeError(`${message}: length ${length} runs past the end of the body`);
  return end;
}

function checkEnd(r: Reader, end: number, message: string): void {
  if (r.pos !== end) throw new OtlpDecodeError(`${message}: a field runs past the end of the message`);
}

/**
 * Short strings (attribute keys, model and provider names, user ids) repeat across the
 * spans of a batch. Decoding each one is a native call and an allocation, which profiling
 * showed to be most of the decode time, so short strings go through a small cache keyed
 * by a hash of their bytes; a hit compares the bytes and returns the same string object.
 * The cache keeps its own copy of the bytes in one fixed block: a view into the request
 * body (`Buffer#slice`/`subarray`) would keep the whole body (up to the decompressed body
 * limit) alive for as long as its slot is not overwritten.
 */
const STRING_CACHE_SIZE = 4096;
const STRING_CACHE_MAX_BYTES = 48;
const cachedBytes = new Uint8Array(STRING_CACHE_SIZE * STRING_CACHE_MAX_BYTES);
/** Byte length per slot; 0 marks an empty slot (the empty string is never cached). */
const cachedLengths = new Uint8Array(STRING_CACHE_SIZE);
const cachedStrings: Array<string | undefined> = new Array(STRING_CACHE_SIZE);

function readString(r: Reader): string {
  const length = r.size();
  const start = r.pos;
  const end = start + length;
  if (end > r.len) throw new OtlpDecodeError(`string: length ${length} runs past the end of the body`);
  r.pos = end;
  const buf = r.buf;
  if (length > STRING_CACHE_MAX_BYTES) return (buf as Buffer).toString('utf8', start, end);
  if (length === 0) return '';
  // FNV-1a over the bytes.
  let h = 0x811c9dc5;
  for (let k = start; k < end; k++) h = Math.imul(h ^ (buf[k] as number), 0x01000193);
  const slot = (h >>> 0) & (STRING_CACHE_SIZE - 1);
  const at = slot * STRING_CACHE_MAX_BYTES;
  if (cachedLengths[slot] === length) {
    let same = true;
    for (let k = 0; k < length; k++) {
      if (cachedBytes[at + k] !== buf[start + k]) {
        same = false;
        break;
      }
    }
    if (same) return cachedStrings[slot] as string;
  }
  const str = (buf as Buffer).toString('utf8', start, end);
  for (let k = 0; k < length; k++) cachedBytes[at + k] = buf[start + k] as number;
  cachedLengths[slot] = length;
  cachedStrings[slot] = str;
  return str;
}

/** A bytes field as lower-case hex, read in place (no copy of the bytes). */
function readHex(r: Reader): string {
  const length = r.size();
  const start = r.pos;
  const end = start + length;
  if (end > r.len) throw new OtlpDecodeError(`id: length ${length} runs past the end of the body`);
  r.pos = end;
  return length === 0 ? '' : (r.buf as Buffer).toString('hex', start, end);
}

/**
 * fixed64 nanoseconds → epoch ms as a double, without Long. ns = hi·2^32 + lo does not fit
 * a double exactly, so it is split as hi·4294 ms + (hi·967296 + lo) ns, both exact; that
 * keeps whole milliseconds exact (a plain ns/1e6 turns …874 ms into …873.9999).
 */
function readNanosAsMs(r: Reader): number {
  const lo = r.fixed32();
  const hi = r.fixed32();
  const restNs = hi * 967296 + lo;
  const wholeMs = Math.floor(restNs / 1e6);
  return hi * 4294 + wholeMs + (restNs - wholeMs * 1e6) / 1e6;
}

function outOfRange(): OtlpDecodeError {
  return new OtlpDecodeError('varint runs past the end of the body');
}

/** int64 varint → number (two's complement; exact up to 2^53). */
function readInt64(r: Reader): number {
  const buf = r.buf;
  const len = r.len;
  let pos = r.pos;
  let lo = 0;
  let hi = 0;
  let b = 0;
  let done = false;
  for (let i = 0; i < 4; i++) {
    if (pos >= len) throw outOfRange();
    b = buf[pos++] as number;
    lo |= (b & 127) << (7 * i);
    if (b < 128) {
      done = true;
      break;
    }
  }
  if (!done) {
    if (pos >= len) throw outOfRange();
    b = buf[pos++] as number;
    lo |= (b & 127) << 28;
    hi = (b & 127) >>> 4;
    if (b < 128) done = true;
  }
  if (!done) {
    for (let i = 0; i < 5; i++) {
      if (pos >= len) throw outOfRange();
      b = buf[pos++] as number;
      hi |= (b & 127) << (7 * i + 3);
      if (b < 128) {
        done = true;
        break;
      }
    }
  }
  if (!done) throw new OtlpDecodeError('invalid varint encoding');
  r.pos = pos;
  lo >>>= 0;
  hi >>>= 0;
  if ((hi & 0x80000000) !== 0) {
    // Negative: value = -(~bits + 1).
    const nlo = (~lo + 1) >>> 0;
    let nhi = ~hi >>> 0;
    if (nlo === 0) nhi = (nhi + 1) >>> 0;
    return -(nhi * 4294967296 + nlo);
  }
  return hi * 4294967296 + lo;
}

function decodeAnyValue(r: Reader, end: number, depth: number): OtlpValue {
  if (depth > MAX_VALUE_DEPTH) throw new OtlpDecodeError(`AnyValue nested deeper than ${MAX_VALUE_DEPTH} levels`);
  let value: OtlpValue = null;
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case tag(1, WIRE_LEN):
        value = readString(r);
        break;
      case tag(2, WIRE_VARINT):
        value = r.bool();
        break;
      case tag(3, WIRE_VARINT):
        value = readInt64(r);
        break;
      case tag(4, WIRE_FIXED64):
        value = r.double();
        break;
      case tag(5, WIRE_LEN): {
        const e = messageEnd(r, 'ArrayValue');
        value = decodeArrayValue(r, e, depth + 1);
        checkEnd(r, e, 'ArrayValue');
        break;
      }
      case tag(6, WIRE_LEN): {
        const e = messageEnd(r, 'KeyValueList');
        const map: OtlpAttributes = new Map();
        decodeKeyValues(r, e, map, depth + 1);
        checkEnd(r, e, 'KeyValueList');
        value = new OtlpKvList(map);
        break;
      }
      case tag(7, WIRE_LEN):
        // Copied so the value does not pin the whole request body in memory.
        value = Uint8Array.from(r.bytes());
        break;
      default:
        skipField(r, t, 'AnyValue', ANY_VALUE_WIRES);
    }
  }
  return value;
}

function decodeArrayValue(r: Reader, end: number, depth: number): OtlpValue[] {
  const values: OtlpValue[] = [];
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag(1, WIRE_LEN)) {
      const e = messageEnd(r, 'AnyValue');
      values.push(decodeAnyValue(r, e, depth));
      checkEnd(r, e, 'AnyValue');
    } else skipField(r, t, 'ArrayValue', LIST_WIRES);
  }
  return values;
}

/** Reads the `values`/`attributes` entries of a KeyValueList-like message up to `end` into `into`. */
function decodeKeyValues(r: Reader, end: number, into: OtlpAttributes, depth: number): void {
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag(1, WIRE_LEN)) {
      const e = messageEnd(r, 'KeyValue');
      decodeKeyValue(r, e, into, depth);
    } else skipField(r, t, 'KeyValueList', LIST_WIRES);
  }
}

function decodeKeyValue(r: Reader, end: number, into: OtlpAttributes, depth: number): void {
  let key = '';
  let value: OtlpValue = null;
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag(1, WIRE_LEN)) key = readString(r);
    else if (t === tag(2, WIRE_LEN)) {
      const e = messageEnd(r, 'AnyValue');
      value = decodeAnyValue(r, e, depth);
      checkEnd(r, e, 'AnyValue');
    } else skipField(r, t, 'KeyValue', KEY_VALUE_WIRES);
  }
  checkEnd(r, end, 'KeyValue');
  into.set(key, value);
}

function decodeEvent(r: Reader, end: number): OtlpEventData {
  const event: OtlpEventData = { name: '', timeUnixMs: Number.NaN, attributes: new Map() };
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case tag(1, WIRE_FIXED64):
        event.timeUnixMs = readNanosAsMs(r);
        break;
      case tag(2, WIRE_LEN):
        event.name = readString(r);
        break;
      case tag(3, WIRE_LEN): {
        const e = messageEnd(r, 'KeyValue');
        decodeKeyValue(r, e, event.attributes, 0);
        break;
      }
      default:
        skipField(r, t, 'Span.Event', EVENT_WIRES);
    }
  }
  checkEnd(r, end, 'Span.Event');
  return event;
}

function decodeStatus(r: Reader, end: number, span: OtlpSpanData): void {
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag(2, WIRE_LEN)) span.statusMessage = readString(r);
    else if (t === tag(3, WIRE_VARINT)) span.statusCode = r.int32();
    else skipField(r, t, 'Status', STATUS_WIRES);
  }
  checkEnd(r, end, 'Status');
}

function decodeSpan(r: Reader, end: number): OtlpSpanData {
  const span = newSpanData();
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case tag(1, WIRE_LEN):
        span.traceId = readHex(r);
        break;
      case tag(2, WIRE_LEN):
        span.spanId = readHex(r);
        break;
      case tag(4, WIRE_LEN):
        span.parentSpanId = readHex(r);
        break;
      case tag(5, WIRE_LEN):
        span.name = readString(r);
        break;
      case tag(6, WIRE_VARINT):
        span.kind = r.int32();
        break;
      case tag(7, WIRE_FIXED64):
        span.startTimeUnixMs = readNanosAsMs(r);
        break;
      case tag(8, WIRE_FIXED64):
        span.endTimeUnixMs = readNanosAsMs(r);
        break;
      case tag(9, WIRE_LEN): {
        const e = messageEnd(r, 'KeyValue');
        decodeKeyValue(r, e, span.attributes, 0);
        break;
      }
      case tag(11, WIRE_LEN): {
        const e = messageEnd(r, 'Span.Event');
        span.events.push(decodeEvent(r, e));
        break;
      }
      case tag(15, WIRE_LEN): {
        const e = messageEnd(r, 'Status');
        decodeStatus(r, e, span);
        break;
      }
      case tag(16, WIRE_FIXED32):
        r.skip(4);
        break;
      default:
        skipField(r, t, 'Span', SPAN_WIRES);
    }
  }
  checkEnd(r, end, 'Span');
  return span;
}

function decodeScopeName(r: Reader, end: number): string {
  let name = '';
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag(1, WIRE_LEN)) name = readString(r);
    else skipField(r, t, 'InstrumentationScope', SCOPE_WIRES);
  }
  checkEnd(r, end, 'InstrumentationScope');
  return name;
}

function decodeScopeSpans(r: Reader, end: number): OtlpScopeSpansData {
  const scope: OtlpScopeSpansData = { scopeName: '', spans: [] };
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag(2, WIRE_LEN)) {
      const e = messageEnd(r, 'Span');
      scope.spans.push(decodeSpan(r, e));
    } else if (t === tag(1, WIRE_LEN)) {
      const e = messageEnd(r, 'InstrumentationScope');
      scope.scopeName = decodeScopeName(r, e);
    } else skipField(r, t, 'ScopeSpans', SCOPE_SPANS_WIRES);
  }
  checkEnd(r, end, 'ScopeSpans');
  return scope;
}

function decodeResource(r: Reader, end: number, into: OtlpAttributes): void {
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag(1, WIRE_LEN)) {
      const e = messageEnd(r, 'KeyValue');
      decodeKeyValue(r, e, into, 0);
    } else skipField(r, t, 'Resource', RESOURCE_WIRES);
  }
  checkEnd(r, end, 'Resource');
}

function decodeResourceSpans(r: Reader, end: number): OtlpResourceSpansData {
  const rs: OtlpResourceSpansData = { resourceAttributes: new Map(), scopeSpans: [] };
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag(2, WIRE_LEN)) {
      const e = messageEnd(r, 'ScopeSpans');
      rs.scopeSpans.push(decodeScopeSpans(r, e));
    } else if (t === tag(1, WIRE_LEN)) {
      const e = messageEnd(r, 'Resource');
      decodeResource(r, e, rs.resourceAttributes);
    } else skipField(r, t, 'ResourceSpans', RESOURCE_SPANS_WIRES);
  }
  checkEnd(r, end, 'ResourceSpans');
  return rs;
}

/**
 * Decodes a protobuf `ExportTraceServiceRequest`. Throws OtlpDecodeError (or the wire
 * Reader's RangeError/Error) on undecodable bytes; the public entry point turns those into
 * a Result.
 */
export function decodeTraceRequestProtobuf(body: Uint8Array): OtlpTraceRequestData {
  // A Buffer view (no copy) makes protobufjs use its native utf8/hex paths.
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = protobuf.Reader.create(buf);
  const out: OtlpTraceRequestData = [];
  while (r.pos < r.len) {
    const t = r.tag();
    if (t === tag(1, WIRE_LEN)) {
      const e = messageEnd(r, 'ResourceSpans');
      out.push(decodeResourceSpans(r, e));
    } else skipField(r, t, 'ExportTraceServiceRequest', REQUEST_WIRES);
  }
  return out;
}

const LOG_RECORD_WIRES = wireTypes({
  1: WIRE_FIXED64,
  2: WIRE_VARINT,
  3: WIRE_LEN,
  5: WIRE_LEN,
  6: WIRE_LEN,
  7: WIRE_VARINT,
  8: WIRE_FIXED32,
  9: WIRE_LEN,
  10: WIRE_LEN,
  11: WIRE_FIXED64,
  12: WIRE_LEN,
});

function decodeLogRecord(r: Reader, end: number): OtlpLogRecordData {
  const rec = newLogRecordData();
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case tag(1, WIRE_FIXED64): {
        const ms = readNanosAsMs(r);
        rec.timeUnixMs = ms === 0 ? Number.NaN : ms;
        break;
      }
      case tag(11, WIRE_FIXED64): {
        const ms = readNanosAsMs(r);
        rec.observedTimeUnixMs = ms === 0 ? Number.NaN : ms;
        break;
      }
      case tag(2, WIRE_VARINT):
        rec.severityNumber = r.int32();
        break;
      case tag(3, WIRE_LEN):
        rec.severityText = readString(r);
        break;
      case tag(5, WIRE_LEN): {
        const e = messageEnd(r, 'AnyValue');
        rec.body = decodeAnyValue(r, e, 0);
        checkEnd(r, e, 'AnyValue');
        break;
      }
      case tag(6, WIRE_LEN): {
        const e = messageEnd(r, 'KeyValue');
        decodeKeyValue(r, e, rec.attributes, 0);
        break;
      }
      case tag(9, WIRE_LEN):
        rec.traceId = readHex(r);
        break;
      case tag(10, WIRE_LEN):
        rec.spanId = readHex(r);
        break;
      case tag(12, WIRE_LEN):
        rec.eventName = readString(r);
        break;
      case tag(8, WIRE_FIXED32):
        r.skip(4);
        break;
      default:
        skipField(r, t, 'LogRecord', LOG_RECORD_WIRES);
    }
  }
  checkEnd(r, end, 'LogRecord');
  return rec;
}

function decodeScopeLogs(r: Reader, end: number): OtlpScopeLogsData {
  const scope: OtlpScopeLogsData = { scopeName: '', logRecords: [] };
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag(2, WIRE_LEN)) {
      const e = messageEnd(r, 'LogRecord');
      scope.logRecords.push(decodeLogRecord(r, e));
    } else if (t === tag(1, WIRE_LEN)) {
      const e = messageEnd(r, 'InstrumentationScope');
      scope.scopeName = decodeScopeName(r, e);
    } else skipField(r, t, 'ScopeLogs', SCOPE_SPANS_WIRES);
  }
  checkEnd(r, end, 'ScopeLogs');
  return scope;
}

function decodeResourceLogs(r: Reader, end: number): OtlpResourceLogsData {
  const rl: OtlpResourceLogsData = { resourceAttributes: new Map(), scopeLogs: [] };
  while (r.pos < end) {
    const t = r.tag();
    if (t === tag(2, WIRE_LEN)) {
      const e = messageEnd(r, 'ScopeLogs');
      rl.scopeLogs.push(decodeScopeLogs(r, e));
    } else if (t === tag(1, WIRE_LEN)) {
      const e = messageEnd(r, 'Resource');
      decodeResource(r, e, rl.resourceAttributes);
    } else skipField(r, t, 'ResourceLogs', RESOURCE_SPANS_WIRES);
  }
  checkEnd(r, end, 'ResourceLogs');
  return rl;
}

/** Decodes a protobuf `ExportLogsServiceRequest`; throws like `decodeTraceRequestProtobuf`. */
export function decodeLogsRequestProtobuf(body: Uint8Array): OtlpLogsRequestData {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = protobuf.Reader.create(buf);
  const out: OtlpLogsRequestData = [];
  while (r.pos < r.len) {
    const t = r.tag();
    if (t === tag(1, WIRE_LEN)) {
      const e = messageEnd(r, 'ResourceLogs');
      out.push(decodeResourceLogs(r, e));
    } else skipField(r, t, 'ExportLogsServiceRequest', REQUEST_WIRES);
  }
  return out;
}
