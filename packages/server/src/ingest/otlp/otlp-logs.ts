/**
 * OTLP/HTTP logs: body → normalised log records, and the export response. Pure functions.
 */
import {
  appError,
  err,
  LOG_BODY_MAX_CHARS,
  type LogRecord,
  logRecordId,
  ok,
  type Result,
  severityFromNumber,
  severityFromText,
} from '@reskpoints/core';
import { decodeLogsRequestJson } from './otlp-json-decode.js';
import { anyText, OTLP_MAX_FUTURE_SKEW_MS, OTLP_MIN_START_MS, type OtlpMapContext } from './otlp-map.js';
import type { OtlpAttributes, OtlpLogRecordData, OtlpLogsRequestData } from './otlp-model.js';
import { decodeLogsRequestProtobuf } from './otlp-proto-decode.js';
import type { OtlpEncoding } from './otlp-traces.js';

export interface OtlpLogsDecodeResult {
  logs: LogRecord[];
  /** Records left out (unreadable time, mistyped fields); reported as partial success. */
  rejectedLogRecords: number;
  errorMessage: string | null;
}

const ENVIRONMENT_KEYS = ['deployment.environment.name', 'deployment.environment'];
const MAX_ATTRIBUTES = 128;
const MAX_ATTRIBUTE_CHARS = 4096;
const MAX_REASONS_SHOWN = 5;

function isHex(s: string, len: number): boolean {
  return s.length === len && /^[0-9a-f]+$/.test(s) && !/^0+$/.test(s);
}

function flatAttributes(a: OtlpAttributes, skip: ReadonlySet<string>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = Object.create(null);
  let n = 0;
  for (const [k, v] of a) {
    if (skip.has(k) || n >= MAX_ATTRIBUTES) continue;
    if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else {
      const t = anyText(v);
      if (t === null) continue;
      out[k] = t.length > MAX_ATTRIBUTE_CHARS ? t.slice(0, MAX_ATTRIBUTE_CHARS) : t;
    }
    n++;
  }
  return out;
}

const RESOURCE_SKIP = new Set(['service.name', ...ENVIRONMENT_KEYS]);
const NO_SKIP = new Set<string>();

function mapRecord(
  rec: OtlpLogRecordData,
  service: string | null,
  environment: string,
  resource: Record<string, string>,
  ctx: OtlpMapContext,
  position: number,
): LogRecord | string {
  if (rec.problem) return rec.problem;
  const observed = Number.isFinite(rec.observedTimeUnixMs) ? rec.observedTimeUnixMs : ctx.nowMs;
  const time = Number.isFinite(rec.timeUnixMs) ? rec.timeUnixMs : observed;
  if (time < OTLP_MIN_START_MS) return `timeUnixNano ${new Date(time).toISOString()} is before 2000`;
  if (time > ctx.nowMs + OTLP_MAX_FUTURE_SKEW_MS) return 'timeUnixNano is more than 24 h in the future';
  if (rec.traceId && !isHex(rec.traceId, 32)) return `traceId "${rec.traceId.slice(0, 40)}" is not 32 hex digits`;
  if (rec.spanId && !isHex(rec.spanId, 16)) return `spanId "${rec.spanId.slice(0, 20)}" is not 16 hex digits`;
  let body = anyText(rec.body) ?? '';
  const attributes = flatAttributes(rec.attributes, NO_SKIP);
  if (body.length > LOG_BODY_MAX_CHARS) {
    body = body.slice(0, LOG_BODY_MAX_CHARS);
    attributes['log.body_truncated'] = true;
  }
  const eventNameAttr = rec.attributes.get('event.name');
  const eventName = rec.eventName || (typeof eventNameAttr === 'string' ? eventNameAttr : '') || null;
  const severityNumber = rec.severityNumber > 0 && rec.severityNumber <= 24 ? rec.severityNumber : 0;
  const severity =
    severityNumber > 0 ? severityFromNumber(severityNumber) : severityFromText(rec.severityText || undefined);
  // One object in its final shape (the id is filled in once the rest is there to hash).
  const log: LogRecord = {
    projectId: ctx.projectId,
    timeMs: Math.floor(time),
    observedTimeMs: Math.floor(observed),
    source: 'otlp',
    serviceName: service,
    environment,
    severity,
    severityNumber,
    severityText: rec.severityText || null,
    body,
    traceId: rec.traceId || null,
    spanId: rec.spanId || null,
    eventName,
    attributes,
    resource,
    id: '',
    ingestedAtMs: ctx.nowMs,
    patternId: null,
  };
  const uid = rec.attributes.get('log.record.uid');
  log.id = typeof uid === 'string' && uid !== '' ? uid.slice(0, 200) : logRecordId(log, position);
  return log;
}

export function mapOtlpLogsRequest(data: OtlpLogsRequestData, ctx: OtlpMapContext): OtlpLogsDecodeResult {
  const logs: LogRecord[] = [];
  const reasons: string[] = [];
  let rejected = 0;
  let position = 0;
  for (const rl of data) {
    const svc = rl.resourceAttributes.get('service.name');
    const service = typeof svc === 'string' && svc !== '' ? svc : null;
    let environment = 'default';
    for (const k of ENVIRONMENT_KEYS) {
      const v = rl.resourceAttributes.get(k);
      if (typeof v === 'string' && v !== '') {
        environment = v;
        break;
      }
    }
    const resource = flatAttributes(rl.resourceAttributes, RESOURCE_SKIP) as Record<string, string>;
    for (const k of Object.keys(resource)) resource[k] = String(resource[k]);
    for (const scope of rl.scopeLogs) {
      for (const rec of scope.logRecords) {
        const r = mapRecord(rec, service, environment, resource, ctx, position++);
        if (typeof r === 'string') {
          rejected++;
          if (reasons.length < MAX_REASONS_SHOWN) reasons.push(r);
        } else logs.push(r);
      }
    }
  }
  return { logs, rejectedLogRecords: rejected, errorMessage: reasons.length ? reasons.join('; ') : null };
}

/** Decodes an (already gunzipped) `ExportLogsServiceRequest`. Never throws. */
export function decodeOtlpLogs(
  body: Uint8Array,
  encoding: OtlpEncoding,
  ctx: OtlpMapContext,
): Result<OtlpLogsDecodeResult> {
  if (body.length === 0)
    return err(appError('RP_INVALID_BODY', `empty body: expected an OTLP ExportLogsServiceRequest (${encoding})`));
  let data: OtlpLogsRequestData;
  try {
    data = encoding === 'json' ? decodeLogsRequestJson(body) : decodeLogsRequestProtobuf(body);
  } catch (e) {
    const what = encoding === 'json' ? 'OTLP/JSON' : 'OTLP/protobuf';
    return err(
      appError(
        'RP_INVALID_BODY',
        `undecodable ${what} ExportLogsServiceRequest: ${e instanceof Error ? e.message : String(e)}`,
      ),
    );
  }
  return ok(mapOtlpLogsRequest(data, ctx));
}

/** `ExportLogsServiceResponse`: empty unless records were rejected (partial_success). */
export function encodeOtlpLogsResponse(
  rejected: number,
  errorMessage: string | null,
  encoding: OtlpEncoding,
): Uint8Array | string {
  const n = Number.isFinite(rejected) && rejected > 0 ? Math.floor(rejected) : 0;
  const partial = n > 0 || (errorMessage !== null && errorMessage !== '');
  if (encoding === 'json')
    return partial
      ? JSON.stringify({ partialSuccess: { rejectedLogRecords: n, errorMessage: errorMessage ?? '' } })
      : '{}';
  if (!partial) return new Uint8Array(0);
  // partial_success = 1 { rejected_log_records = 1 (int64 varint), error_message = 2 (string) }
  const msg = Buffer.from(errorMessage ?? '', 'utf8');
  const innerBuf = Buffer.concat([
    n > 0 ? Buffer.concat([Buffer.from([0x08]), varint(n)]) : Buffer.alloc(0),
    msg.length ? Buffer.concat([Buffer.from([0x12]), varint(msg.length), msg]) : Buffer.alloc(0),
  ]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x0a]), varint(innerBuf.length), innerBuf]));
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}
