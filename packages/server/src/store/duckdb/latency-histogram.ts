/**
 * Log-scale histogram buckets for latency and time-to-first-token percentiles in rollups.
 *
 * Bucket b holds values in (γ^(b-1), γ^b] and is represented by 2·γ^b/(γ+1), so any value in
 * the bucket is within RELATIVE_ERROR of its representative (the DDSketch construction).
 * With α = 2% a percentile read from the histogram is within 2% of a value of the data at
 * that rank; durations from 1 µs to 24 h need about 630 buckets, which fit a SMALLINT.
 */

export const RELATIVE_ERROR = 0.02;
export const GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR);
const LN_GAMMA = Math.log(GAMMA);
/** Bucket of zero and negative durations (a clock that went backwards). */
export const ZERO_BUCKET = -32768;

export function bucketOf(valueMs: number): number {
  return valueMs <= 0 ? ZERO_BUCKET : Math.ceil(Math.log(valueMs) / LN_GAMMA);
}

export function bucketValue(bucket: number): number {
  return bucket === ZERO_BUCKET ? 0 : (2 * GAMMA ** bucket) / (GAMMA + 1);
}

/** SQL expression for `bucketOf(expr)`; `expr` must not be NULL. */
export function bucketSql(expr: string): string {
  return `CASE WHEN ${expr} <= 0 THEN ${ZERO_BUCKET} ELSE ceil(ln(${expr}) / ${LN_GAMMA})::SMALLINT END`;
}

/** SQL expression for `bucketValue(expr)`. */
export function bucketValueSql(expr: string): string {
  return `CASE WHEN ${expr} = ${ZERO_BUCKET} THEN 0.0 ELSE 2 * pow(${GAMMA}, ${expr}) / ${GAMMA + 1} END`;
}
