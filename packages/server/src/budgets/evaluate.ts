/**
 * One budget's state at an instant, from committed telemetry: spend of the current period, the
 * projected period total (the forecast module's models fitted on the budget's scope), burn rates
 * over windows against the even rate, and which thresholds hold. Reads through the summary query
 * it is given; writes nothing (the evaluator persists).
 *
 * Forecasts use local days of the budget's time zone as steps (hours for periods of two days or
 * less), fitted on `forecastHistoryDays` of history; the fit changes only when a step completes,
 * so it is cached per budget and step and each evaluation adds only the spend so far.
 */
import type { SummaryQuery, SummaryResult } from '@reskpoints/core';
import { forecast, type SeriesPoint } from '../forecast/forecast.js';
import { type Budget, parseWindow, scopeFilter, type Threshold, targetUsd } from './definition.js';
import { DAY_MS, dayAlignedBucketMs, HOUR_MS, localDays, type Period, periodAt } from './periods.js';

export type Summarize = (q: SummaryQuery) => Promise<SummaryResult>;

/** Burn-rate windows shown for every budget, besides those its thresholds name. */
export const STATUS_BURN_WINDOWS_MS = [HOUR_MS, 6 * HOUR_MS];

export interface ForecastStatus {
  /** Projected period total, USD, with the bounds of its prediction interval (90%). */
  projectedUsd: number;
  loUsd: number;
  hiUsd: number;
  /** When the projection reaches the amount (null: not before the period ends; spend already there: when evaluated). */
  crossesAtMs: number | null;
  /** Forecasting model chosen by backtest, e.g. hw-additive. */
  model: string;
  backtestMape: number | null;
  step: 'day' | 'hour';
}

export interface BurnRateStatus {
  windowMs: number;
  spendUsd: number;
  /** Spend rate over the window as a multiple of the even rate (amount / period length). */
  rate: number;
}

export interface ThresholdStatus {
  id: string;
  kind: Threshold['kind'];
  /** USD the threshold stands for (null for burn rates). */
  targetUsd: number | null;
  /** Its condition holds now: spend reached it, the projection reaches it, or both windows burn faster. */
  active: boolean;
  /** When this period's event was recorded (null: not crossed in this period). */
  crossedAtMs: number | null;
}

export interface BudgetStatus {
  evaluatedAtMs: number;
  state: 'active' | 'not-started' | 'disabled';
  periodStartMs: number | null;
  periodEndMs: number | null;
  spendUsd: number;
  amountUsd: number;
  /** spend / amount × 100. */
  percentUsed: number;
  /** Calls in the period without a price: their cost is unknown, so spend is a lower bound. */
  unpricedCalls: number;
  /** Even rate: the amount spread over the period, USD per hour. */
  evenRateUsdPerHour: number;
  forecast: ForecastStatus | null;
  burnRates: BurnRateStatus[];
  thresholds: ThresholdStatus[];
}

/** A threshold whose condition holds, with what its event would say. */
export interface Crossing {
  threshold: Threshold;
  targetUsd: number | null;
  message: string;
  projectedUsd?: number;
  crossesAtMs?: number;
  burnRate?: number;
  shortBurnRate?: number;
  windowMs?: number;
  shortWindowMs?: number;
}

export interface Evaluation {
  status: BudgetStatus;
  period: Period | null;
  /** Thresholds whose event is due: recorded unless this period has one already. */
  crossings: Crossing[];
}

/** Fitted forecasts per budget and step, so an evaluation refits only when a step completes. */
export class ForecastCache {
  private readonly entries = new Map<
    string,
    { key: string; steps: FittedStep[]; model: string; mape: number | null }
  >();

  get(budgetId: string, key: string) {
    const e = this.entries.get(budgetId);
    return e && e.key === key ? e : null;
  }

  set(budgetId: string, key: string, value: { steps: FittedStep[]; model: string; mape: number | null }): void {
    this.entries.set(budgetId, { key, ...value });
  }

  delete(budgetId: string): void {
    this.entries.delete(budgetId);
  }
}

interface FittedStep {
  startMs: number;
  endMs: number;
  v: number;
  lo: number;
  hi: number;
}

export interface EvaluateOptions {
  summarize: Summarize;
  nowMs: number;
  forecastHistoryDays: number;
  cache: ForecastCache;
}

const usd = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

function sumCost(r: SummaryResult): { costUsd: number; unpriced: number } {
  let costUsd = 0;
  let unpriced = 0;
  for (const row of r.rows) {
    costUsd += row.costUsd ?? 0;
    unpriced += row.unpricedRequests;
  }
  return { costUsd, unpriced };
}

/** Burn-rate windows a budget needs: its thresholds' long and short windows and the status ones. */
function burnWindows(b: Budget): number[] {
  const out = new Set(STATUS_BURN_WINDOWS_MS);
  for (const t of b.thresholds) {
    if (t.kind !== 'burn-rate') continue;
    const w = parseWindow(t.window) as number;
    out.add(w);
    out.add(shortWindowMs(t, w));
  }
  return [...out].sort((a, b) => a - b);
}

function shortWindowMs(t: Extract<Threshold, { kind: 'burn-rate' }>, windowMs: number): number {
  return t.shortWindow !== undefined ? (parseWindow(t.shortWindow) as number) : Math.max(60_000, windowMs / 12);
}

/** Spend over each window ending now, from one summary of one-minute (or ten-minute) buckets. */
async function windowSpend(b: Budget, windows: readonly number[], o: EvaluateOptions): Promise<Map<number, number>> {
  const maxW = Math.max(...windows);
  const bucketMs = maxW <= DAY_MS ? 60_000 : 600_000;
  const fromMs = Math.floor((o.nowMs - maxW) / bucketMs) * bucketMs;
  const r = await o.summarize({
    fromMs,
    toMs: o.nowMs + 1,
    filter: scopeFilter(b.scope),
    groupBy: [],
    intervalMs: bucketMs,
  });
  const out = new Map<number, number>();
  for (const w of windows) {
    const from = o.nowMs - w;
    let sum = 0;
    for (const row of r.rows) {
      const cost = row.costUsd ?? 0;
      // The current bucket holds data up to now only; the one at the window's start counts for
      // the part inside the window (spend taken as even within a bucket).
      const dataEnd = Math.min(row.bucketStartMs + bucketMs, o.nowMs);
      const span = dataEnd - row.bucketStartMs;
      if (span <= 0) {
        if (row.bucketStartMs >= from) sum += cost;
        continue;
      }
      const overlap = dataEnd - Math.max(row.bucketStartMs, from);
      if (overlap > 0) sum += (cost * overlap) / span;
    }
    out.set(w, sum);
  }
  return out;
}

/** Steps of the forecast: local days, or UTC hours for short periods. */
function stepsOf(period: Period, timeZone: string, fromMs: number, toMs: number): Period[] {
  if (period.endMs - period.startMs <= 2 * DAY_MS) {
    const out: Period[] = [];
    for (let t = Math.floor(fromMs / HOUR_MS) * HOUR_MS; t < toMs; t += HOUR_MS)
      out.push({ startMs: t, endMs: t + HOUR_MS });
    return out;
  }
  return localDays(fromMs, toMs, timeZone);
}

async function fitForecast(
  b: Budget,
  period: Period,
  o: EvaluateOptions,
): Promise<{ steps: FittedStep[]; model: string; mape: number | null; step: 'day' | 'hour' }> {
  const hourly = period.endMs - period.startMs <= 2 * DAY_MS;
  const step: 'day' | 'hour' = hourly ? 'hour' : 'day';
  const historyDays = hourly ? Math.min(14, o.forecastHistoryDays) : o.forecastHistoryDays;
  const current = stepsOf(period, b.timeZone, o.nowMs, o.nowMs + 1)[0] as Period;
  const key = `${b.updatedAtMs}|${current.startMs}`;
  const cached = o.cache.get(b.id, key);
  if (cached) return { ...cached, step };

  const history = stepsOf(period, b.timeZone, current.startMs - historyDays * DAY_MS, current.startMs);
  const future = stepsOf(period, b.timeZone, current.startMs, period.endMs);
  const fromMs = history[0]?.startMs ?? current.startMs;
  const bucketMs = hourly ? HOUR_MS : dayAlignedBucketMs(fromMs, current.startMs, b.timeZone);
  const r = await o.summarize({
    fromMs,
    toMs: current.startMs,
    filter: scopeFilter(b.scope),
    groupBy: [],
    intervalMs: bucketMs,
  });
  // Buckets into steps (both sorted; a bucket never straddles a step boundary).
  const values = new Array<number>(history.length).fill(0);
  const seen = new Array<boolean>(history.length).fill(false);
  let i = 0;
  for (const row of [...r.rows].sort((a, c) => a.bucketStartMs - c.bucketStartMs)) {
    while (i < history.length && (history[i] as Period).endMs <= row.bucketStartMs) i++;
    if (i >= history.length) break;
    values[i] = (values[i] as number) + (row.costUsd ?? 0);
    seen[i] = true;
  }
  // A regular grid for the models (local days vary in length; their order is what counts).
  const stepMs = hourly ? HOUR_MS : DAY_MS;
  const series: SeriesPoint[] = [];
  values.forEach((v, k) => {
    if (seen[k] || k === values.length - 1) series.push({ t: k * stepMs, v });
  });
  const fitted = forecast(series, { stepMs, horizon: future.length, level: 0.9 });
  const steps = future.map((s, k) => {
    const p = fitted.points[k];
    return { ...s, v: p?.v ?? 0, lo: p?.lo ?? 0, hi: p?.hi ?? 0 };
  });
  const out = { steps, model: fitted.model, mape: fitted.backtestMape };
  o.cache.set(b.id, key, out);
  return { ...out, step };
}

/** The running total projected from `spendUsd` now over the rest of the period, and when it reaches `target`. */
function project(
  steps: readonly FittedStep[],
  spendUsd: number,
  nowMs: number,
  periodEndMs: number,
  target: number,
): { projected: number; lo: number; hi: number; crossesAtMs: number | null } {
  let projected = spendUsd;
  let lo = spendUsd;
  let hi = spendUsd;
  let crossesAtMs: number | null = spendUsd >= target ? nowMs : null;
  for (const s of steps) {
    const a = Math.max(s.startMs, nowMs);
    const b = Math.min(s.endMs, periodEndMs);
    if (b <= a) continue;
    const share = (b - a) / (s.endMs - s.startMs);
    const add = share * s.v;
    if (crossesAtMs === null && add > 0 && projected + add >= target)
      crossesAtMs = Math.round(a + ((target - projected) / add) * (b - a));
    projected += add;
    lo += share * s.lo;
    hi += share * s.hi;
  }
  return { projected, lo, hi, crossesAtMs };
}

export async function evaluateBudget(b: Budget, o: EvaluateOptions): Promise<Evaluation> {
  const base = {
    evaluatedAtMs: o.nowMs,
    amountUsd: b.amountUsd,
    spendUsd: 0,
    percentUsed: 0,
    unpricedCalls: 0,
    evenRateUsdPerHour: 0,
    forecast: null,
    burnRates: [],
    thresholds: b.thresholds.map((t) => ({
      id: t.id,
      kind: t.kind,
      targetUsd: targetUsd(t, b.amountUsd),
      active: false,
      crossedAtMs: null,
    })),
  };
  const period = b.enabled ? periodAt(b.period, b.timeZone, o.nowMs) : null;
  if (!period) {
    const state = b.enabled ? 'not-started' : 'disabled';
    return { status: { ...base, state, periodStartMs: null, periodEndMs: null }, period: null, crossings: [] };
  }

  const [spent, windows, fc] = await Promise.all([
    o
      .summarize({
        fromMs: period.startMs,
        toMs: period.endMs,
        filter: scopeFilter(b.scope),
        groupBy: [],
        intervalMs: null,
      })
      .then(sumCost),
    windowSpend(b, burnWindows(b), o),
    fitForecast(b, period, o),
  ]);
  const spendUsd = spent.costUsd;
  const percentUsed = (spendUsd / b.amountUsd) * 100;
  const evenRatePerMs = b.amountUsd / (period.endMs - period.startMs);
  const rateOf = (w: number) => (windows.get(w) ?? 0) / w / evenRatePerMs;
  const full = project(fc.steps, spendUsd, o.nowMs, period.endMs, b.amountUsd);

  const crossings: Crossing[] = [];
  const thresholds: ThresholdStatus[] = [];
  const pct = (n: number) => `${Number(n.toFixed(1))}%`;
  for (const t of b.thresholds) {
    const target = targetUsd(t, b.amountUsd);
    let active = false;
    let crossing: Crossing | null = null;
    if (t.kind === 'percent' || t.kind === 'absolute') {
      active = spendUsd >= (target as number);
      if (active)
        crossing = {
          threshold: t,
          targetUsd: target,
          message: `spend reached ${t.kind === 'percent' ? `${pct(t.percent)} of the budget` : usd(target as number)} (${usd(spendUsd)} of ${usd(b.amountUsd)})`,
        };
    } else if (t.kind === 'forecast') {
      const p = project(fc.steps, spendUsd, o.nowMs, period.endMs, target as number);
      active = p.crossesAtMs !== null && p.crossesAtMs < period.endMs;
      // A warning comes before the crossing: once spend is there, the amount thresholds speak.
      const within =
        t.withinDays === undefined || (p.crossesAtMs ?? Number.POSITIVE_INFINITY) - o.nowMs <= t.withinDays * DAY_MS;
      if (active && spendUsd < (target as number) && within)
        crossing = {
          threshold: t,
          targetUsd: target,
          projectedUsd: p.projected,
          crossesAtMs: p.crossesAtMs as number,
          message: `projected to reach ${pct(t.percent)} of the budget (${usd(target as number)}) by ${new Date(p.crossesAtMs as number).toLocaleDateString('en-US', { timeZone: b.timeZone, month: 'short', day: 'numeric' })}; period-end projection ${usd(p.projected)}`,
        };
    } else {
      const w = parseWindow(t.window) as number;
      const sw = shortWindowMs(t, w);
      const long = rateOf(w);
      const short = rateOf(sw);
      active = long > t.rate && short > t.rate;
      if (active)
        crossing = {
          threshold: t,
          targetUsd: null,
          burnRate: long,
          shortBurnRate: short,
          windowMs: w,
          shortWindowMs: sw,
          message: `burning ${Number(long.toFixed(1))}× the even rate over ${t.window} (${Number(short.toFixed(1))}× over ${t.shortWindow ?? `${sw / 60_000}m`}), above ${t.rate}×`,
        };
    }
    thresholds.push({ id: t.id, kind: t.kind, targetUsd: target, active, crossedAtMs: null });
    if (crossing) crossings.push(crossing);
  }

  return {
    period,
    crossings,
    status: {
      ...base,
      state: 'active',
      periodStartMs: period.startMs,
      periodEndMs: period.endMs,
      spendUsd,
      percentUsed,
      unpricedCalls: spent.unpriced,
      evenRateUsdPerHour: evenRatePerMs * HOUR_MS,
      forecast: {
        projectedUsd: full.projected,
        loUsd: full.lo,
        hiUsd: full.hi,
        crossesAtMs: full.crossesAtMs !== null && full.crossesAtMs < period.endMs ? full.crossesAtMs : null,
        model: fc.model,
        backtestMape: fc.mape,
        step: fc.step,
      },
      burnRates: STATUS_BURN_WINDOWS_MS.concat(
        b.thresholds.flatMap((t) => (t.kind === 'burn-rate' ? [parseWindow(t.window) as number] : [])),
      )
        .filter((w, i, a) => a.indexOf(w) === i)
        .sort((x, y) => x - y)
        .map((w) => ({ windowMs: w, spendUsd: windows.get(w) ?? 0, rate: rateOf(w) })),
      thresholds,
    },
  };
}
