import {
  type FittedModel,
  fitNaive,
  fitSeasonalNaive,
  fitSmoothing,
  minimumPoints,
  modelName,
  type SmoothingParams,
  type SmoothingSpec,
} from './models.js';

/**
 * Forecasts of a regular series with prediction intervals, and the time until a threshold is
 * crossed. Pure functions: no clock, no I/O.
 *
 * How a model is chosen:
 * - Each candidate is fitted (Nelder-Mead on the one-step sum of squared errors) and scored by a
 *   rolling-origin backtest: refitted on the history up to each of up to four origins, it forecasts
 *   the next `min(horizon, n/3)` points; the candidate with the lowest mean absolute error wins.
 * - Candidates: naive (last value) always; simple exponential smoothing, Holt and damped Holt from
 *   5 points; with a season of `m` points and at least three seasons of history (two to fit, one to
 *   backtest), seasonal naive and Holt-Winters additive and multiplicative, each with a plain and a
 *   damped trend (multiplicative only when every value is > 0).
 * - "Not enough history": 0 points gives model `none` and no points; 1–4 points give the naive
 *   forecast without a backtest (`backtestMape` null); fewer than three seasons gives no seasonal
 *   model.
 * - Intervals: each model's standard deviation per horizon step (the Holt-Winters variance formula
 *   in innovation form; a random walk for naive models) is scaled by the empirical `level`
 *   quantile of |error| / std over the backtest errors (8 or more), else by the normal quantile.
 */

export interface SeriesPoint {
  /** Start of the step, epoch milliseconds. */
  t: number;
  /** The step's value (several points in one step are added). */
  v: number;
}

export interface ForecastOptions {
  /** Step of the series in milliseconds (86_400_000 for daily points). Must be > 0. */
  stepMs: number;
  /** Points to forecast after the last observed step (0–10,000). */
  horizon: number;
  /**
   * Points per season. Default: 7 (weekly) for daily steps, 24 (daily) for hourly steps, 168
   * (weekly) for hourly steps only when asked; none otherwise. 0 or 1 disables seasonal models.
   */
  seasonLength?: number;
  /** Central probability of the prediction interval (default 0.9; between 0.5 and 0.999). */
  level?: number;
  /** Missing steps between the first and last point count as 0 (default) or repeat the previous value. */
  fill?: 'zero' | 'previous';
  /** Clamp forecasts and bounds at 0 (default: when no observed value is negative). */
  nonNegative?: boolean;
}

export interface ForecastPoint {
  t: number;
  v: number;
  lo: number;
  hi: number;
}

export interface CandidateScore {
  model: string;
  /** Mean absolute error over the backtest, in the series' unit. */
  mae: number;
  /** Mean absolute percentage error as a fraction (0.08 = 8%), null when every actual is 0. */
  mape: number | null;
}

export interface ForecastResult {
  model: string;
  points: ForecastPoint[];
  /** The chosen model's backtest MAPE as a fraction (0.08 = 8%); null without a backtest. */
  backtestMape: number | null;
  level: number;
  /** Season length used (0 when none). */
  seasonLength: number;
  /** Points of (gap-filled) history the forecast was fitted on. */
  historyPoints: number;
  /** Where the interval's width came from. */
  intervalSource: 'backtest' | 'model' | 'none';
  params?: SmoothingParams;
  candidates: CandidateScore[];
}

export interface ThresholdOptions extends ForecastOptions {
  threshold: number;
  /** Compare the running total (observed since `cumulativeFrom`, then forecast) with the threshold. */
  cumulative?: boolean;
  /** With `cumulative`: first step counted in the total (default: the first point). */
  cumulativeFrom?: number;
}

export interface ThresholdResult {
  /** First step at which the projection reaches the threshold (at or above), null if not within the horizon. */
  crossesAt: number | null;
  /** Earliest plausible crossing: where the interval's upper bound reaches it. */
  lo: number | null;
  /** Latest plausible crossing: where the interval's lower bound reaches it (null: not within the horizon). */
  hi: number | null;
  forecast: ForecastResult;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
export const MAX_HORIZON = 10_000;
/** Backtest origins at most. */
const MAX_ORIGINS = 4;

export function defaultSeasonLength(stepMs: number): number {
  if (stepMs === DAY_MS) return 7;
  if (stepMs === HOUR_MS) return 24;
  return 0;
}

function validate(opts: ForecastOptions): void {
  if (!(Number.isFinite(opts.stepMs) && opts.stepMs > 0)) throw new RangeError('stepMs must be a positive number');
  if (!(Number.isInteger(opts.horizon) && opts.horizon >= 0 && opts.horizon <= MAX_HORIZON)) {
    throw new RangeError(`horizon must be an integer between 0 and ${MAX_HORIZON}`);
  }
  if (opts.level !== undefined && !(opts.level >= 0.5 && opts.level <= 0.999)) {
    throw new RangeError('level must be between 0.5 and 0.999');
  }
  if (opts.seasonLength !== undefined && !(Number.isInteger(opts.seasonLength) && opts.seasonLength >= 0)) {
    throw new RangeError('seasonLength must be a non-negative integer');
  }
}

/** Puts the points on a regular grid of `stepMs` from the first point; returns the values and the first step. */
export function regularize(
  series: readonly SeriesPoint[],
  stepMs: number,
  fill: 'zero' | 'previous' = 'zero',
): { start: number; values: number[] } {
  const points = series.filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v)).sort((a, b) => a.t - b.t);
  if (points.length === 0) return { start: 0, values: [] };
  const start = points[0]!.t;
  const last = Math.floor((points[points.length - 1]!.t - start) / stepMs);
  const values = new Array<number>(last + 1).fill(Number.NaN);
  for (const p of points) {
    const i = Math.floor((p.t - start) / stepMs);
    values[i] = Number.isNaN(values[i]!) ? p.v : values[i]! + p.v;
  }
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i]!)) values[i] = fill === 'previous' && i > 0 ? values[i - 1]! : 0;
  }
  return { start, values };
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

function quantile(sorted: readonly number[], p: number): number {
  const position = p * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(sorted.length - 1, lower + 1);
  return sorted[lower]! + (position - lower) * (sorted[upper]! - sorted[lower]!);
}

interface Candidate {
  name: string;
  minPoints: number;
  fit(y: readonly number[]): FittedModel | null;
}

function candidatesFor(n: number, seasonLength: number, allPositive: boolean, trainPoints: number): Candidate[] {
  const list: Candidate[] = [{ name: 'naive', minPoints: 1, fit: fitNaive }];
  const smoothing = (spec: SmoothingSpec): Candidate => ({
    name: modelName(spec),
    minPoints: minimumPoints(spec),
    fit: (y) => fitSmoothing(y, spec),
  });
  if (n >= 5) {
    for (const trend of ['none', 'additive', 'damped'] as const) {
      list.push(smoothing({ trend, season: 'none', seasonLength: 0 }));
    }
  }
  const m = seasonLength;
  if (m >= 2 && trainPoints >= 2 * m) {
    list.push({ name: 'seasonal-naive', minPoints: m, fit: (y) => fitSeasonalNaive(y, m) });
    const seasons = allPositive ? (['additive', 'multiplicative'] as const) : (['additive'] as const);
    for (const season of seasons) {
      for (const trend of ['none', 'additive', 'damped'] as const) {
        list.push(smoothing({ trend, season, seasonLength: m }));
      }
    }
  }
  return list;
}

interface BacktestOutcome {
  mae: number;
  mape: number | null;
  /** |error| / predicted std, for interval calibration. */
  standardized: number[];
}

function backtest(
  y: readonly number[],
  candidate: Candidate,
  origins: readonly number[],
  h: number,
): BacktestOutcome | null {
  let absSum = 0;
  let count = 0;
  let apeSum = 0;
  let apeCount = 0;
  const standardized: number[] = [];
  for (const origin of origins) {
    const model = candidate.fit(y.slice(0, origin));
    if (!model) return null;
    const steps = Math.min(h, y.length - origin);
    const { mean, std } = model.predict(steps);
    for (let i = 0; i < steps; i++) {
      const actual = y[origin + i]!;
      const error = Math.abs(actual - mean[i]!);
      if (!Number.isFinite(error)) return null;
      absSum += error;
      count++;
      if (actual !== 0) {
        apeSum += error / Math.abs(actual);
        apeCount++;
      }
      if (std[i]! > 0) standardized.push(error / std[i]!);
    }
  }
  if (count === 0) return null;
  return { mae: absSum / count, mape: apeCount > 0 ? apeSum / apeCount : null, standardized };
}

export function forecast(series: readonly SeriesPoint[], opts: ForecastOptions): ForecastResult {
  validate(opts);
  const level = opts.level ?? 0.9;
  const { start, values: y } = regularize(series, opts.stepMs, opts.fill);
  const n = y.length;
  const requestedSeason = opts.seasonLength ?? defaultSeasonLength(opts.stepMs);
  const seasonLength = requestedSeason >= 2 ? requestedSeason : 0;
  const base = {
    level,
    seasonLength,
    historyPoints: n,
    candidates: [] as CandidateScore[],
  };
  if (n === 0) return { ...base, model: 'none', points: [], backtestMape: null, intervalSource: 'none' };
  const nonNegative = opts.nonNegative ?? y.every((v) => v >= 0);
  const allPositive = y.every((v) => v > 0);
  const lastT = start + (n - 1) * opts.stepMs;

  // Backtest window and origins: the last `h` points, then up to three more origins further back.
  const h = Math.max(1, Math.min(opts.horizon, Math.floor(n / 3)));
  const trainPoints = n - h;
  const candidates = candidatesFor(n, seasonLength, allPositive, trainPoints);
  const needed = Math.max(...candidates.map((c) => c.minPoints));
  const stride = Math.max(1, Math.ceil(h / 2));
  const origins: number[] = [];
  if (n >= 5) {
    for (let k = 0; k < MAX_ORIGINS; k++) {
      const origin = trainPoints - k * stride;
      if (origin < Math.max(needed, 2)) break;
      origins.push(origin);
    }
  }

  let chosen: Candidate = candidates[0]!;
  let chosenOutcome: BacktestOutcome | null = null;
  const scores: CandidateScore[] = [];
  if (origins.length > 0) {
    for (const candidate of candidates) {
      const outcome = backtest(y, candidate, origins, h);
      if (!outcome) continue;
      scores.push({ model: candidate.name, mae: outcome.mae, mape: outcome.mape });
      if (!chosenOutcome || outcome.mae < chosenOutcome.mae) {
        chosen = candidate;
        chosenOutcome = outcome;
      }
    }
  }
  const model = chosen.fit(y) ?? fitNaive(y)!;
  const horizon = opts.horizon;
  const { mean, std } = model.predict(horizon);
  let scale = normalQuantile(0.5 + level / 2);
  let intervalSource: ForecastResult['intervalSource'] = std.some((s) => s > 0) ? 'model' : 'none';
  if (chosenOutcome && chosenOutcome.standardized.length >= 8) {
    const sorted = [...chosenOutcome.standardized].sort((a, b) => a - b);
    scale = quantile(sorted, level);
    intervalSource = 'backtest';
  }
  const clamp = (v: number): number => (nonNegative ? Math.max(0, v) : v);
  const points: ForecastPoint[] = [];
  for (let i = 0; i < horizon; i++) {
    const v = mean[i]!;
    const half = scale * std[i]!;
    points.push({ t: lastT + (i + 1) * opts.stepMs, v: clamp(v), lo: clamp(v - half), hi: clamp(v + half) });
  }
  return {
    ...base,
    model: model.name,
    points,
    backtestMape: chosenOutcome?.mape ?? null,
    intervalSource,
    ...(model.params ? { params: model.params } : {}),
    candidates: scores,
  };
}

/**
 * When the series (or, with `cumulative`, its running total) is projected to reach `threshold`.
 * When the observed history already reached it, all three times are the step where it did.
 * Cumulative bounds add the per-step bounds: they assume errors of one forecast move together,
 * which is how level errors behave, and so give a wide rather than a falsely narrow window.
 */
export function timeToThreshold(series: readonly SeriesPoint[], opts: ThresholdOptions): ThresholdResult {
  if (!Number.isFinite(opts.threshold)) throw new RangeError('threshold must be a finite number');
  const result = forecast(series, opts);
  const { start, values } = regularize(series, opts.stepMs, opts.fill);
  if (opts.cumulative) {
    const from = opts.cumulativeFrom ?? Number.NEGATIVE_INFINITY;
    let total = 0;
    for (let i = 0; i < values.length; i++) {
      const t = start + i * opts.stepMs;
      if (t < from) continue;
      total += values[i]!;
      if (total >= opts.threshold) return { crossesAt: t, lo: t, hi: t, forecast: result };
    }
    let v = total;
    let lo = total;
    let hi = total;
    const crossing: ThresholdResult = { crossesAt: null, lo: null, hi: null, forecast: result };
    for (const p of result.points) {
      v += p.v;
      lo += p.lo;
      hi += p.hi;
      if (crossing.crossesAt === null && v >= opts.threshold) crossing.crossesAt = p.t;
      if (crossing.lo === null && hi >= opts.threshold) crossing.lo = p.t;
      if (crossing.hi === null && lo >= opts.threshold) crossing.hi = p.t;
    }
    return crossing;
  }
  if (values.length > 0 && values[values.length - 1]! >= opts.threshold) {
    const t = start + (values.length - 1) * opts.stepMs;
    return { crossesAt: t, lo: t, hi: t, forecast: result };
  }
  const first = (pick: (p: ForecastPoint) => number): number | null =>
    result.points.find((p) => pick(p) >= opts.threshold)?.t ?? null;
  return { crossesAt: first((p) => p.v), lo: first((p) => p.hi), hi: first((p) => p.lo), forecast: result };
}

export interface PeriodTotalOptions extends Omit<ForecastOptions, 'horizon'> {
  /** First step of the period (epoch ms, inclusive). */
  from: number;
  /** End of the period (epoch ms, exclusive). */
  until: number;
}

export interface PeriodTotal {
  /** Sum of the observed steps inside the period. */
  actual: number;
  /** Observed plus forecast steps up to `until`. */
  projected: number;
  lo: number;
  hi: number;
  forecast: ForecastResult;
}

/**
 * The period's total: observed steps in [from, until) plus forecast steps after the last observed
 * one up to `until`, with the interval as the sum of per-step bounds (see `timeToThreshold`).
 */
export function projectPeriodTotal(series: readonly SeriesPoint[], opts: PeriodTotalOptions): PeriodTotal {
  const points = series.filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v));
  const lastT = points.reduce((max, p) => Math.max(max, p.t), Number.NEGATIVE_INFINITY);
  const remainingSteps = Number.isFinite(lastT) ? Math.max(0, Math.ceil((opts.until - lastT) / opts.stepMs) - 1) : 0;
  const horizon = Math.min(MAX_HORIZON, remainingSteps);
  const result = forecast(points, { ...opts, horizon });
  let actual = 0;
  for (const p of points) if (p.t >= opts.from && p.t < opts.until) actual += p.v;
  let projected = actual;
  let lo = actual;
  let hi = actual;
  for (const p of result.points) {
    if (p.t < opts.from || p.t >= opts.until) continue;
    projected += p.v;
    lo += p.lo;
    hi += p.hi;
  }
  return { actual, projected, lo, hi, forecast: result };
}
