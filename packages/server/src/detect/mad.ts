import { type StreamingDetector, spreadFloor, zScore, zToScore } from './detector.js';

/**
 * Median and median absolute deviation (MAD) over the last `windowPoints` points; the score is
 * the robust z-score 0.6745·(x − median)/MAD. One outlier moves neither statistic, so a spike
 * does not widen the band for the points after it as a mean/variance does.
 */
export interface MadConfig {
  /** Points in the sliding window (default 64). */
  windowPoints: number;
  /** Points needed before the detector scores (default 16). */
  warmupPoints: number;
  /** Band half-width in robust standard deviations (default 3). */
  bandSigmas: number;
  /** Spread floor relative to the median's magnitude (default 1e-3). */
  minStdRelative: number;
}

export const MAD_DEFAULTS: MadConfig = { windowPoints: 64, warmupPoints: 16, bandSigmas: 3, minStdRelative: 1e-3 };

export interface MadState {
  config: MadConfig;
  /** Window contents, oldest first. */
  window: number[];
}

/** MAD of normally distributed data is 0.6745 of its standard deviation. */
const MAD_TO_STD = 1.4826;

export class MadDetector implements StreamingDetector<MadState> {
  readonly kind = 'mad' as const;
  expected = Number.NaN;
  lower = Number.NaN;
  upper = Number.NaN;
  private readonly config: MadConfig;
  /** Ring buffer in arrival order and the same values kept sorted. */
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private head = 0;
  private size = 0;

  constructor(config: Partial<MadConfig> = {}, state?: MadState) {
    this.config = { ...MAD_DEFAULTS, ...config, ...state?.config };
    this.ring = new Float64Array(this.config.windowPoints);
    this.sorted = new Float64Array(this.config.windowPoints);
    for (const v of state?.window ?? []) this.push(v);
  }

  update(_timestampMs: number, value: number): number {
    const c = this.config;
    let score = 0;
    if (this.size >= c.warmupPoints) {
      const median = this.median();
      const std = Math.max(this.mad(median) * MAD_TO_STD, spreadFloor(median, c.minStdRelative, 1e-12));
      this.expected = median;
      this.lower = median - c.bandSigmas * std;
      this.upper = median + c.bandSigmas * std;
      score = zToScore(zScore(value, median, std));
    } else {
      this.expected = this.lower = this.upper = Number.NaN;
    }
    if (Number.isFinite(value)) this.push(value);
    return score;
  }

  snapshot(): MadState {
    const window: number[] = [];
    const cap = this.ring.length;
    const start = (this.head - this.size + cap) % cap;
    for (let i = 0; i < this.size; i++) window.push(this.ring[(start + i) % cap]!);
    return { config: { ...this.config }, window };
  }

  private push(value: number): void {
    const cap = this.ring.length;
    if (this.size === cap) {
      this.removeSorted(this.ring[this.head]!);
      this.size--;
    }
    this.ring[this.head] = value;
    this.head = (this.head + 1) % cap;
    this.insertSorted(value);
    this.size++;
  }

  private insertSorted(value: number): void {
    const s = this.sorted;
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    s.copyWithin(lo + 1, lo, this.size);
    s[lo] = value;
  }

  private removeSorted(value: number): void {
    const s = this.sorted;
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! < value) lo = mid + 1;
      else hi = mid;
    }
    s.copyWithin(lo, lo + 1, this.size);
  }

  private median(): number {
    const n = this.size;
    const s = this.sorted;
    return n % 2 === 1 ? s[n >> 1]! : (s[(n >> 1) - 1]! + s[n >> 1]!) / 2;
  }

  /** Median of |x − median| by merging outward from the middle of the sorted window. */
  private mad(median: number): number {
    const n = this.size;
    const s = this.sorted;
    let left = (n - 1) >> 1;
    let right = left + 1;
    const k = n >> 1; // we need the k-th and, for even n, the (k−1)-th smallest deviation
    let prev = 0;
    let cur = 0;
    for (let i = 0; i <= k; i++) {
      const dl = left >= 0 ? median - s[left]! : Number.POSITIVE_INFINITY;
      const dr = right < n ? s[right]! - median : Number.POSITIVE_INFINITY;
      prev = cur;
      if (dl <= dr) {
        cur = dl;
        left--;
      } else {
        cur = dr;
        right++;
      }
    }
    return n % 2 === 1 ? cur : (prev + cur) / 2;
  }
}
