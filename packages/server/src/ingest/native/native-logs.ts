/**
 * The native log batch (`POST /api/v1/logs`):
 * `{"logs":[{"timestamp":…,"message":"…","severity":"error","service":"api",…}]}`.
 */
import {
  appError,
  err,
  LOG_BODY_MAX_CHARS,
  LOG_SEVERITIES,
  type LogRecord,
  logRecordId,
  ok,
  type Result,
  severityFromText,
  validationError,
} from '@reskpoints/core';
import { z } from 'zod';

const MAX_LOGS = 10_000;
const DAY_MS = 86_400_000;
const MIN_TIME_MS = Date.UTC(2000, 0, 1);

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const nativeLogSchema = z.object({
  id: z.string().min(1).max(200).optional().describe('Idempotency key; a hash of the record when absent'),
  timestamp: z
    .union([z.string(), z.number()])
    .describe('RFC 3339 or epoch milliseconds; the receive time when absent')
    .optional(),
  message: z.string().describe(`The log line (cut to ${LOG_BODY_MAX_CHARS} characters)`),
  severity: z
    .string()
    .max(32)
    .optional()
    .describe(`${LOG_SEVERITIES.join(', ')} (also WARNING, err, critical …); info when absent`),
  service: z.string().max(200).optional(),
  environment: z.string().max(200).optional(),
  traceId: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, 'must be 32 hex digits')
    .optional(),
  spanId: z
    .string()
    .regex(/^[0-9a-fA-F]{16}$/, 'must be 16 hex digits')
    .optional(),
  attributes: z.record(z.string(), scalar).optional(),
});

export const nativeLogBodySchema = z.object({ logs: z.array(nativeLogSchema).min(1).max(MAX_LOGS) });
export type NativeLogBody = z.infer<typeof nativeLogBodySchema>;

function timeOf(t: string | number | undefined, nowMs: number): number | string {
  if (t === undefined) return nowMs;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return 'is not RFC 3339 or epoch milliseconds';
  if (ms < MIN_TIME_MS) return 'is before 2000';
  if (ms > nowMs + DAY_MS) return 'is more than 24 h in the future';
  return Math.floor(ms);
}

export function decodeNativeLogs(body: Buffer, ctx: { projectId: string; nowMs: number }): Result<LogRecord[]> {
  if (body.length === 0) return err(appError('RP_INVALID_BODY', 'body is empty; a JSON document was expected'));
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return err(appError('RP_INVALID_BODY', `malformed JSON: ${(e as Error).message}`));
  }
  const r = nativeLogBodySchema.safeParse(parsed);
  if (!r.success)
    return err(validationError(r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))));
  const issues: Array<{ path: string; message: string }> = [];
  const logs: LogRecord[] = [];
  r.data.logs.forEach((l, i) => {
    const t = timeOf(l.timestamp, ctx.nowMs);
    if (typeof t === 'string') {
      issues.push({ path: `logs.${i}.timestamp`, message: t });
      return;
    }
    const attributes: LogRecord['attributes'] = { ...(l.attributes ?? {}) };
    let message = l.message;
    if (message.length > LOG_BODY_MAX_CHARS) {
      message = message.slice(0, LOG_BODY_MAX_CHARS);
      attributes['log.body_truncated'] = true;
    }
    const base = {
      projectId: ctx.projectId,
      timeMs: t,
      observedTimeMs: ctx.nowMs,
      source: 'native' as const,
      serviceName: l.service ?? null,
      environment: l.environment ?? 'default',
      severity: severityFromText(l.severity),
      severityNumber: 0,
      severityText: l.severity ?? null,
      body: message,
      traceId: l.traceId?.toLowerCase() ?? null,
      spanId: l.spanId?.toLowerCase() ?? null,
      eventName: null,
      attributes,
      resource: {},
    };
    logs.push({ ...base, id: l.id ?? logRecordId(base, i), ingestedAtMs: ctx.nowMs, patternId: null });
  });
  // One bad record refuses the batch, naming every offending field (as the call batch does).
  if (issues.length) return err(validationError(issues));
  return ok(logs);
}
