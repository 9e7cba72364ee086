/** `reskpoints forecast [capacity]`: period-end projections and rate-limit headroom, as tables. */
import { SUMMARY_DIMENSIONS } from '@reskpoints/core';
import type { CapacityProjection, CapacityResponse, ScopeForecastResponse } from '../forecast/scopes.js';
import { ApiClient, describeApiFailure } from './api-client.js';
import { resolveClientTarget } from './client-target.js';
import { DASH, formatInt, formatMinute, formatPercent, formatUsd, renderTable, truncate } from './format.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';
import { parseDurationMs } from './query.js';

export interface ForecastOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  json?: boolean;
  metric?: string;
  scope?: string[];
  by?: string;
  horizon?: string;
  interval?: string;
  period?: string;
  history?: string;
  level?: string;
  threshold?: string;
  limit?: string;
  points?: boolean;
}

/** Dimensions a `--scope dim=value` may name: the API's filter parameters. */
export const SCOPE_DIMENSIONS = [
  'project',
  'environment',
  'provider',
  'model',
  'operation',
  'status',
  'user',
  'session',
  'service',
  'tag',
] as const;

type Built = { ok: true; path: string; params: URLSearchParams } | { ok: false; problems: string[] };

/** `--scope project=shop,model=gpt-4o` (repeatable) → filter parameters; values of one dimension add up. */
function addScope(scopes: readonly string[] | undefined, params: URLSearchParams, problems: string[]): void {
  const values = new Map<string, string[]>();
  for (const part of (scopes ?? []).flatMap((s) => s.split(','))) {
    const text = part.trim();
    if (text === '') continue;
    const eq = text.indexOf('=');
    const dim = eq < 0 ? text : text.slice(0, eq);
    const value = eq < 0 ? '' : text.slice(eq + 1);
    if (!(SCOPE_DIMENSIONS as readonly string[]).includes(dim) || value === '') {
      problems.push(
        `--scope: expected DIMENSION=VALUE with a dimension of ${SCOPE_DIMENSIONS.join(', ')}, got ${JSON.stringify(text)}`,
      );
      continue;
    }
    values.set(dim, [...(values.get(dim) ?? []), value]);
  }
  for (const [dim, vs] of values) params.set(dim, vs.join(','));
}

function checkDuration(flag: string, value: string | undefined, params: URLSearchParams, problems: string[]): void {
  if (value === undefined) return;
  if (parseDurationMs(value) === null)
    problems.push(`${flag}: expected a duration such as 30d or 48h, got ${JSON.stringify(value)}`);
  else params.set(flag.slice(2), value);
}

function checkNumber(
  flag: string,
  value: string | undefined,
  params: URLSearchParams,
  problems: string[],
  valid: (n: number) => boolean,
  expected: string,
): void {
  if (value === undefined) return;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !valid(n))
    problems.push(`${flag}: expected ${expected}, got ${JSON.stringify(value)}`);
  else params.set(flag.slice(2), String(n));
}

/** The API request of `reskpoints forecast`, every bad option reported at once. */
export function buildForecastRequest(o: ForecastOptions): Built {
  const problems: string[] = [];
  const params = new URLSearchParams();
  const metric = o.metric ?? 'cost';
  if (!['cost', 'tokens', 'requests'].includes(metric))
    problems.push(`--metric: expected cost, tokens or requests, got ${JSON.stringify(metric)}`);
  params.set('metric', metric);
  if (o.by !== undefined) {
    const dims = o.by
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean);
    for (const d of dims)
      if (!(SUMMARY_DIMENSIONS as readonly string[]).includes(d))
        problems.push(`--by: unknown dimension ${JSON.stringify(d)}; use ${SUMMARY_DIMENSIONS.join(', ')}`);
    if (dims.length > 0) params.set('groupBy', dims.join(','));
  }
  addScope(o.scope, params, problems);
  checkDuration('--horizon', o.horizon, params, problems);
  checkDuration('--history', o.history, params, problems);
  if (o.interval !== undefined) {
    if (o.interval !== '1d' && o.interval !== '1h')
      problems.push(`--interval: expected 1d or 1h, got ${JSON.stringify(o.interval)}`);
    else params.set('interval', o.interval);
  }
  if (o.period !== undefined) {
    if (!['day', 'week', 'month'].includes(o.period))
      problems.push(`--period: expected day, week or month, got ${JSON.stringify(o.period)}`);
    else params.set('period', o.period);
  }
  checkNumber('--level', o.level, params, problems, (n) => n >= 0.5 && n <= 0.999, 'a probability from 0.5 to 0.999');
  checkNumber('--threshold', o.threshold, params, problems, (n) => n > 0, 'a positive number');
  checkNumber('--limit', o.limit, params, problems, (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, path: '/api/v1/forecasts', params };
}

/** The API request of `reskpoints forecast capacity`. */
export function buildCapacityRequest(o: ForecastOptions): Built {
  const problems: string[] = [];
  const params = new URLSearchParams();
  addScope(o.scope, params, problems);
  checkDuration('--horizon', o.horizon, params, problems);
  checkNumber('--level', o.level, params, problems, (n) => n >= 0.5 && n <= 0.999, 'a probability from 0.5 to 0.999');
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, path: '/api/v1/forecasts/capacity', params };
}

const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const when = (ms: number | null, stepMs: number) =>
  ms === null ? 'not within the horizon' : stepMs >= DAY_MS ? day(ms) : formatMinute(ms);

function amountOf(metric: ScopeForecastResponse['metric']): (n: number) => string {
  return metric === 'cost' ? formatUsd : formatInt;
}

export function formatForecast(f: ScopeForecastResponse, withPoints = false): string {
  if (f.scopes.length === 0) return 'No calls in the history: nothing to forecast yet.';
  const amount = amountOf(f.metric);
  const bound = f.metric === 'cost' && f.costIsLowerBound ? '≥' : '';
  const first = f.scopes[0];
  const head =
    `${f.metric} forecast, ${f.period} ${first ? `${day(first.period.fromMs)} → ${day(first.period.toMs)} UTC` : ''}, ` +
    `${Math.round(f.level * 100)}% intervals`;
  const withThreshold = f.scopes.some((s) => s.threshold !== null);
  const table = renderTable(
    [
      ...(f.groupBy.length > 0 ? f.groupBy.map((d) => ({ header: d })) : [{ header: 'scope' }]),
      { header: 'method' },
      { header: 'backtest MAPE', align: 'right' as const },
      { header: 'so far', align: 'right' as const },
      { header: 'projected', align: 'right' as const },
      { header: 'interval', align: 'right' as const },
      ...(withThreshold ? [{ header: 'threshold reached' }] : []),
    ],
    f.scopes.map((s) => [
      ...(f.groupBy.length > 0
        ? f.groupBy.map((d) => truncate(s.group[d] ?? DASH, 40))
        : [Object.keys(s.group).length === 0 ? 'everything' : DASH]),
      s.model,
      formatPercent(s.backtestMape),
      `${bound}${amount(s.period.actual)}`,
      `${bound}${amount(s.period.projected)}`,
      `${amount(s.period.lo)} – ${amount(s.period.hi)}`,
      ...(withThreshold
        ? [
            s.threshold === null
              ? DASH
              : s.threshold.crossesAt === null
                ? `${amount(s.threshold.value)}: not within the period`
                : `${amount(s.threshold.value)}: ${when(s.threshold.crossesAt, f.stepMs)} (earliest ${when(s.threshold.lo, f.stepMs)})`,
          ]
        : []),
    ]),
  );
  const parts = [head, '', table];
  if (f.groupsOmitted > 0) parts.push('', `${f.groupsOmitted} smaller scopes not forecast (raise --limit)`);
  if (withPoints)
    for (const s of f.scopes) {
      const name = f.groupBy.map((d) => `${d}=${s.group[d] ?? DASH}`).join(',') || 'everything';
      parts.push(
        '',
        `${name}:`,
        renderTable(
          [
            { header: 'step' },
            { header: 'forecast', align: 'right' },
            { header: 'low', align: 'right' },
            { header: 'high', align: 'right' },
          ],
          s.points.map((p) => [
            f.stepMs >= DAY_MS ? day(p.t) : formatMinute(p.t),
            amount(p.v),
            amount(p.lo),
            amount(p.hi),
          ]),
        ),
      );
    }
  return parts.join('\n');
}

const rate = (n: number) => (n >= 100 ? formatInt(n) : n.toFixed(2));

function capacityCells(p: CapacityProjection): string[] {
  return [
    rate(p.observedPeakPerMinute),
    `${rate(p.projectedPeakPerMinute)} (≤ ${rate(p.projectedPeakPerMinuteHi)})`,
    p.limitPerMinute === null ? DASH : formatInt(p.limitPerMinute),
    formatPercent(p.headroom),
    p.reachesLimit === null
      ? DASH
      : p.reachesLimit.crossesAt !== null
        ? formatMinute(p.reachesLimit.crossesAt)
        : p.reachesLimit.lo !== null
          ? `possibly ${formatMinute(p.reachesLimit.lo)}`
          : 'no',
  ];
}

export function formatCapacity(c: CapacityResponse): string {
  if (c.models.length === 0)
    return 'No calls in the history and no rate limits configured (forecast.rateLimits): nothing to project.';
  const head = `Capacity over the next ${c.horizonHours} h, per minute (${Math.round(c.level * 100)}% intervals)`;
  const rows: string[][] = [];
  for (const m of c.models) {
    rows.push([truncate(m.model || DASH, 40), 'requests', ...capacityCells(m.requests)]);
    rows.push(['', 'tokens', ...capacityCells(m.tokens)]);
  }
  return `${head}\n\n${renderTable(
    [
      { header: 'model' },
      { header: 'metric' },
      { header: 'peak 24h', align: 'right' },
      { header: 'projected peak', align: 'right' },
      { header: 'limit', align: 'right' },
      { header: 'headroom', align: 'right' },
      { header: 'reaches limit' },
    ],
    rows,
  )}`;
}

async function fetchAndPrint<T>(built: Built, o: ForecastOptions, io: CliIo, render: (v: T) => string) {
  if (!built.ok) {
    for (const p of built.problems) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const target = resolveClientTarget(o, io);
  const client = new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
  const r = await client.request<T>({ method: 'GET', path: built.path, query: built.params });
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  println(io.stdout, o.json ? JSON.stringify(r.value, null, 2) : render(r.value));
  return EXIT_OK;
}

export function runForecast(o: ForecastOptions, io: CliIo): Promise<number> {
  return fetchAndPrint<ScopeForecastResponse>(buildForecastRequest(o), o, io, (v) => formatForecast(v, o.points));
}

export function runCapacity(o: ForecastOptions, io: CliIo): Promise<number> {
  return fetchAndPrint<CapacityResponse>(buildCapacityRequest(o), o, io, formatCapacity);
}
