import { nelderMead } from './nelder-mead.js';

/**
 * The forecasting models: exponential smoothing in Holt-Winters form (level, optional additive or
 * damped trend, optional additive or multiplicative season) with parameters fitted by
 * Nelder-Mead on the one-step-ahead sum of squared errors, and two naive references.
 * Everything here is pure arithmetic on a regular series (one value per step, no gaps).
 */

export type TrendKind = 'none' | 'additive' | 'damped';
export type SeasonKind = 'none' | 'additive' | 'multiplicative';

export interface SmoothingSpec {
  trend: TrendKind;
  season: SeasonKind;
  /** Points per season (7 for weekly on daily points, 24 for daily on hourly); ignored without a season. */
  seasonLength: number;
}

export interface SmoothingParams {
  alpha: number;
  beta: number;
  gamma: number;
  phi: number;
}

/** A model fitted to a series: it predicts the next `h` points with a standard deviation for each. */
export interface FittedModel {
  name: string;
  params?: SmoothingParams;
  predict(h: number): { mean: number[]; std: number[] };
}

export function modelName(spec: SmoothingSpec): string {
  if (spec.season === 'none') {
    if (spec.trend === 'none') return 'ses';
    return spec.trend === 'damped' ? 'holt-damped' : 'holt';
  }
  const base = spec.season === 'additive' ? 'hw-additive' : 'hw-multiplicative';
  if (spec.trend === 'none') return `${base}-no-trend`;
  return spec.trend === 'damped' ? `${base}-damped` : base;
}

/** Points a smoothing model needs before it can be fitted: two seasons with a season, else 4. */
export function minimumPoints(spec: SmoothingSpec): number {
  return spec.season === 'none' ? 4 : 2 * spec.seasonLength;
}

interface SmoothingState {
  level: number;
  trend: number;
  seasonals: number[];
}

function mean(values: readonly number[], from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i]!;
  return sum / Math.max(1, to - from);
}

function initialState(y: readonly number[], spec: SmoothingSpec): SmoothingState {
  if (spec.season === 'none') {
    const k = Math.min(4, y.length - 1);
    const trend = spec.trend === 'none' || k < 1 ? 0 : (y[k]! - y[0]!) / k;
    // The state before the first point, so that its one-step forecast is y[0].
    return { level: y[0]! - trend, trend, seasonals: [] };
  }
  const m = spec.seasonLength;
  const first = mean(y, 0, m);
  const second = mean(y, m, 2 * m);
  const trend = spec.trend === 'none' ? 0 : (second - first) / m;
  // Seasonal indices against the first cycle's mean, with the in-cycle trend removed.
  const seasonals: number[] = [];
  for (let i = 0; i < m; i++) {
    const base = first + (i - (m - 1) / 2) * trend;
    const a = y[i]!;
    const b = y[i + m]! - m * trend;
    const observed = (a + b) / 2;
    seasonals.push(spec.season === 'additive' ? observed - base : base > 0 ? observed / base : 1);
  }
  return { level: first - ((m - 1) / 2) * trend, trend, seasonals };
}

/** Runs the recursions over `y`; returns the one-step SSE, the final state and the relative SSE. */
function run(
  y: readonly number[],
  spec: SmoothingSpec,
  p: SmoothingParams,
  init: SmoothingState,
): { sse: number; relativeSse: number; state: SmoothingState } {
  const m = spec.seasonLength;
  const seasonals = [...init.seasonals];
  let level = init.level;
  let trend = init.trend;
  const phi = spec.trend === 'damped' ? p.phi : 1;
  const useTrend = spec.trend !== 'none';
  let sse = 0;
  let relativeSse = 0;
  for (let t = 0; t < y.length; t++) {
    const value = y[t]!;
    const base = level + (useTrend ? phi * trend : 0);
    let forecastValue: number;
    let seasonal = 0;
    if (spec.season === 'none') forecastValue = base;
    else {
      seasonal = seasonals[t % m]!;
      forecastValue = spec.season === 'additive' ? base + seasonal : base * seasonal;
    }
    const error = value - forecastValue;
    sse += error * error;
    if (forecastValue !== 0) relativeSse += (error / forecastValue) ** 2;
    let newLevel: number;
    if (spec.season === 'none') newLevel = p.alpha * value + (1 - p.alpha) * base;
    else if (spec.season === 'additive') newLevel = p.alpha * (value - seasonal) + (1 - p.alpha) * base;
    else newLevel = p.alpha * (seasonal !== 0 ? value / seasonal : value) + (1 - p.alpha) * base;
    if (useTrend) trend = p.beta * (newLevel - level) + (1 - p.beta) * phi * trend;
    if (spec.season === 'additive') seasonals[t % m] = p.gamma * (value - newLevel) + (1 - p.gamma) * seasonal;
    else if (spec.season === 'multiplicative' && newLevel !== 0) {
      seasonals[t % m] = p.gamma * (value / newLevel) + (1 - p.gamma) * seasonal;
    }
    level = newLevel;
  }
  return { sse, relativeSse, state: { level, trend, seasonals } };
}

const logistic = (x: number): number => 1 / (1 + Math.exp(-x));
const logit = (p: number): number => Math.log(p / (1 - p));
const PHI_MIN = 0.8;
const PHI_MAX = 0.98;

function toParams(x: readonly number[], spec: SmoothingSpec): SmoothingParams {
  let i = 0;
  const alpha = 0.001 + 0.998 * logistic(x[i++]!);
  const beta = spec.trend === 'none' ? 0 : 0.001 + 0.998 * logistic(x[i++]!);
  const gamma = spec.season === 'none' ? 0 : 0.001 + 0.998 * logistic(x[i++]!);
  const phi = spec.trend === 'damped' ? PHI_MIN + (PHI_MAX - PHI_MIN) * logistic(x[i++]!) : 1;
  return { alpha, beta, gamma, phi };
}

function startVector(spec: SmoothingSpec): number[] {
  const x = [logit(0.3)];
  if (spec.trend !== 'none') x.push(logit(0.05));
  if (spec.season !== 'none') x.push(logit(0.1));
  if (spec.trend === 'damped') x.push(0);
  return x;
}

/**
 * Fits a smoothing model to `y` (at least `minimumPoints(spec)` points; multiplicative seasons
 * need every value > 0) and returns it, or null when it cannot be fitted.
 */
export function fitSmoothing(y: readonly number[], spec: SmoothingSpec): FittedModel | null {
  if (y.length < minimumPoints(spec)) return null;
  if (spec.season === 'multiplicative' && y.some((v) => !(v > 0))) return null;
  const init = initialState(y, spec);
  const best = nelderMead((x) => run(y, spec, toParams(x, spec), init).sse, startVector(spec), {
    maxEvaluations: 120 * startVector(spec).length,
  });
  const params = toParams(best.x, spec);
  const { sse, relativeSse, state } = run(y, spec, params, init);
  const n = y.length;
  const sigma = Math.sqrt(sse / n);
  const relativeSigma = Math.sqrt(relativeSse / n);
  const m = spec.seasonLength;
  const phi = params.phi;
  return {
    name: modelName(spec),
    params,
    predict(h: number) {
      const means: number[] = [];
      const stds: number[] = [];
      let dampedSum = 0;
      let phiPower = 1;
      let varianceFactor = 1;
      for (let step = 1; step <= h; step++) {
        phiPower *= phi;
        dampedSum += phiPower;
        const base = state.level + (spec.trend === 'none' ? 0 : dampedSum * state.trend);
        const slot = (n + step - 1) % m;
        const value =
          spec.season === 'none'
            ? base
            : spec.season === 'additive'
              ? base + state.seasonals[slot]!
              : base * state.seasonals[slot]!;
        means.push(value);
        // Innovation-form variance growth: 1 + sum over j < h of c_j^2 with
        // c_j = alpha + alpha*beta*(phi + ... + phi^j) + gamma*(1 - alpha) when j is a whole season.
        stds.push(
          spec.season === 'multiplicative'
            ? Math.abs(value) * relativeSigma * Math.sqrt(varianceFactor)
            : sigma * Math.sqrt(varianceFactor),
        );
        const c =
          params.alpha +
          (spec.trend === 'none' ? 0 : params.alpha * params.beta * dampedSum) +
          (spec.season !== 'none' && step % m === 0 ? params.gamma * (1 - params.alpha) : 0);
        varianceFactor += c * c;
      }
      return { mean: means, std: stds };
    },
  };
}

/** Repeats the last value; its error grows as a random walk's. */
export function fitNaive(y: readonly number[]): FittedModel | null {
  if (y.length === 0) return null;
  const last = y[y.length - 1]!;
  let sse = 0;
  for (let i = 1; i < y.length; i++) sse += (y[i]! - y[i - 1]!) ** 2;
  const sigma = y.length > 1 ? Math.sqrt(sse / (y.length - 1)) : 0;
  return {
    name: 'naive',
    predict(h: number) {
      const means: number[] = [];
      const stds: number[] = [];
      for (let step = 1; step <= h; step++) {
        means.push(last);
        stds.push(sigma * Math.sqrt(step));
      }
      return { mean: means, std: stds };
    },
  };
}

/** Repeats the last full season (at least one season of history). */
export function fitSeasonalNaive(y: readonly number[], seasonLength: number): FittedModel | null {
  const m = seasonLength;
  if (m < 2 || y.length < m) return null;
  let sse = 0;
  for (let i = m; i < y.length; i++) sse += (y[i]! - y[i - m]!) ** 2;
  const sigma = y.length > m ? Math.sqrt(sse / (y.length - m)) : 0;
  const n = y.length;
  return {
    name: 'seasonal-naive',
    predict(h: number) {
      const means: number[] = [];
      const stds: number[] = [];
      for (let step = 1; step <= h; step++) {
        means.push(y[n - m + ((step - 1) % m)]!);
        stds.push(sigma * Math.sqrt(Math.ceil(step / m)));
      }
      return { mean: means, std: stds };
    },
  };
}
