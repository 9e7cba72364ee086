/**
 * Forecast accuracy by backtest: MAPE and prediction-interval coverage of the forecast module
 * (model chosen by its own backtest, 90% intervals) on
 * - generated daily cost histories (weekly seasonality, trend, multiplicative noise, with and
 *   without a level shift in the history), forecast 30 days ahead from 120 days of history;
 * - NAB series with a daily or weekly rhythm, read from ../shared/bench-data/nab: series with
 *   at least 45 days are forecast 30 days ahead in daily steps (weekly season); the others
 *   (two weeks or more) one day and seven days ahead in hourly steps (daily season). A series
 *   counts as rhythmic when the autocorrelation of its history at the season lag is at least
 *   0.3 (decided on the history only, never on what is forecast).
 *
 *   npm run bench:forecast            [--dir /path/to/NAB] [--seeds 20]
 *
 * MAPE is the mean of |actual - forecast| / |actual| over the forecast steps whose actual is
 * not 0, per origin, then averaged; coverage is the share of actual steps inside [lo, hi].
 * Each series is forecast from several origins (rolling origin): the last one ends with the data.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { forecast, type SeriesPoint } from '../packages/server/src/forecast/forecast.js';
import { costHistory } from '../packages/server/src/forecast/synthetic.js';
import { loadNabCorpus, nabCorpusPresent } from '../packages/server/src/nab/corpus.js';

const { values: args } = parseArgs({ options: { dir: { type: 'string' }, seeds: { type: 'string' } } });
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nabDir = args.dir ?? join(repoRoot, '..', 'shared', 'bench-data', 'nab');
const SEEDS = Number(args.seeds ?? 20);
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const LEVEL = 0.9;

interface Score {
  mape: number;
  covered: number;
  points: number;
}

/** Forecasts `horizon` steps after `history` and scores them against `actual`. */
function backtest(history: SeriesPoint[], actual: SeriesPoint[], stepMs: number): Score & { model: string } {
  const result = forecast(history, { stepMs, horizon: actual.length, level: LEVEL });
  let ape = 0;
  let n = 0;
  let covered = 0;
  actual.forEach((a, i) => {
    const p = result.points[i];
    if (!p) return;
    if (a.v >= p.lo && a.v <= p.hi) covered++;
    if (a.v !== 0) {
      ape += Math.abs(a.v - p.v) / Math.abs(a.v);
      n++;
    }
  });
  return { mape: n > 0 ? ape / n : Number.NaN, covered, points: actual.length, model: result.model };
}

function summarize(scores: Score[]): { mape: number; median: number; coverage: number } {
  const mapes = scores
    .map((s) => s.mape)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const mean = mapes.reduce((s, x) => s + x, 0) / mapes.length;
  const mid = mapes.length / 2;
  const median =
    mapes.length % 2 === 1 ? (mapes[Math.floor(mid)] as number) : ((mapes[mid - 1] ?? NaN) + (mapes[mid] ?? NaN)) / 2;
  const covered = scores.reduce((s, x) => s + x.covered, 0);
  const points = scores.reduce((s, x) => s + x.points, 0);
  return { mape: mean, median, coverage: covered / points };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const started = performance.now();

// ---- Generated cost histories -------------------------------------------------------------
const HISTORY_DAYS = 120;
const HORIZON_DAYS = 30;
const scenarios: { name: string; shiftDaysBeforeOrigin?: number; factor?: number; trend?: number }[] = [
  { name: 'weekly season + trend' },
  { name: 'weekly season + trend + level shift x1.3, 42 days before the origin', shiftDaysBeforeOrigin: 42 },
  { name: 'weekly season + trend + level shift x1.3, 21 days before the origin', shiftDaysBeforeOrigin: 21 },
  {
    name: 'weekly season + trend + level shift x0.7, 21 days before the origin',
    shiftDaysBeforeOrigin: 21,
    factor: 0.7,
  },
  {
    name: 'weekly season + steep trend (+2%/day) + level shift x1.3, 28 days before',
    shiftDaysBeforeOrigin: 28,
    trend: 4,
  },
];
const allGenerated: Score[] = [];
for (const s of scenarios) {
  const scores: (Score & { model: string })[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { series } = costHistory({
      seed,
      days: HISTORY_DAYS + HORIZON_DAYS,
      ...(s.trend !== undefined ? { trendUsdPerDay: s.trend } : {}),
      ...(s.shiftDaysBeforeOrigin !== undefined
        ? { levelShiftDay: HISTORY_DAYS - s.shiftDaysBeforeOrigin, levelShiftFactor: s.factor ?? 1.3 }
        : {}),
    });
    scores.push(backtest(series.slice(0, HISTORY_DAYS), series.slice(HISTORY_DAYS), DAY_MS));
  }
  allGenerated.push(...scores);
  const sum = summarize(scores);
  const models = new Map<string, number>();
  for (const x of scores) models.set(x.model, (models.get(x.model) ?? 0) + 1);
  const chosen = [...models.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([m, n]) => `${m} ${n}`)
    .join(', ');
  console.log(
    `generated, ${s.name}: ${SEEDS} histories, 30-day horizon: MAPE ${pct(sum.mape)} (median ${pct(sum.median)}, target <= 15%), ${LEVEL * 100}% interval coverage ${pct(sum.coverage)}; models chosen: ${chosen}`,
  );
}
{
  const sum = summarize(allGenerated);
  console.log(
    `generated, all scenarios: ${allGenerated.length} histories, 30-day horizon: MAPE ${pct(sum.mape)} (accuracy ${pct(1 - sum.mape)}), ${LEVEL * 100}% interval coverage ${pct(sum.coverage)}`,
  );
}

// ---- NAB ----------------------------------------------------------------------------------
/** Mean value per step (steps without data are left out and filled by the forecaster). */
function resample(ts: Float64Array, vs: Float64Array, stepMs: number): SeriesPoint[] {
  const sums = new Map<number, { s: number; n: number }>();
  for (let i = 0; i < ts.length; i++) {
    const t = Math.floor((ts[i] as number) / stepMs) * stepMs;
    const e = sums.get(t) ?? { s: 0, n: 0 };
    e.s += vs[i] as number;
    e.n++;
    sums.set(t, e);
  }
  const out = [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([t, e]) => ({ t, v: e.s / e.n }));
  // Partial first and last steps are dropped.
  return out.slice(1, -1);
}

/** Fills missing steps with the previous value, so lags are in steps. */
function regular(points: SeriesPoint[], stepMs: number): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (const p of points) {
    const last = out.at(-1);
    if (last) for (let t = last.t + stepMs; t < p.t; t += stepMs) out.push({ t, v: last.v });
    out.push(p);
  }
  return out;
}

function autocorrelation(values: number[], lag: number): number {
  const n = values.length;
  if (n <= lag + 2) return 0;
  const mean = values.reduce((s, x) => s + x, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    den += d * d;
    if (i >= lag) num += d * ((values[i - lag] as number) - mean);
  }
  return den === 0 ? 0 : num / den;
}

interface NabRun {
  label: string;
  stepMs: number;
  season: number;
  horizon: number;
  origins: number;
  minSteps: number;
}

const RUNS: NabRun[] = [
  { label: 'daily steps, 30 days ahead', stepMs: DAY_MS, season: 7, horizon: 30, origins: 3, minSteps: 21 + 30 },
  { label: 'hourly steps, 1 day ahead', stepMs: HOUR_MS, season: 24, horizon: 24, origins: 4, minSteps: 72 + 24 * 4 },
  {
    label: 'hourly steps, 7 days ahead',
    stepMs: HOUR_MS,
    season: 24,
    horizon: 168,
    origins: 2,
    minSteps: 72 + 168 + 24,
  },
];

if (!nabCorpusPresent(nabDir)) {
  console.log(`NAB: data not found in ${nabDir} (pass --dir); NAB figures skipped`);
} else {
  const corpus = loadNabCorpus(nabDir).filter((s) => s.name.startsWith('real'));
  for (const run of RUNS) {
    const perSeries: { name: string; score: Score; acf: number }[] = [];
    let considered = 0;
    for (const s of corpus) {
      const series = regular(resample(s.timestampsMs, s.values, run.stepMs), run.stepMs);
      // Daily steps only for series long enough; hourly runs only for those too short for daily steps.
      if (series.length < run.minSteps) continue;
      if (run.stepMs === HOUR_MS && series.length >= (21 + 30) * 24) continue;
      considered++;
      const firstOrigin = series.length - run.horizon - (run.origins - 1) * Math.max(1, Math.floor(run.horizon / 2));
      const history = series.slice(0, firstOrigin);
      const acf = autocorrelation(
        history.map((p) => p.v),
        run.season,
      );
      if (acf < 0.3) continue;
      const scores: Score[] = [];
      for (let k = 0; k < run.origins; k++) {
        const origin = firstOrigin + k * Math.max(1, Math.floor(run.horizon / 2));
        if (origin - run.season * 3 < 0) continue;
        scores.push(backtest(series.slice(0, origin), series.slice(origin, origin + run.horizon), run.stepMs));
      }
      perSeries.push({ name: s.name, score: aggregate(scores), acf });
    }
    if (perSeries.length === 0) {
      console.log(`NAB, ${run.label}: no rhythmic series among ${considered} long enough`);
      continue;
    }
    for (const p of perSeries)
      console.log(
        `NAB, ${run.label}, ${p.name} (autocorrelation ${p.acf.toFixed(2)}): MAPE ${pct(p.score.mape)}, coverage ${pct(p.score.covered / p.score.points)}`,
      );
    const sum = summarize(perSeries.map((p) => p.score));
    console.log(
      `NAB, ${run.label}: ${perSeries.length} rhythmic series of ${considered}: MAPE mean ${pct(sum.mape)}, median ${pct(sum.median)}, ${LEVEL * 100}% interval coverage ${pct(sum.coverage)}`,
    );
  }
}

function aggregate(scores: Score[]): Score {
  const finite = scores.filter((s) => Number.isFinite(s.mape));
  return {
    mape: finite.reduce((s, x) => s + x.mape, 0) / Math.max(1, finite.length),
    covered: scores.reduce((s, x) => s + x.covered, 0),
    points: scores.reduce((s, x) => s + x.points, 0),
  };
}

console.log(`bench:forecast run time ${((performance.now() - started) / 1000).toFixed(1)} s`);
