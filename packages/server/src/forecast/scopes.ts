import type { LlmCallFilter, SummaryDimension, SummaryQuery, SummaryResult, SummaryRow } from '@reskpoints/core';
import { type ForecastPoint, forecast, type SeriesPoint } from './forecast.js';

/**
 * Forecasts built from the telemetry store's summary query: period-end projections per scope
 * (cost, tokens or requests per group of any dimensions) and capacity projections per model
 * against configured rate limits. The summary query is passed in, so this stays free of adapters.
 */

export type Summarize = (query: SummaryQuery) => Promise<SummaryResult>;
export type ForecastMetric = 'cost' | 'tokens' | 'requests';
export type PeriodName = 'day' | 'week' | 'month';

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export function metricValue(row: SummaryRow, metric: ForecastMetric): number {
  if (metric === 'cost') return row.costUsd ?? 0;
  return metric === 'tokens' ? row.totalTokens : row.requests;
}

/** The UTC period containing `nowMs` (weeks start on Monday). */
export function periodBounds(period: PeriodName, nowMs: number): { fromMs: number; toMs: number } {
  const d = new Date(nowMs);
  const dayStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (period === 'day') return { fromMs: dayStart, toMs: dayStart + DAY_MS };
  if (period === 'week') {
    const fromMs = dayStart - ((d.getUTCDay() + 6) % 7) * DAY_MS;
    return { fromMs, toMs: fromMs + 7 * DAY_MS };
  }
  return {
    fromMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
    toMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  };
}

export interface ScopeForecastQuery {
  metric: ForecastMetric;
  groupBy: SummaryDimension[];
  filter: LlmCallFilter;
  /** Step of the series: DAY_MS or HOUR_MS. */
  stepMs: number;
  /** Steps of forecast returned per scope, starting with the current (partial) step. */
  horizonSteps: number;
  /** Whole steps of history fitted on, before the current one. */
  historySteps: number;
  level: number;
  period: PeriodName;
  nowMs: number;
  /** Scopes forecast at most, the largest by their history's total first. */
  limit: number;
  /** A period total to watch: when the running total is projected to reach it. */
  threshold?: number;
}

export interface ScopeForecast {
  group: Partial<Record<SummaryDimension, string | null>>;
  model: string;
  backtestMape: number | null;
  intervalSource: string;
  /** Whole steps observed, then the current step so far (its `t` is the current step). */
  history: SeriesPoint[];
  /** Forecast steps from the current one on; the current step's value is the whole step's. */
  points: ForecastPoint[];
  period: { fromMs: number; toMs: number; actual: number; projected: number; lo: number; hi: number };
  threshold: { value: number; crossesAt: number | null; lo: number | null; hi: number | null } | null;
}

export interface ScopeForecastResponse {
  metric: ForecastMetric;
  groupBy: SummaryDimension[];
  stepMs: number;
  level: number;
  generatedAtMs: number;
  period: PeriodName;
  scopes: ScopeForecast[];
  /** Groups left out beyond `limit`. */
  groupsOmitted: number;
  /** Cost only: some calls in the history are unpriced, so projections count less than is spent. */
  costIsLowerBound: boolean;
}

/** Points sorted by step, one per step (values of a step added). */
function mergeSteps(points: readonly SeriesPoint[]): SeriesPoint[] {
  const byStep = new Map<number, number>();
  for (const p of points) byStep.set(p.t, (byStep.get(p.t) ?? 0) + p.v);
  return [...byStep.entries()].sort(([a], [b]) => a - b).map(([t, v]) => ({ t, v }));
}

const groupKey = (dims: readonly SummaryDimension[], group: SummaryRow['group']) =>
  JSON.stringify(dims.map((d) => group[d] ?? null));

export async function forecastScopes(summarize: Summarize, q: ScopeForecastQuery): Promise<ScopeForecastResponse> {
  const currentStep = Math.floor(q.nowMs / q.stepMs) * q.stepMs;
  const historyFrom = currentStep - q.historySteps * q.stepMs;
  const result = await summarize({
    fromMs: historyFrom,
    toMs: q.nowMs + 1,
    filter: q.filter,
    groupBy: q.groupBy,
    intervalMs: q.stepMs,
  });
  const groups = new Map<string, { group: SummaryRow['group']; points: SeriesPoint[]; total: number }>();
  let unpriced = 0;
  for (const row of result.rows) {
    const key = groupKey(q.groupBy, row.group);
    let g = groups.get(key);
    if (!g) {
      g = { group: row.group, points: [], total: 0 };
      groups.set(key, g);
    }
    const v = metricValue(row, q.metric);
    g.points.push({ t: row.bucketStartMs, v });
    g.total += v;
    unpriced += row.unpricedRequests;
  }
  const ranked = [...groups.values()].sort((a, b) => b.total - a.total);
  const kept = ranked.slice(0, q.limit);
  const bounds = periodBounds(q.period, q.nowMs);
  const stepsToPeriodEnd = Math.max(1, Math.ceil((bounds.toMs - currentStep) / q.stepMs));
  const horizon = Math.max(q.horizonSteps, stepsToPeriodEnd);
  // The share of the current step still to come: its forecast counts for that share only.
  const remaining = (currentStep + q.stepMs - q.nowMs) / q.stepMs;
  const scopes = kept.map((g): ScopeForecast => {
    const complete = g.points.filter((p) => p.t < currentStep);
    // A zero at the last whole step anchors the forecast to now even when the group was quiet lately.
    complete.push({ t: currentStep - q.stepMs, v: 0 });
    const partial = g.points.filter((p) => p.t >= currentStep).reduce((s, p) => s + p.v, 0);
    const fitted = forecast(complete, { stepMs: q.stepMs, horizon, level: q.level });
    let actual = 0;
    for (const p of g.points) if (p.t >= bounds.fromMs && p.t < bounds.toMs) actual += p.v;
    const period = { ...bounds, actual, projected: actual, lo: actual, hi: actual };
    const threshold =
      q.threshold === undefined
        ? null
        : {
            value: q.threshold,
            crossesAt: null as number | null,
            lo: null as number | null,
            hi: null as number | null,
          };
    if (threshold && actual >= threshold.value) {
      threshold.crossesAt = threshold.lo = threshold.hi = q.nowMs;
    }
    for (const p of fitted.points) {
      if (p.t >= bounds.toMs) break;
      if (p.t < bounds.fromMs) continue;
      const share = p.t === currentStep ? remaining : 1;
      period.projected += share * p.v;
      period.lo += share * p.lo;
      period.hi += share * p.hi;
      if (threshold) {
        const end = p.t + q.stepMs;
        if (threshold.crossesAt === null && period.projected >= threshold.value) threshold.crossesAt = end;
        if (threshold.lo === null && period.hi >= threshold.value) threshold.lo = end;
        if (threshold.hi === null && period.lo >= threshold.value) threshold.hi = end;
      }
    }
    return {
      group: g.group,
      model: fitted.model,
      backtestMape: fitted.backtestMape,
      intervalSource: fitted.intervalSource,
      history: mergeSteps([...complete, { t: currentStep, v: partial }]),
      points: fitted.points.slice(0, q.horizonSteps),
      period,
      threshold,
    };
  });
  return {
    metric: q.metric,
    groupBy: q.groupBy,
    stepMs: q.stepMs,
    level: q.level,
    generatedAtMs: q.nowMs,
    period: q.period,
    scopes,
    groupsOmitted: ranked.length - kept.length,
    costIsLowerBound: q.metric === 'cost' && unpriced > 0,
  };
}

export interface RateLimit {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export interface CapacityQuery {
  filter: LlmCallFilter;
  nowMs: number;
  /** Whole hours of history fitted on. */
  historyHours: number;
  /** Hours projected. */
  horizonHours: number;
  level: number;
  /** Limits per model name (the `model` dimension). */
  limits: Readonly<Record<string, RateLimit>>;
}

export interface CapacityProjection {
  /** Configured limit per minute; null when none is configured. */
  limitPerMinute: number | null;
  /** Busiest minute of the last 24 hours. */
  observedPeakPerMinute: number;
  /** Highest projected hourly mean rate per minute, with its interval's upper bound, and when. */
  projectedPeakPerMinute: number;
  projectedPeakPerMinuteHi: number;
  projectedPeakAt: number | null;
  /** 1 - projected peak / limit (negative: over the limit); null without a limit. */
  headroom: number | null;
  /** 1 - observed peak minute / limit; null without a limit. */
  observedHeadroom: number | null;
  /** When the projected hourly mean rate reaches the limit (crossesAt), at the earliest (lo) and latest (hi). */
  reachesLimit: { crossesAt: number | null; lo: number | null; hi: number | null } | null;
}

export interface ModelCapacity {
  model: string;
  forecastModel: string;
  requests: CapacityProjection;
  tokens: CapacityProjection;
  /** Hourly projection of requests and tokens per minute (hourly means). */
  points: { t: number; requestsPerMinute: ForecastPoint; tokensPerMinute: ForecastPoint }[];
}

export interface CapacityResponse {
  generatedAtMs: number;
  horizonHours: number;
  level: number;
  models: ModelCapacity[];
}

function projection(
  points: readonly ForecastPoint[],
  observedPeakPerMinute: number,
  limitPerMinute: number | undefined,
): CapacityProjection {
  let peak = 0;
  let peakHi = 0;
  let peakAt: number | null = null;
  const reaches =
    limitPerMinute === undefined
      ? null
      : { crossesAt: null as number | null, lo: null as number | null, hi: null as number | null };
  for (const p of points) {
    const perMinute = p.v / 60;
    if (perMinute > peak || peakAt === null) {
      peak = perMinute;
      peakAt = p.t;
    }
    peakHi = Math.max(peakHi, p.hi / 60);
    if (reaches && limitPerMinute !== undefined) {
      if (reaches.crossesAt === null && perMinute >= limitPerMinute) reaches.crossesAt = p.t;
      if (reaches.lo === null && p.hi / 60 >= limitPerMinute) reaches.lo = p.t;
      if (reaches.hi === null && p.lo / 60 >= limitPerMinute) reaches.hi = p.t;
    }
  }
  return {
    limitPerMinute: limitPerMinute ?? null,
    observedPeakPerMinute,
    projectedPeakPerMinute: peak,
    projectedPeakPerMinuteHi: peakHi,
    projectedPeakAt: peakAt,
    headroom: limitPerMinute === undefined ? null : 1 - peak / limitPerMinute,
    observedHeadroom: limitPerMinute === undefined ? null : 1 - observedPeakPerMinute / limitPerMinute,
    reachesLimit: reaches,
  };
}

export async function forecastCapacity(summarize: Summarize, q: CapacityQuery): Promise<CapacityResponse> {
  const currentHour = Math.floor(q.nowMs / HOUR_MS) * HOUR_MS;
  const [hourly, minutes] = await Promise.all([
    summarize({
      fromMs: currentHour - q.historyHours * HOUR_MS,
      toMs: currentHour,
      filter: q.filter,
      groupBy: ['model'],
      intervalMs: HOUR_MS,
    }),
    summarize({
      fromMs: q.nowMs - 24 * HOUR_MS,
      toMs: q.nowMs + 1,
      filter: q.filter,
      groupBy: ['model'],
      intervalMs: MINUTE_MS,
    }),
  ]);
  const series = new Map<string, { requests: SeriesPoint[]; tokens: SeriesPoint[] }>();
  const seriesOf = (model: string) => {
    let s = series.get(model);
    if (!s) {
      s = { requests: [], tokens: [] };
      series.set(model, s);
    }
    return s;
  };
  for (const row of hourly.rows) {
    const s = seriesOf(row.group.model ?? '');
    s.requests.push({ t: row.bucketStartMs, v: row.requests });
    s.tokens.push({ t: row.bucketStartMs, v: row.totalTokens });
  }
  const peaks = new Map<string, { requests: number; tokens: number }>();
  for (const row of minutes.rows) {
    const model = row.group.model ?? '';
    const p = peaks.get(model) ?? { requests: 0, tokens: 0 };
    p.requests = Math.max(p.requests, row.requests);
    p.tokens = Math.max(p.tokens, row.totalTokens);
    peaks.set(model, p);
  }
  for (const model of Object.keys(q.limits)) seriesOf(model);
  for (const model of peaks.keys()) seriesOf(model);
  const anchor = { t: currentHour - HOUR_MS, v: 0 };
  const models = [...series.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([model, s]): ModelCapacity => {
      const opts = { stepMs: HOUR_MS, horizon: q.horizonHours, level: q.level };
      const requests = forecast([...s.requests, anchor], opts);
      const tokens = forecast([...s.tokens, anchor], opts);
      const limit = q.limits[model] ?? {};
      const peak = peaks.get(model) ?? { requests: 0, tokens: 0 };
      const perMinute = (p: ForecastPoint): ForecastPoint => ({ t: p.t, v: p.v / 60, lo: p.lo / 60, hi: p.hi / 60 });
      return {
        model,
        forecastModel: requests.model,
        requests: projection(requests.points, peak.requests, limit.requestsPerMinute),
        tokens: projection(tokens.points, peak.tokens, limit.tokensPerMinute),
        points: requests.points.map((p, i) => ({
          t: p.t,
          requestsPerMinute: perMinute(p),
          tokensPerMinute: perMinute(tokens.points[i]!),
        })),
      };
    });
  return { generatedAtMs: q.nowMs, horizonHours: q.horizonHours, level: q.level, models };
}
