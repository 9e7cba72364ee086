/**
 * Constructed series for detector tests and benchmarks: a seeded random source and the
 * standard scenarios (spike, level shift, trend change, seasonal break, variance change, clean
 * noise). Every scenario is the same clean base series up to `onsetIndex`.
 */

/** Mulberry32: a small seeded generator, so that every run sees the same series. */
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

export type ScenarioName = 'clean' | 'spike' | 'levelShift' | 'trendChange' | 'seasonalBreak' | 'varianceChange';

export const SCENARIOS: readonly ScenarioName[] = [
  'clean',
  'spike',
  'levelShift',
  'trendChange',
  'seasonalBreak',
  'varianceChange',
];

export interface Series {
  timestampsMs: number[];
  values: number[];
  /** First anomalous point (the series length for `clean`). */
  onsetIndex: number;
}

export interface ScenarioOptions {
  points: number;
  onsetIndex: number;
  stepMs: number;
  /** Daily amplitude of the base series in noise standard deviations (0: no seasonality). */
  dailyAmplitude: number;
  seed: number;
}

const DEFAULTS: ScenarioOptions = {
  points: 3000,
  onsetIndex: 2400,
  stepMs: 3_600_000,
  dailyAmplitude: 0,
  seed: 7,
};

const BASE_LEVEL = 100;
const NOISE_STD = 2;
const DAY_MS = 86_400_000;

/** A scenario on a base of level 100 with Gaussian noise of standard deviation 2. */
export function scenario(name: ScenarioName, options: Partial<ScenarioOptions> = {}): Series {
  const o = { ...DEFAULTS, ...options };
  const noise = gaussian(seededRandom(o.seed));
  const start = Date.UTC(2026, 0, 5);
  const timestampsMs: number[] = [];
  const values: number[] = [];
  const onset = name === 'clean' ? o.points : o.onsetIndex;
  for (let i = 0; i < o.points; i++) {
    const t = start + i * o.stepMs;
    const phase = (2 * Math.PI * (t % DAY_MS)) / DAY_MS;
    const after = i >= onset;
    let seasonal = o.dailyAmplitude * NOISE_STD * Math.sin(phase);
    if (name === 'seasonalBreak' && after) seasonal = -seasonal; // the daily pattern flips
    let v = BASE_LEVEL + seasonal + noise() * (name === 'varianceChange' && after ? 6 * NOISE_STD : NOISE_STD);
    if (name === 'spike' && i === onset) v += 15 * NOISE_STD;
    if (name === 'levelShift' && after) v += 6 * NOISE_STD;
    if (name === 'trendChange' && after) v += 0.5 * NOISE_STD * (i - onset + 1);
    timestampsMs.push(t);
    values.push(v);
  }
  return { timestampsMs, values, onsetIndex: onset };
}
