/**
 * Normalised log records: what every log source (OTLP logs, Loki push, the native batch, the
 * SDK) ends in and what the telemetry stores keep. Times are epoch milliseconds.
 */
import type { LogSeverity } from './log-policy.js';

export type LogSource = 'otlp' | 'loki' | 'native';

export interface LogRecord {
  /** Idempotency key within a project: the sender's `log.record.uid`, else a hash of the record. */
  id: string;
  projectId: string;
  /** When the event happened (the observed time when the sender did not say). */
  timeMs: number;
  /** When a collector or ReskPoints first saw it. */
  observedTimeMs: number;
  ingestedAtMs: number;
  source: LogSource;
  serviceName: string | null;
  environment: string;
  severity: LogSeverity;
  /** OpenTelemetry SeverityNumber 1–24 (0 = unspecified). */
  severityNumber: number;
  severityText: string | null;
  body: string;
  /** Lower-case hex, for log-to-trace correlation. */
  traceId: string | null;
  spanId: string | null;
  /** OpenTelemetry event name (`gen_ai.user.message`, …), if the record is an event. */
  eventName: string | null;
  attributes: Record<string, string | number | boolean>;
  /** Resource attributes other than service name and environment (Loki: the stream labels). */
  resource: Record<string, string>;
  /** Template pattern of the body, set by the log-pattern enrichment step. */
  patternId: string | null;
}

/** The cap on one log body; longer bodies are cut (and flagged with `log.body_truncated`). */
export const LOG_BODY_MAX_CHARS = 32_768;

/**
 * A deterministic id for a record its sender gave no id: the same request sent twice (a client
 * retry) gives its records the same ids, so they are stored once. `position` is the record's
 * place in its request, so that identical lines sent together (the same health check twice in
 * one millisecond) stay two records.
 */
export function logRecordId(r: Omit<LogRecord, 'id' | 'ingestedAtMs' | 'patternId'>, position: number): string {
  // The FNV-1a pair of `fnv1a64Hex` over the fields joined by U+0000, the attributes as sorted
  // `key=value` joined by U+0001; fed field by field rather than building that string, which
  // was most of this function's cost (it runs once per stored line).
  h1 = 0x811c9dc5 | 0;
  h2 = 0x050c5d1f | 0;
  feed(text(position));
  feedCode(0);
  feed(text(r.timeMs));
  feedCode(0);
  feed(r.serviceName ?? '');
  feedCode(0);
  feed(text(r.severityNumber));
  feedCode(0);
  feed(r.severityText ?? '');
  feedCode(0);
  feed(r.traceId ?? '');
  feedCode(0);
  feed(r.spanId ?? '');
  feedCode(0);
  feed(r.body);
  feedCode(0);
  const attributes = r.attributes;
  const keys = Object.keys(attributes);
  if (keys.length > 1) keys.sort();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (i > 0) feedCode(1);
    feed(k);
    feedCode(61); // '='
    const v = attributes[k];
    feed(typeof v === 'string' ? v : String(v));
  }
  return `l_${(h2 >>> 0).toString(16).padStart(8, '0')}${(h1 >>> 0).toString(16).padStart(8, '0')}`;
}

/** As `Array#join` writes a value. */
const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** State of the running hash of `logRecordId` (one call at a time: it never yields). */
let h1 = 0;
let h2 = 0;

function feedCode(c: number): void {
  h1 = Math.imul(h1 ^ c, 0x01000193);
  h2 = Math.imul(h2 ^ c, 0x5bd1e995);
}

function feed(s: string): void {
  let a = h1;
  let b = h2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  h1 = a;
  h2 = b;
}

/** Filters of a log search; every field narrows, arrays mean "any of". */
export interface LogFilter {
  projectIds?: string[];
  services?: string[];
  environments?: string[];
  severities?: LogSeverity[];
  patternIds?: string[];
  traceId?: string;
  /** Case-insensitive substring of the body. */
  text?: string;
}

export interface LogSearchQuery {
  /** Inclusive, epoch ms. */
  fromMs: number;
  /** Exclusive, epoch ms. */
  toMs: number;
  filter: LogFilter;
  /** 1..1000 */
  limit: number;
  /** Opaque cursor from a previous page (newest first). */
  cursor?: string;
}

export interface LogPage {
  items: LogRecord[];
  nextCursor: string | null;
}

/** Per service and pattern over a range: what pattern statistics are built from. */
export interface LogPatternCount {
  projectId: string;
  serviceName: string | null;
  patternId: string | null;
  count: number;
  /** Bytes of the bodies. */
  bytes: number;
  firstSeenMs: number;
  lastSeenMs: number;
  severities: Partial<Record<LogSeverity, number>>;
  /** One body of the pattern, as an example. */
  example: string;
}

/** Lines per time bucket for one pattern, for rate charts and rate-change detection. */
export interface LogPatternRatePoint {
  bucketStartMs: number;
  patternId: string | null;
  serviceName: string | null;
  count: number;
}
