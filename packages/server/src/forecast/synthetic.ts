import type { SeriesPoint } from './forecast.js';

/**
 * Generated daily cost histories for forecast tests and the backtest benchmark: a level with a
 * linear trend, a weekly profile (weekday traffic above weekend traffic), an optional level shift
 * and multiplicative noise, all from a seeded generator so that every run sees the same series.
 */

export const DAY_MS = 86_400_000;

/** Mulberry32. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number): () => number {
  return () => {
    const u = 1 - random();
    const v = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

export interface CostHistoryOptions {
  seed: number;
  days: number;
  /** Daily spend on day 0 in USD (default 200). */
  startLevelUsd?: number;
  /** Growth of the level per day in USD (default 1.5). */
  trendUsdPerDay?: number;
  /** Multiplier per day of week, Monday first (default weekdays 1.15, weekend 0.6). */
  weeklyProfile?: readonly number[];
  /** Day index from which the level is multiplied by `levelShiftFactor`. */
  levelShiftDay?: number;
  levelShiftFactor?: number;
  /** Standard deviation of the multiplicative noise (default 0.05). */
  noise?: number;
  /** First day, epoch ms at midnight UTC (default 2026-01-05, a Monday). */
  startMs?: number;
}

export const DEFAULT_WEEKLY_PROFILE = [1.15, 1.15, 1.15, 1.15, 1.15, 0.6, 0.6] as const;

/** Returns the noisy series and the same series without noise (the truth a forecast aims at). */
export function costHistory(options: CostHistoryOptions): { series: SeriesPoint[]; clean: SeriesPoint[] } {
  const normal = gaussian(seededRandom(options.seed));
  const startMs = options.startMs ?? Date.UTC(2026, 0, 5);
  const profile = options.weeklyProfile ?? DEFAULT_WEEKLY_PROFILE;
  const series: SeriesPoint[] = [];
  const clean: SeriesPoint[] = [];
  for (let day = 0; day < options.days; day++) {
    let level = (options.startLevelUsd ?? 200) + (options.trendUsdPerDay ?? 1.5) * day;
    if (options.levelShiftDay !== undefined && day >= options.levelShiftDay) level *= options.levelShiftFactor ?? 1.3;
    const t = startMs + day * DAY_MS;
    const weekday = (new Date(t).getUTCDay() + 6) % 7;
    const value = level * profile[weekday]!;
    clean.push({ t, v: value });
    series.push({ t, v: Math.max(0, value * (1 + (options.noise ?? 0.05) * normal())) });
  }
  return { series, clean };
}
