/**
 * Loki push API (`POST /loki/api/v1/push`): JSON, and protobuf compressed with snappy (block
 * format), as Promtail, Grafana Alloy and the Loki transports send it. Pure functions.
 *
 * JSON: `{"streams":[{"stream":{label:value,…},"values":[["<unix ns>","<line>",{metadata}?],…]}]}`
 * protobuf (logproto): PushRequest { repeated Stream streams = 1 }; Stream { string labels = 1
 * (`{a="b",…}`); repeated Entry entries = 2; uint64 hash = 3 }; Entry { Timestamp timestamp = 1;
 * string line = 2; repeated LabelPair structuredMetadata = 3 }; Timestamp { int64 seconds = 1;
 * int32 nanos = 2 }; LabelPair { string name = 1; string value = 2 }.
 */
import {
  appError,
  err,
  LOG_BODY_MAX_CHARS,
  type LogRecord,
  type LogSeverity,
  logRecordId,
  ok,
  type Result,
  severityFromText,
} from '@reskpoints/core';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';

export interface LokiDecodeContext {
  projectId: string;
  nowMs: number;
}

export interface LokiDecodeResult {
  logs: LogRecord[];
  rejected: number;
  errorMessage: string | null;
}

const MIN_TIME_MS = Date.UTC(2000, 0, 1);
const MAX_FUTURE_SKEW_MS = 24 * 3600_000;
const MAX_REASONS_SHOWN = 5;
const SERVICE_LABELS = ['service_name', 'service', 'app', 'application', 'job', 'container'];
const ENVIRONMENT_LABELS = ['deployment_environment', 'environment', 'env'];
const LEVEL_LABELS = ['level', 'severity', 'detected_level', 'lvl', 'loglevel'];

let pushType: protobuf.Type | null = null;
function pushRequestType(): protobuf.Type {
  pushType ??= protobuf.Root.fromJSON({
    nested: {
      PushRequest: { fields: { streams: { rule: 'repeated', type: 'Stream', id: 1 } } },
      Stream: {
        fields: {
          labels: { type: 'string', id: 1 },
          entries: { rule: 'repeated', type: 'Entry', id: 2 },
          hash: { type: 'uint64', id: 3 },
        },
      },
      Entry: {
        fields: {
          timestamp: { type: 'Timestamp', id: 1 },
          line: { type: 'string', id: 2 },
          structuredMetadata: { rule: 'repeated', type: 'LabelPair', id: 3 },
        },
      },
      Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    },
  }).lookupType('PushRequest');
  return pushType;
}

/**
 * Parses a Prometheus-style label set `{a="b", c="d\"e"}`. Returns null when it is malformed.
 */
export function parseLabelSet(s: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  const t = s.trim();
  if (t === '' || t === '{}') return out;
  if (!t.startsWith('{') || !t.endsWith('}')) return null;
  let i = 1;
  const end = t.length - 1;
  const skipWs = () => {
    while (i < end && /\s/.test(t[i] as string)) i++;
  };
  while (i < end) {
    skipWs();
    const m = /^[a-zA-Z_][a-zA-Z0-9_.]*/.exec(t.slice(i, end));
    if (!m) return null;
    const name = m[0];
    i += name.length;
    skipWs();
    if (t[i] !== '=') return null;
    i++;
    skipWs();
    if (t[i] !== '"') return null;
    i++;
    let value = '';
    while (i < end && t[i] !== '"') {
      if (t[i] === '\\' && i + 1 < end) {
        const n = t[i + 1];
        value += n === 'n' ? '\n' : n === 't' ? '\t' : (n as string);
        i += 2;
      } else value += t[i++];
    }
    if (t[i] !== '"') return null;
    i++;
    out[name] = value;
    skipWs();
    if (t[i] === ',') i++;
    else if (i < end) return null;
  }
  return out;
}

const LEVEL_IN_LINE = /\b(?:level|lvl|severity)["']?\s*[=:]\s*["']?([A-Za-z]+)/;
const BRACKET_LEVEL = /^\W{0,3}(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|PANIC)\b/i;

/** A line's severity when no label or metadata names it: `level=warn`, `"level":"error"`, `[ERROR] …`. */
function severityOfLine(line: string): LogSeverity | null {
  const head = line.length > 512 ? line.slice(0, 512) : line;
  const m = LEVEL_IN_LINE.exec(head) ?? BRACKET_LEVEL.exec(head);
  if (!m) return null;
  return severityFromText(m[1]);
}

function pick(labels: Record<string, string>, keys: readonly string[]): string | null {
  for (const k of keys) {
    const v = labels[k];
    if (v !== undefined && v !== '') return v;
  }
  return null;
}

function toRecord(
  labels: Record<string, string>,
  timeMs: number,
  line: string,
  metadata: Record<string, string>,
  ctx: LokiDecodeContext,
  position: number,
): LogRecord | string {
  if (!Number.isFinite(timeMs) || timeMs < MIN_TIME_MS) return `timestamp ${timeMs} ms is before 2000`;
  if (timeMs > ctx.nowMs + MAX_FUTURE_SKEW_MS) return 'timestamp is more than 24 h in the future';
  const levelText = pick(metadata, LEVEL_LABELS) ?? pick(labels, LEVEL_LABELS);
  const severity: LogSeverity = levelText ? severityFromText(levelText) : (severityOfLine(line) ?? 'info');
  const resource: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) resource[k] = v;
  const attributes: Record<string, string | number | boolean> = { ...metadata };
  let body = line;
  if (body.length > LOG_BODY_MAX_CHARS) {
    body = body.slice(0, LOG_BODY_MAX_CHARS);
    attributes['log.body_truncated'] = true;
  }
  const traceId = (metadata['trace_id'] ?? metadata['traceID'] ?? '').toLowerCase();
  const spanId = (metadata['span_id'] ?? metadata['spanID'] ?? '').toLowerCase();
  const base = {
    projectId: ctx.projectId,
    timeMs: Math.floor(timeMs),
    observedTimeMs: ctx.nowMs,
    source: 'loki' as const,
    serviceName: pick(labels, SERVICE_LABELS),
    environment: pick(labels, ENVIRONMENT_LABELS) ?? 'default',
    severity,
    severityNumber: 0,
    severityText: levelText,
    body,
    traceId: /^[0-9a-f]{32}$/.test(traceId) ? traceId : null,
    spanId: /^[0-9a-f]{16}$/.test(spanId) ? spanId : null,
    eventName: null,
    attributes,
    resource,
  };
  return { ...base, id: logRecordId(base, position), ingestedAtMs: ctx.nowMs, patternId: null };
}

function nsStringToMs(ns: string): number {
  if (!/^\d{1,20}$/.test(ns)) return Number.NaN;
  return ns.length <= 6 ? 0 : Number(ns.slice(0, -6));
}

class Collector {
  /** The next record's place in the request (for ids). */
  position = 0;
  logs: LogRecord[] = [];
  rejected = 0;
  reasons: string[] = [];
  add(r: LogRecord | string): void {
    if (typeof r === 'string') {
      this.rejected++;
      if (this.reasons.length < MAX_REASONS_SHOWN) this.reasons.push(r);
    } else this.logs.push(r);
  }
  result(): LokiDecodeResult {
    return {
      logs: this.logs,
      rejected: this.rejected,
      errorMessage: this.reasons.length ? this.reasons.join('; ') : null,
    };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodeLokiJson(body: Uint8Array, ctx: LokiDecodeContext): Result<LokiDecodeResult> {
  let root: unknown;
  try {
    root = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (e) {
    return err(appError('RP_INVALID_BODY', `malformed JSON: ${(e as Error).message}`));
  }
  if (!isObject(root) || !Array.isArray(root['streams']))
    return err(appError('RP_INVALID_BODY', 'streams: expected an array of {stream, values}'));
  const c = new Collector();
  const streams = root['streams'] as unknown[];
  for (let s = 0; s < streams.length; s++) {
    const st = streams[s];
    if (!isObject(st)) return err(appError('RP_INVALID_BODY', `streams.${s}: expected an object`));
    const labelsIn = st['stream'] ?? {};
    if (!isObject(labelsIn))
      return err(appError('RP_INVALID_BODY', `streams.${s}.stream: expected an object of labels`));
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(labelsIn)) {
      if (typeof v !== 'string') return err(appError('RP_INVALID_BODY', `streams.${s}.stream.${k}: expected a string`));
      labels[k] = v;
    }
    const values = st['values'];
    if (!Array.isArray(values)) return err(appError('RP_INVALID_BODY', `streams.${s}.values: expected an array`));
    for (let v = 0; v < values.length; v++) {
      const entry = values[v];
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
        c.add(`streams.${s}.values.${v}: expected ["<unix ns>", "<line>"]`);
        continue;
      }
      const meta: Record<string, string> = {};
      if (isObject(entry[2])) for (const [k, m] of Object.entries(entry[2])) if (typeof m === 'string') meta[k] = m;
      const ms = nsStringToMs(entry[0]);
      c.add(
        Number.isNaN(ms)
          ? `streams.${s}.values.${v}: timestamp "${entry[0]}" is not unix nanoseconds`
          : toRecord(labels, ms, entry[1], meta, ctx, c.position++),
      );
    }
  }
  return ok(c.result());
}

interface DecodedPush {
  streams?: Array<{
    labels?: string;
    entries?: Array<{
      timestamp?: { seconds?: number; nanos?: number };
      line?: string;
      structuredMetadata?: Array<{ name?: string; value?: string }>;
    }>;
  }>;
}

/** `body` is the snappy-compressed protobuf as sent (Content-Type application/x-protobuf). */
export function decodeLokiProtobuf(body: Uint8Array, ctx: LokiDecodeContext): Result<LokiDecodeResult> {
  let raw: Uint8Array;
  try {
    raw = snappy.uncompress(body);
  } catch (e) {
    return err(appError('RP_INVALID_BODY', `body is not snappy-compressed protobuf: ${(e as Error).message}`));
  }
  let msg: DecodedPush;
  try {
    const t = pushRequestType();
    msg = t.toObject(t.decode(raw), { longs: Number, defaults: false }) as DecodedPush;
  } catch (e) {
    return err(appError('RP_INVALID_BODY', `undecodable Loki PushRequest: ${(e as Error).message}`));
  }
  const c = new Collector();
  (msg.streams ?? []).forEach((st, s) => {
    const labels = parseLabelSet(st.labels ?? '');
    if (!labels) {
      for (const _ of st.entries ?? [])
        c.add(`streams.${s}.labels: "${(st.labels ?? '').slice(0, 80)}" is not a label set {name="value",…}`);
      return;
    }
    for (const e of st.entries ?? []) {
      const ms = (e.timestamp?.seconds ?? 0) * 1000 + Math.floor((e.timestamp?.nanos ?? 0) / 1e6);
      const meta: Record<string, string> = {};
      for (const p of e.structuredMetadata ?? []) if (p.name) meta[p.name] = p.value ?? '';
      c.add(toRecord(labels, ms, e.line ?? '', meta, ctx, c.position++));
    }
  });
  return ok(c.result());
}
