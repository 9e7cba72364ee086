import { type StreamingDetector, spreadFloor } from './detector.js';

/**
 * Two-sided CUSUM change-point detector on standardised residuals against a slowly adapting
 * baseline. Residuals are clipped so that one spike cannot raise an alarm alone: only a
 * sustained shift does. The score is the larger cumulative sum over the alarm level h (capped
 * at 1); on an alarm the baseline moves to the estimated new level and the sums restart.
 * `changeStartMs` is the estimated start of the current change (when the sum left zero).
 */
export interface CusumConfig {
  /** Points used to learn the first baseline (default 60). */
  warmupPoints: number;
  /** Allowance k in standard deviations: drift smaller than this is ignored (default 0.5). */
  driftSigmas: number;
  /** Alarm level h in standard deviations (default 10). */
  alarmSigmas: number;
  /** Residual clip in standard deviations (default 3). */
  clipSigmas: number;
  /** Weight of a quiet point in the baseline mean and variance (default 0.01). */
  baselineAlpha: number;
  /** Spread floor relative to the baseline's magnitude (default 1e-3). */
  minStdRelative: number;
}

export const CUSUM_DEFAULTS: CusumConfig = {
  warmupPoints: 60,
  driftSigmas: 0.5,
  alarmSigmas: 10,
  clipSigmas: 3,
  baselineAlpha: 0.01,
  minStdRelative: 1e-3,
};

export interface CusumState {
  config: CusumConfig;
  count: number;
  mean: number;
  variance: number;
  upperSum: number;
  lowerSum: number;
  upperRun: number;
  lowerRun: number;
  upperStartMs: number;
  lowerStartMs: number;
  changeStartMs: number;
}

export class CusumDetector implements StreamingDetector<CusumState> {
  readonly kind = 'cusum' as const;
  expected = Number.NaN;
  lower = Number.NaN;
  upper = Number.NaN;
  /** Estimated start of the last detected change (NaN before the first). */
  changeStartMs = Number.NaN;
  private readonly config: CusumConfig;
  private count = 0;
  private mean = 0;
  private variance = 0;
  private upperSum = 0;
  private lowerSum = 0;
  private upperRun = 0;
  private lowerRun = 0;
  private upperStartMs = Number.NaN;
  private lowerStartMs = Number.NaN;

  constructor(config: Partial<CusumConfig> = {}, state?: CusumState) {
    this.config = { ...CUSUM_DEFAULTS, ...config, ...state?.config };
    if (state !== undefined) {
      this.count = state.count;
      this.mean = state.mean;
      this.variance = state.variance;
      this.upperSum = state.upperSum;
      this.lowerSum = state.lowerSum;
      this.upperRun = state.upperRun;
      this.lowerRun = state.lowerRun;
      this.upperStartMs = state.upperStartMs ?? Number.NaN;
      this.lowerStartMs = state.lowerStartMs ?? Number.NaN;
      this.changeStartMs = state.changeStartMs ?? Number.NaN;
    }
  }

  update(timestampMs: number, value: number): number {
    const c = this.config;
    if (!Number.isFinite(value)) return 0;
    // Residuals are clipped before they enter the baseline too, so one spike cannot inflate it.
    if (this.count < c.warmupPoints) {
      this.expected = this.lower = this.upper = Number.NaN;
      this.count++;
      const diff = value - this.mean;
      this.mean += diff / this.count;
      this.variance += (diff * (value - this.mean) - this.variance) / this.count;
      return 0;
    }
    const std = this.std();
    this.expected = this.mean;
    this.lower = this.mean - c.alarmSigmas * std;
    this.upper = this.mean + c.alarmSigmas * std;
    let r = (value - this.mean) / std;
    if (r > c.clipSigmas) r = c.clipSigmas;
    else if (r < -c.clipSigmas) r = -c.clipSigmas;

    const up = this.upperSum + r - c.driftSigmas;
    if (up > 0) {
      if (this.upperSum === 0) this.upperStartMs = timestampMs;
      this.upperSum = up;
      this.upperRun++;
    } else {
      this.upperSum = 0;
      this.upperRun = 0;
    }
    const down = this.lowerSum - r - c.driftSigmas;
    if (down > 0) {
      if (this.lowerSum === 0) this.lowerStartMs = timestampMs;
      this.lowerSum = down;
      this.lowerRun++;
    } else {
      this.lowerSum = 0;
      this.lowerRun = 0;
    }
    const sum = Math.max(this.upperSum, this.lowerSum);
    const score = Math.min(1, sum / c.alarmSigmas);
    if (sum >= c.alarmSigmas) {
      // The CUSUM estimate of the new mean: old mean ± (k + S/run)·σ.
      const upward = this.upperSum >= this.lowerSum;
      const run = upward ? this.upperRun : this.lowerRun;
      const shift = (c.driftSigmas + sum / Math.max(run, 1)) * std;
      this.mean += upward ? shift : -shift;
      this.changeStartMs = upward ? this.upperStartMs : this.lowerStartMs;
      this.upperSum = this.lowerSum = 0;
      this.upperRun = this.lowerRun = 0;
    } else if (sum < c.alarmSigmas / 2) {
      // Learn from every point except those of a growing excursion: learning only from the
      // quietest points would shrink the variance and raise false alarms.
      const a = c.baselineAlpha;
      const diff = r * std;
      this.mean += a * diff;
      this.variance = (1 - a) * (this.variance + a * diff * diff);
    }
    return score;
  }

  private std(): number {
    return Math.max(Math.sqrt(this.variance), spreadFloor(this.mean, this.config.minStdRelative, 1e-12));
  }

  snapshot(): CusumState {
    return {
      config: { ...this.config },
      count: this.count,
      mean: this.mean,
      variance: this.variance,
      upperSum: this.upperSum,
      lowerSum: this.lowerSum,
      upperRun: this.upperRun,
      lowerRun: this.lowerRun,
      upperStartMs: this.upperStartMs,
      lowerStartMs: this.lowerStartMs,
      changeStartMs: this.changeStartMs,
    };
  }
}
