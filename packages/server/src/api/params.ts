import {
  type AppError,
  err,
  type FieldIssue,
  type LlmCallFilter,
  ok,
  type Result,
  SUMMARY_DIMENSIONS,
  SUMMARY_ORDER_FIELDS,
  type SummaryDimension,
  type SummaryOrderField,
  validationError,
} from '@reskpoints/core';
import { z } from 'zod';
import type { Principal } from './auth.js';

const list = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .describe('One value, a comma-separated list, or the parameter repeated');

export const filterQuerySchema = z.object({
  project: list,
  environment: list,
  provider: list,
  model: list,
  operation: list,
  status: list,
  user: list,
  session: list,
  service: list,
  tag: list.describe('Calls carrying every listed tag'),
  traceId: z.string().max(64).optional(),
});

const timeParam = z.string().min(1).max(40);
export const rangeQuerySchema = z.object({
  from: timeParam.describe('Range start (inclusive): RFC 3339 date-time, epoch milliseconds, `now` or `now-24h`'),
  to: timeParam.describe('Range end (exclusive): RFC 3339 date-time, epoch milliseconds, `now` or `now-24h`'),
});

export const callsQuerySchema = rangeQuerySchema.extend(filterQuerySchema.shape).extend({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional().describe('nextCursor of the previous page'),
  q: z
    .string()
    .max(200)
    .optional()
    .describe(
      'Text search, case-insensitive: id, trace, user, session, service, provider, model, error, prompt and response excerpts',
    ),
});

export const summaryQuerySchema = rangeQuerySchema.extend(filterQuerySchema.shape).extend({
  groupBy: list.describe(`Dimensions: ${SUMMARY_DIMENSIONS.join(', ')}`),
  interval: z
    .string()
    .max(16)
    .optional()
    .describe('Bucket width such as 1m, 5m, 1h, 1d (or milliseconds); omit for one bucket'),
  orderBy: z.enum(SUMMARY_ORDER_FIELDS).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

export function splitList(v: string | string[] | undefined): string[] | undefined {
  if (v == null) return undefined;
  const parts = (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  return parts.length ? parts : undefined;
}

/** Earliest and latest instants a query may name: 2000-01-01 .. 2100-01-01. */
const MIN_TIME_MS = Date.UTC(2000, 0, 1);
const MAX_TIME_MS = Date.UTC(2100, 0, 1);

/** What a time parameter accepts, as error messages name it. */
export const TIME_FORMS =
  'an RFC 3339 date-time (2026-01-15T12:00:00Z), epoch milliseconds, now, or now-<duration> (now-24h)';

/**
 * An instant: RFC 3339, epoch milliseconds, `now`, or `now-<duration>` / `now+<duration>` with
 * ms, s, m, h, d or w units. Null when it is none of these or falls outside 2000..2100.
 */
export function parseTime(value: string, nowMs: number): number | null {
  const v = value.trim();
  let t: number;
  const relative = /^now(?:([+-])(\d+)(ms|s|m|h|d|w))?$/.exec(v);
  if (relative) {
    const offset = relative[1] ? Number(relative[2]) * (UNIT_MS[relative[3] as string] as number) : 0;
    t = relative[1] === '-' ? nowMs - offset : nowMs + offset;
  } else if (/^\d+$/.test(v)) t = Number(v);
  else if (/^\d{4}-\d{2}-\d{2}/.test(v)) t = Date.parse(v);
  else return null;
  return Number.isFinite(t) && t >= MIN_TIME_MS && t <= MAX_TIME_MS ? t : null;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(value: string): number | null {
  const m = /^(\d+)(ms|s|m|h|d|w)?$/.exec(value.trim());
  if (!m) return null;
  const ms = Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] as number);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : null;
}

export interface RangeLimits {
  maxRangeDays: number;
}

export function parseRange(
  q: { from: string; to: string },
  limits: RangeLimits,
  nowMs: number,
  issues: FieldIssue[],
): { fromMs: number; toMs: number } {
  const fromMs = parseTime(q.from, nowMs);
  const toMs = parseTime(q.to, nowMs);
  for (const [path, value, ms] of [
    ['from', q.from, fromMs],
    ['to', q.to, toMs],
  ] as const) {
    if (ms == null)
      issues.push({ path, message: `expected ${TIME_FORMS}, between 2000 and 2100; got ${JSON.stringify(value)}` });
  }
  if (fromMs != null && toMs != null) {
    if (toMs <= fromMs) issues.push({ path: 'to', message: 'must be after from' });
    else if (toMs - fromMs > limits.maxRangeDays * 86_400_000)
      issues.push({ path: 'to', message: `range longer than ${limits.maxRangeDays} days` });
  }
  return { fromMs: fromMs ?? 0, toMs: toMs ?? 0 };
}

/**
 * Builds the filter, scoping it to the caller: a project key sees only its project (asking
 * for another is an error, not an empty answer).
 */
export function parseFilter(
  q: z.output<typeof filterQuerySchema>,
  principal: Principal,
  issues: FieldIssue[],
): LlmCallFilter {
  const statuses = splitList(q.status);
  for (const s of statuses ?? [])
    if (s !== 'ok' && s !== 'error')
      issues.push({ path: 'status', message: `must be ok or error, got ${JSON.stringify(s)}` });
  let projectIds = splitList(q.project);
  if (principal.kind === 'project') {
    if (projectIds?.some((p) => p !== principal.projectId))
      issues.push({ path: 'project', message: 'this key can only read its own project' });
    projectIds = [principal.projectId];
  }
  const filter: LlmCallFilter = {};
  const set = <K extends keyof LlmCallFilter>(k: K, v: LlmCallFilter[K] | undefined) => {
    if (v !== undefined) filter[k] = v;
  };
  set('projectIds', projectIds);
  set('environments', splitList(q.environment));
  set('providers', splitList(q.provider));
  set('models', splitList(q.model));
  set('operations', splitList(q.operation));
  set('statuses', statuses as Array<'ok' | 'error'> | undefined);
  set('userIds', splitList(q.user));
  set('sessionIds', splitList(q.session));
  set('services', splitList(q.service));
  set('tags', splitList(q.tag));
  set('traceId', q.traceId);
  return filter;
}

export function parseGroupBy(v: string | string[] | undefined, issues: FieldIssue[]): SummaryDimension[] {
  const dims = splitList(v) ?? [];
  const out: SummaryDimension[] = [];
  for (const d of dims) {
    if (!(SUMMARY_DIMENSIONS as readonly string[]).includes(d))
      issues.push({
        path: 'groupBy',
        message: `unknown dimension ${JSON.stringify(d)}; use ${SUMMARY_DIMENSIONS.join(', ')}`,
      });
    else if (!out.includes(d as SummaryDimension)) out.push(d as SummaryDimension);
  }
  return out;
}

export function finish<T>(value: T, issues: FieldIssue[], what = 'invalid query'): Result<T, AppError> {
  return issues.length ? err(validationError(issues, what)) : ok(value);
}

export type { SummaryOrderField };
