import { type StreamingDetector, spreadFloor, zScore, zToScore } from './detector.js';

/** Exponentially weighted mean and variance; the score is the point's z-score against them. */
export interface EwmaConfig {
  /** Weight of each new point, 0 < alpha < 1 (default 0.05: a memory of about 20 points). */
  alpha: number;
  /** Points learned before the detector scores (default 20). */
  warmupPoints: number;
  /** Band half-width in standard deviations (default 3). */
  bandSigmas: number;
  /** Spread floor relative to the mean's magnitude (default 1e-3). */
  minStdRelative: number;
}

export const EWMA_DEFAULTS: EwmaConfig = { alpha: 0.05, warmupPoints: 20, bandSigmas: 3, minStdRelative: 1e-3 };

export interface EwmaState {
  config: EwmaConfig;
  count: number;
  mean: number;
  variance: number;
}

export class EwmaDetector implements StreamingDetector<EwmaState> {
  readonly kind = 'ewma' as const;
  expected = Number.NaN;
  lower = Number.NaN;
  upper = Number.NaN;
  private readonly config: EwmaConfig;
  private count = 0;
  private mean = 0;
  private variance = 0;

  constructor(config: Partial<EwmaConfig> = {}, state?: EwmaState) {
    this.config = { ...EWMA_DEFAULTS, ...config, ...state?.config };
    if (state !== undefined) {
      this.count = state.count;
      this.mean = state.mean;
      this.variance = state.variance;
    }
  }

  update(_timestampMs: number, value: number): number {
    const c = this.config;
    let score = 0;
    if (this.count >= c.warmupPoints) {
      const std = Math.max(Math.sqrt(this.variance), spreadFloor(this.mean, c.minStdRelative, 1e-12));
      this.expected = this.mean;
      this.lower = this.mean - c.bandSigmas * std;
      this.upper = this.mean + c.bandSigmas * std;
      score = zToScore(zScore(value, this.mean, std));
    } else {
      this.expected = this.lower = this.upper = Number.NaN;
    }
    if (!Number.isFinite(value)) return score;
    this.count++;
    if (this.count === 1) {
      this.mean = value;
      this.variance = 0;
    } else {
      // Warm-up uses plain averaging so the first points are not over-weighted.
      const a = this.count <= c.warmupPoints ? 1 / this.count : c.alpha;
      const diff = value - this.mean;
      const incr = a * diff;
      this.mean += incr;
      this.variance = (1 - a) * (this.variance + diff * incr);
    }
    return score;
  }

  snapshot(): EwmaState {
    return { config: { ...this.config }, count: this.count, mean: this.mean, variance: this.variance };
  }
}
