import { describe, expect, it } from 'vitest';
import {
  forecast,
  normalQuantile,
  projectPeriodTotal,
  regularize,
  type SeriesPoint,
  timeToThreshold,
} from './forecast.js';
import { costHistory, DAY_MS, gaussian, seededRandom } from './synthetic.js';

const HOUR_MS = 3_600_000;

function mape(actual: readonly SeriesPoint[], predicted: readonly { v: number }[]): number {
  let sum = 0;
  for (let i = 0; i < actual.length; i++) sum += Math.abs(actual[i]!.v - predicted[i]!.v) / Math.abs(actual[i]!.v);
  return sum / actual.length;
}

function coverage(actual: readonly SeriesPoint[], predicted: readonly { lo: number; hi: number }[]): number {
  let inside = 0;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i]!.v >= predicted[i]!.lo && actual[i]!.v <= predicted[i]!.hi) inside++;
  }
  return inside / actual.length;
}

describe('forecast', () => {
  it('follows an additive weekly season with a trend on daily points', () => {
    const normal = gaussian(seededRandom(7));
    const profile = [20, 25, 22, 18, 15, -40, -60];
    const all: SeriesPoint[] = [];
    const truth: SeriesPoint[] = [];
    const start = Date.UTC(2026, 0, 5);
    for (let day = 0; day < 112; day++) {
      const v = 300 + 2 * day + profile[day % 7]!;
      truth.push({ t: start + day * DAY_MS, v });
      all.push({ t: start + day * DAY_MS, v: v + 4 * normal() });
    }
    const history = all.slice(0, 84);
    const result = forecast(history, { stepMs: DAY_MS, horizon: 28 });
    expect(result.model).toMatch(/^hw-/);
    expect(result.seasonLength).toBe(7);
    expect(result.points).toHaveLength(28);
    expect(result.points[0]!.t).toBe(history[83]!.t + DAY_MS);
    expect(mape(truth.slice(84), result.points)).toBeLessThan(0.04);
    expect(result.backtestMape).not.toBeNull();
    expect(result.backtestMape!).toBeLessThan(0.05);
    expect(result.intervalSource).toBe('backtest');
    expect(coverage(all.slice(84), result.points)).toBeGreaterThanOrEqual(0.75);
    for (const p of result.points) {
      expect(p.lo).toBeLessThanOrEqual(p.v);
      expect(p.hi).toBeGreaterThanOrEqual(p.v);
    }
    // The interval widens with the horizon.
    const first = result.points[0]!;
    const last = result.points[27]!;
    expect(last.hi - last.lo).toBeGreaterThan(first.hi - first.lo);
  });

  it('follows a multiplicative season whose amplitude grows with the level', () => {
    const normal = gaussian(seededRandom(11));
    const profile = [1.3, 1.25, 1.2, 1.2, 1.1, 0.5, 0.45];
    const all: SeriesPoint[] = [];
    const start = Date.UTC(2026, 0, 5);
    for (let day = 0; day < 126; day++) {
      all.push({ t: start + day * DAY_MS, v: (50 + 4 * day) * profile[day % 7]! * (1 + 0.02 * normal()) });
    }
    const result = forecast(all.slice(0, 98), { stepMs: DAY_MS, horizon: 28 });
    expect(result.model).toMatch(/^hw-multiplicative/);
    const additive = result.candidates.find((c) => c.model === 'hw-additive')!;
    const chosen = result.candidates.find((c) => c.model === result.model)!;
    expect(chosen.mae).toBeLessThan(additive.mae);
    expect(mape(all.slice(98), result.points)).toBeLessThan(0.08);
  });

  it('moves to the new level after a level shift', () => {
    const normal = gaussian(seededRandom(3));
    const start = Date.UTC(2026, 0, 5);
    const series: SeriesPoint[] = [];
    for (let day = 0; day < 70; day++) {
      series.push({ t: start + day * DAY_MS, v: (day < 49 ? 100 : 160) + (day % 7 >= 5 ? -30 : 0) + 2 * normal() });
    }
    const result = forecast(series, { stepMs: DAY_MS, horizon: 14 });
    const weekdays = result.points.filter((p) => {
      const weekday = (new Date(p.t).getUTCDay() + 6) % 7;
      return weekday < 5;
    });
    for (const p of weekdays) {
      expect(p.v).toBeGreaterThan(145);
      expect(p.v).toBeLessThan(180);
    }
  });

  it('meets 85% accuracy over 30 days on a generated cost history with a level shift', () => {
    const { series, clean } = costHistory({ seed: 42, days: 120, levelShiftDay: 70, levelShiftFactor: 1.3 });
    const result = forecast(series.slice(0, 90), { stepMs: DAY_MS, horizon: 30 });
    expect(mape(clean.slice(90), result.points)).toBeLessThan(0.15);
    expect(coverage(series.slice(90), result.points)).toBeGreaterThan(0.6);
  });

  it('uses the daily season on hourly points', () => {
    const normal = gaussian(seededRandom(5));
    const start = Date.UTC(2026, 0, 5);
    const series: SeriesPoint[] = [];
    for (let hour = 0; hour < 24 * 14; hour++) {
      series.push({ t: start + hour * HOUR_MS, v: 1000 + 600 * Math.sin((2 * Math.PI * hour) / 24) + 20 * normal() });
    }
    const result = forecast(series.slice(0, 24 * 12), { stepMs: HOUR_MS, horizon: 48 });
    expect(result.seasonLength).toBe(24);
    expect(result.model).toMatch(/^hw-|seasonal-naive/);
    expect(mape(series.slice(24 * 12), result.points)).toBeLessThan(0.06);
  });

  it('says what too little history gives', () => {
    const start = Date.UTC(2026, 0, 5);
    const empty = forecast([], { stepMs: DAY_MS, horizon: 5 });
    expect(empty).toMatchObject({ model: 'none', points: [], backtestMape: null, intervalSource: 'none' });

    const three = forecast(
      [10, 12, 11].map((v, i) => ({ t: start + i * DAY_MS, v })),
      { stepMs: DAY_MS, horizon: 4 },
    );
    expect(three.model).toBe('naive');
    expect(three.backtestMape).toBeNull();
    expect(three.points.map((p) => p.v)).toEqual([11, 11, 11, 11]);
    expect(three.points[3]!.t).toBe(start + 6 * DAY_MS);

    // Two weeks of daily points: too short for a weekly season (three seasons needed).
    const twoWeeks = forecast(
      Array.from({ length: 14 }, (_, i) => ({ t: start + i * DAY_MS, v: 100 + (i % 7) * 5 })),
      { stepMs: DAY_MS, horizon: 7 },
    );
    expect(twoWeeks.candidates.some((c) => c.model.startsWith('hw-'))).toBe(false);
    expect(twoWeeks.backtestMape).not.toBeNull();
    const threeWeeks = forecast(
      Array.from({ length: 21 }, (_, i) => ({ t: start + i * DAY_MS, v: 100 + (i % 7) * 5 })),
      { stepMs: DAY_MS, horizon: 7 },
    );
    expect(threeWeeks.candidates.some((c) => c.model.startsWith('hw-'))).toBe(true);
  });

  it('fills missing steps with zero and never projects below zero for non-negative series', () => {
    const start = Date.UTC(2026, 0, 5);
    const { values } = regularize(
      [
        { t: start, v: 5 },
        { t: start + 3 * DAY_MS, v: 2 },
        { t: start + 3 * DAY_MS + 10, v: 1 },
      ],
      DAY_MS,
    );
    expect(values).toEqual([5, 0, 0, 3]);
    const falling = Array.from({ length: 30 }, (_, i) => ({ t: start + i * DAY_MS, v: Math.max(0, 100 - 4 * i) }));
    const result = forecast(falling, { stepMs: DAY_MS, horizon: 20, seasonLength: 0 });
    for (const p of result.points) expect(p.lo).toBeGreaterThanOrEqual(0);
  });

  it('rejects bad options', () => {
    expect(() => forecast([], { stepMs: 0, horizon: 1 })).toThrow(/stepMs/);
    expect(() => forecast([], { stepMs: DAY_MS, horizon: 1.5 })).toThrow(/horizon/);
    expect(() => forecast([], { stepMs: DAY_MS, horizon: 1, level: 1.2 })).toThrow(/level/);
  });

  it('has a normal quantile that matches known values', () => {
    expect(normalQuantile(0.95)).toBeCloseTo(1.6449, 3);
    expect(normalQuantile(0.975)).toBeCloseTo(1.96, 3);
    expect(normalQuantile(0.005)).toBeCloseTo(-2.5758, 3);
  });
});

describe('timeToThreshold', () => {
  const start = Date.UTC(2026, 0, 5);
  const linear = Array.from({ length: 30 }, (_, i) => ({ t: start + i * DAY_MS, v: 10 + i }));

  it('finds the step a rising series reaches the threshold, inside its window', () => {
    const result = timeToThreshold(linear, { stepMs: DAY_MS, horizon: 30, threshold: 49.5, seasonLength: 0 });
    // 10 + i passes 49.5 at i = 40, ten days after the last point (i = 29).
    expect(result.crossesAt).toBe(start + 40 * DAY_MS);
    expect(result.lo).not.toBeNull();
    expect(result.lo!).toBeLessThanOrEqual(result.crossesAt!);
    if (result.hi !== null) expect(result.hi).toBeGreaterThanOrEqual(result.crossesAt!);
  });

  it('answers null when the threshold is out of reach within the horizon', () => {
    const flat = Array.from({ length: 30 }, (_, i) => ({ t: start + i * DAY_MS, v: 10 + (i % 2) }));
    const result = timeToThreshold(flat, { stepMs: DAY_MS, horizon: 10, threshold: 1000, seasonLength: 0 });
    expect(result).toMatchObject({ crossesAt: null, lo: null, hi: null });
  });

  it('projects a running total (budget style) and reports a crossing already in the history', () => {
    const daily = Array.from({ length: 40 }, (_, i) => ({ t: start + i * DAY_MS, v: 100 }));
    // From day 30: 10 observed days = 1000; 2000 is reached after 10 more days, on day 49.
    const ahead = timeToThreshold(daily, {
      stepMs: DAY_MS,
      horizon: 30,
      threshold: 2000,
      cumulative: true,
      cumulativeFrom: start + 30 * DAY_MS,
    });
    expect(ahead.crossesAt).toBe(start + 49 * DAY_MS);
    const already = timeToThreshold(daily, { stepMs: DAY_MS, horizon: 30, threshold: 450, cumulative: true });
    expect(already).toMatchObject({ crossesAt: start + 4 * DAY_MS, lo: start + 4 * DAY_MS, hi: start + 4 * DAY_MS });
  });
});

describe('projectPeriodTotal', () => {
  it('adds observed and forecast steps up to the period end', () => {
    const start = Date.UTC(2026, 2, 1);
    const series = Array.from({ length: 40 }, (_, i) => ({ t: start - 28 * DAY_MS + i * DAY_MS, v: 10 }));
    // 12 days of March observed (1st–12th), 19 days forecast at ~10.
    const total = projectPeriodTotal(series, { stepMs: DAY_MS, from: start, until: Date.UTC(2026, 3, 1) });
    expect(total.actual).toBe(120);
    expect(total.forecast.points).toHaveLength(19);
    expect(total.projected).toBeCloseTo(310, 0);
    expect(total.lo).toBeLessThanOrEqual(total.projected);
    expect(total.hi).toBeGreaterThanOrEqual(total.projected);
  });
});
