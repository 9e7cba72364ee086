/**
 * Streaming anomaly detectors: each takes one point at a time, keeps bounded state, never looks
 * ahead, and can save its state as a JSON-serialisable snapshot and be rebuilt from it.
 *
 * `update` returns the point's anomaly score in [0, 1], computed from what the detector knew
 * BEFORE the point (then it learns from the point). After `update`, `expected`, `lower` and
 * `upper` describe the baseline the point was judged against (NaN while the detector has no
 * opinion yet). They are fields, not a returned object, so that a detector allocates nothing
 * per point.
 */
export interface StreamingDetector<S = unknown> {
  readonly kind: DetectorKind;
  /** Scores the point at `timestampMs` (epoch ms, non-decreasing) then learns from it. */
  update(timestampMs: number, value: number): number;
  /** Baseline of the last scored point: expected value and the band around it. */
  readonly expected: number;
  readonly lower: number;
  readonly upper: number;
  /** A JSON-serialisable copy of the state; `restore` of it gives an identical detector. */
  snapshot(): S;
}

export type DetectorKind = 'ewma' | 'mad' | 'seasonal' | 'cusum' | 'context';

/**
 * Converts a deviation of `z` standard deviations into a score in [0, 1]: the two-sided normal
 * tail probability p on a log scale, score = −log10(p) / fullScoreLog10 (capped at 1). With the
 * default 12, z = 3 scores 0.20, z = 4 scores 0.35, z = 6 scores 0.72 and z ≥ 7.1 scores 1.
 * The log scale keeps large deviations apart, which a threshold on the raw probability cannot.
 */
export function zToScore(z: number, fullScoreLog10 = 12): number {
  const x = Math.abs(z) / Math.SQRT2;
  if (!(x > 0)) return 0;
  if (!Number.isFinite(x)) return 1;
  const log10p = logErfc(x) / Math.LN10;
  const score = -log10p / fullScoreLog10;
  return score <= 0 ? 0 : Math.min(score, 1);
}

/**
 * Natural log of erfc(x) for x ≥ 0, from the Chebyshev-fitted approximation in Numerical Recipes
 * (fractional error below 1.2e-7), evaluated in log space so that it does not underflow.
 */
export function logErfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - x * x + poly;
}

/** Two-sided deviation score in standard deviations of `value` from `mean`, guarded for zero spread. */
export function zScore(value: number, mean: number, std: number): number {
  if (std > 0) return (value - mean) / std;
  return value === mean ? 0 : Number.POSITIVE_INFINITY;
}

export function clamp01(x: number): number {
  return x <= 0 ? 0 : Math.min(x, 1);
}

/** Smallest spread a detector assumes, relative to the level, so a flat series is not a wall. */
export function spreadFloor(level: number, relative: number, absolute: number): number {
  return Math.max(Math.abs(level) * relative, absolute);
}
