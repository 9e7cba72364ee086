/**
 * Decoder for the OTLP/JSON encoding of `ExportTraceServiceRequest` (the protobuf JSON
 * mapping with the OTLP deviations): lowerCamelCase keys, traceId/spanId as hex strings,
 * enums as integers (enum names are accepted too), 64-bit integers as decimal strings or
 * numbers, bytesValue as base64.
 *
 * A wrong type in the request structure (resourceSpans, scopeSpans, spans not arrays, a
 * malformed resource) fails the request; a wrong type inside one span only rejects that
 * span, so one bad span does not cost the client the rest of its batch.
 */
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

/** A field with the wrong type; `path` grows as the error unwinds through the containers. */
class JsonFieldError extends Error {
  constructor(
    public path: string,
    readonly detail: string,
  ) {
    super(detail);
  }
  get description(): string {
    return `${this.path}: ${this.detail}`;
  }
}

function joinPath(prefix: string, path: string): string {
  if (path === '') return prefix;
  if (prefix === '' || path.startsWith('[')) return prefix + path;
  return `${prefix}.${path}`;
}

function prefixed(e: unknown, prefix: string): unknown {
  if (e instanceof JsonFieldError) e.path = joinPath(prefix, e.path);
  return e;
}

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function expected(field: string, what: string, got: unknown): JsonFieldError {
  return new JsonFieldError(field, `expected ${what}, got ${typeName(got)}`);
}

const INT_STRING = /^-?\d{1,20}$/;
const UINT_STRING = /^\d{1,20}$/;

function parseInt64(field: string, v: unknown): number {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return v;
    throw new JsonFieldError(field, 'expected an integer');
  }
  if (typeof v === 'string' && INT_STRING.test(v)) return Number(v);
  throw expected(field, 'an integer (number or decimal string)', v);
}

function parseDouble(field: string, v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    // The protobuf JSON mapping writes non-finite doubles as these strings.
    if (v === 'NaN') return Number.NaN;
    if (v === 'Infinity') return Number.POSITIVE_INFINITY;
    if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw expected(field, 'a number', v);
}

/**
 * Nanoseconds since the epoch (string or number) → epoch ms; undefined/null → NaN (missing).
 * Strings are split at the millisecond digit so whole milliseconds stay exact (a plain
 * Number(ns)/1e6 turns …874 ms into …873.9999).
 */
function parseNanosAsMs(field: string, v: unknown): number {
  if (v === undefined || v === null) return Number.NaN;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v / 1e6;
  if (typeof v === 'string' && UINT_STRING.test(v)) {
    if (v.length <= 6) return Number(v) / 1e6;
    return Number(v.slice(0, -6)) + Number(v.slice(-6)) / 1e6;
  }
  throw expected(field, 'unsigned nanoseconds (decimal string or number)', v);
}

function parseOptionalString(field: string, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  throw expected(field, 'a string', v);
}

/** Hex ids are compared and stored lower-case; validation happens in the mapper. */
function parseId(field: string, v: unknown): string {
  const s = parseOptionalString(field, v);
  return s.toLowerCase();
}

function parseEnum(field: string, v: unknown, names: readonly string[]): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const i = names.indexOf(v);
    if (i >= 0) return i;
  }
  throw expected(field, `an enum integer or one of ${names.join(', ')}`, v);
}

const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;
const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;

function parseArray(field: string, v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  throw expected(field, 'an array', v);
}

function parseAnyValue(v: unknown, depth: number): OtlpValue {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw expected('', 'an AnyValue object', v);
  if (depth > MAX_VALUE_DEPTH) throw new JsonFieldError('', `nested deeper than ${MAX_VALUE_DEPTH} levels`);
  // One key is set in a well-formed AnyValue; checking in oneof order keeps this cheap.
  const s = v.stringValue;
  if (s !== undefined && s !== null) {
    if (typeof s !== 'string') throw expected('stringValue', 'a string', s);
    return s;
  }
  const i = v.intValue;
  if (i !== undefined && i !== null) return parseInt64('intValue', i);
  const d = v.doubleValue;
  if (d !== undefined && d !== null) return parseDouble('doubleValue', d);
  const b = v.boolValue;
  if (b !== undefined && b !== null) {
    if (typeof b !== 'boolean') throw expected('boolValue', 'a boolean', b);
    return b;
  }
  const a = v.arrayValue;
  if (a !== undefined && a !== null) {
    if (!isObject(a)) throw expected('arrayValue', 'an object', a);
    const items = parseArray('arrayValue.values', a.values);
    const out: OtlpValue[] = new Array(items.length);
    for (let k = 0; k < items.length; k++) {
      try {
        out[k] = parseAnyValue(items[k], depth + 1);
      } catch (e) {
        throw prefixed(e, `arrayValue.values[${k}]`);
      }
    }
    return out;
  }
  const kv = v.kvlistValue;
  if (kv !== undefined && kv !== null) {
    if (!isObject(kv)) throw expected('kvlistValue', 'an object', kv);
    const map: OtlpAttributes = new Map();
    try {
      parseKeyValues(kv.values, map, depth + 1);
    } catch (e) {
      throw prefixed(e, 'kvlistValue.values');
    }
    return new OtlpKvList(map);
  }
  const bytes = v.bytesValue;
  if (bytes !== undefined && bytes !== null) {
    if (typeof bytes !== 'string') throw expected('bytesValue', 'a base64 string', bytes);
    return new Uint8Array(Buffer.from(bytes, 'base64'));
  }
  return null;
}

/** Reads an array of `{key, value}` into `into`; errors carry the `[i]...` suffix. */
function parseKeyValues(v: unknown, into: OtlpAttributes, depth: number): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) throw expected('', 'an array', v);
  for (let k = 0; k < v.length; k++) {
    const item: unknown = v[k];
    try {
      if (!isObject(item)) throw expected('', 'a KeyValue object', item);
      const key = item.key;
      if (typeof key !== 'string') throw expected('key', 'a string', key);
      let value: OtlpValue;
      try {
        value = parseAnyValue(item.value, depth);
      } catch (e) {
        throw prefixed(e, 'value');
      }
      into.set(key, value);
    } catch (e) {
      throw prefixed(e, `[${k}]`);
    }
  }
}

function parseAttributes(field: string, v: unknown, into: OtlpAttributes): void {
  try {
    parseKeyValues(v, into, 0);
  } catch (e) {
    throw prefixed(e, field);
  }
}

function parseEvent(v: unknown): OtlpEventData {
  if (!isObject(v)) throw expected('', 'an Event object', v);
  const event: OtlpEventData = {
    name: parseOptionalString('name', v.name),
    timeUnixMs: parseNanosAsMs('timeUnixNano', v.timeUnixNano),
    attributes: new Map(),
  };
  parseAttributes('attributes', v.attributes, event.attributes);
  return event;
}

function fillSpan(v: JsonObject, span: OtlpSpanData): void {
  span.traceId = parseId('traceId', v.traceId);
  span.spanId = parseId('spanId', v.spanId);
  span.parentSpanId = parseId('parentSpanId', v.parentSpanId);
  span.name = parseOptionalString('name', v.name);
  span.kind = parseEnum('kind', v.kind, SPAN_KIND_NAMES);
  span.startTimeUnixMs = parseNanosAsMs('startTimeUnixNano', v.startTimeUnixNano);
  span.endTimeUnixMs = parseNanosAsMs('endTimeUnixNano', v.endTimeUnixNano);
  parseAttributes('attributes', v.attributes, span.attributes);
  const events = parseArray('events', v.events);
  for (let k = 0; k < events.length; k++) {
    try {
      span.events.push(parseEvent(events[k]));
    } catch (e) {
      throw prefixed(e, `events[${k}]`);
    }
  }
  const status = v.status;
  if (status !== undefined && status !== null) {
    if (!isObject(status)) throw expected('status', 'an object', status);
    span.statusCode = parseEnum('status.code', status.code, STATUS_CODE_NAMES);
    span.statusMessage = parseOptionalString('status.message', status.message);
  }
}

function parseSpan(v: unknown): OtlpSpanData {
  const span = newSpanData();
  try {
    if (!isObject(v)) throw expected('', 'a Span object', v);
    fillSpan(v, span);
  } catch (e) {
    if (!(e instanceof JsonFieldError)) throw e;
    span.problem = e.path === '' ? e.detail : e.description;
  }
  return span;
}

/** Structural errors fail the whole request with the path of the offending field. */
function structural(path: string, e: unknown): never {
  if (e instanceof JsonFieldError) {
    throw new OtlpDecodeError(`${joinPath(path, e.path) || '(root)'}: ${e.detail}`);
  }
  throw e;
}

/** The scope's name ('' when absent); a malformed scope fails the request. */
function parseScopeName(scope: unknown, path: string): string {
  if (scope === undefined || scope === null) return '';
  if (!isObject(scope)) throw new OtlpDecodeError(`${path}.scope: expected an object, got ${typeName(scope)}`);
  try {
    return parseOptionalString('name', scope.name);
  } catch (e) {
    return structural(`${path}.scope`, e);
  }
}

/** The resource's attributes into `into`; a malformed resource fails the request. */
function parseResource(resource: unknown, path: string, into: OtlpAttributes): void {
  if (resource === undefined || resource === null) return;
  if (!isObject(resource)) throw new OtlpDecodeError(`${path}.resource: expected an object, got ${typeName(resource)}`);
  try {
    parseAttributes('attributes', resource.attributes, into);
  } catch (e) {
    structural(`${path}.resource`, e);
  }
}

function parseScopeSpans(v: unknown, path: string): OtlpScopeSpansData {
  if (!isObject(v)) throw new OtlpDecodeError(`${path}: expected an object, got ${typeName(v)}`);
  const scopeName = parseScopeName(v.scope, path);
  const items = structuralArray(path, 'spans', v.spans);
  const spans: OtlpSpanData[] = new Array(items.length);
  for (let k = 0; k < items.length; k++) spans[k] = parseSpan(items[k]);
  return { scopeName, spans };
}

function parseResourceSpans(v: unknown, path: string): OtlpResourceSpansData {
  if (!isObject(v)) throw new OtlpDecodeError(`${path}: expected an object, got ${typeName(v)}`);
  const rs: OtlpResourceSpansData = { resourceAttributes: new Map(), scopeSpans: [] };
  parseResource(v.resource, path, rs.resourceAttributes);
  const scopes = structuralArray(path, 'scopeSpans', v.scopeSpans);
  for (let k = 0; k < scopes.length; k++) rs.scopeSpans.push(parseScopeSpans(scopes[k], `${path}.scopeSpans[${k}]`));
  return rs;
}

const utf8 = new TextDecoder('utf-8');

/** An array field of the request structure; a wrong type fails the request with its path. */
function structuralArray(path: string, field: string, v: unknown): unknown[] {
  try {
    return parseArray(field, v);
  } catch (e) {
    return structural(path, e);
  }
}

/** The body as a JSON object (the export request named `message`), or OtlpDecodeError. */
function parseRoot(body: Uint8Array, message: string): JsonObject {
  let root: unknown;
  try {
    root = JSON.parse(utf8.decode(body));
  } catch (e) {
    throw new OtlpDecodeError(`body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isObject(root)) throw new OtlpDecodeError(`body must be a JSON object (${message}), got ${typeName(root)}`);
  return root;
}

/**
 * Decodes an OTLP/JSON `ExportTraceServiceRequest`. Throws OtlpDecodeError on a body that
 * is not JSON or whose structure is wrong; the public entry point turns that into a Result.
 */
export function decodeTraceRequestJson(body: Uint8Array): OtlpTraceRequestData {
  const root = parseRoot(body, 'ExportTraceServiceRequest');
  const list = structuralArray('', 'resourceSpans', root.resourceSpans);
  const out: OtlpTraceRequestData = [];
  for (let k = 0; k < list.length; k++) out.push(parseResourceSpans(list[k], `resourceSpans[${k}]`));
  return out;
}

const SEVERITY_NUMBER_NAMES = [
  'SEVERITY_NUMBER_UNSPECIFIED',
  ...['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((l) =>
    [1, 2, 3, 4].map((i) => `SEVERITY_NUMBER_${l}${i === 1 ? '' : i}`),
  ),
];

function parseLogRecord(v: unknown): OtlpLogRecordData {
  const rec = newLogRecordData();
  try {
    if (!isObject(v)) throw expected('', 'a LogRecord object', v);
    const time = parseNanosAsMs('timeUnixNano', v.timeUnixNano);
    rec.timeUnixMs = time === 0 ? Number.NaN : time;
    const observed = parseNanosAsMs('observedTimeUnixNano', v.observedTimeUnixNano);
    rec.observedTimeUnixMs = observed === 0 ? Number.NaN : observed;
    rec.severityNumber = parseEnum('severityNumber', v.severityNumber, SEVERITY_NUMBER_NAMES);
    rec.severityText = parseOptionalString('severityText', v.severityText);
    try {
      rec.body = parseAnyValue(v.body, 0);
    } catch (e) {
      throw prefixed(e, 'body');
    }
    parseAttributes('attributes', v.attributes, rec.attributes);
    rec.traceId = parseId('traceId', v.traceId);
    rec.spanId = parseId('spanId', v.spanId);
    rec.eventName = parseOptionalString('eventName', v.eventName);
  } catch (e) {
    if (!(e instanceof JsonFieldError)) throw e;
    rec.problem = e.path === '' ? e.detail : e.description;
  }
  return rec;
}

function parseScopeLogs(v: unknown, path: string): OtlpScopeLogsData {
  if (!isObject(v)) throw new OtlpDecodeError(`${path}: expected an object, got ${typeName(v)}`);
  const scopeName = parseScopeName(v.scope, path);
  const items = structuralArray(path, 'logRecords', v.logRecords);
  return { scopeName, logRecords: items.map(parseLogRecord) };
}

function parseResourceLogs(v: unknown, path: string): OtlpResourceLogsData {
  if (!isObject(v)) throw new OtlpDecodeError(`${path}: expected an object, got ${typeName(v)}`);
  const rl: OtlpResourceLogsData = { resourceAttributes: new Map(), scopeLogs: [] };
  parseResource(v.resource, path, rl.resourceAttributes);
  const scopes = structuralArray(path, 'scopeLogs', v.scopeLogs);
  for (let k = 0; k < scopes.length; k++) rl.scopeLogs.push(parseScopeLogs(scopes[k], `${path}.scopeLogs[${k}]`));
  return rl;
}

/** Decodes an OTLP/JSON `ExportLogsServiceRequest`; throws like `decodeTraceRequestJson`. */
export function decodeLogsRequestJson(body: Uint8Array): OtlpLogsRequestData {
  const root = parseRoot(body, 'ExportLogsServiceRequest');
  const list = structuralArray('', 'resourceLogs', root.resourceLogs);
  return list.map((item, k) => parseResourceLogs(item, `resourceLogs[${k}]`));
}
