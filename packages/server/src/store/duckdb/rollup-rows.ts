/**
 * Partial rollup rows computed in memory from the calls of one append: one row per
 * (series, hour) with counts and sums, and one per (series, period, metric, bucket) with a
 * histogram count. Readers sum partial rows, so appending them is enough; compaction later
 * merges rows of the same key.
 */
import { addCallCost, type CostSums, emptyCostSums, type LlmCall } from '@reskpoints/core';
import type { Column } from './columnar-append.js';
import { bucketOf } from './latency-histogram.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export interface RollupRow extends CostSums {
  seriesId: number;
  hourMs: number;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
}

/** metric 0 = latency, 1 = time to first token. */
export interface HistogramRow {
  seriesId: number;
  periodMs: number;
  metric: number;
  bucket: number;
  n: number;
}

export const ROLLUP_COLUMNS: readonly Column<RollupRow>[] = [
  { name: 'series_id', kind: 'integer', get: (r) => r.seriesId },
  { name: 'hour_ms', kind: 'bigint', get: (r) => r.hourMs },
  { name: 'requests', kind: 'bigint', get: (r) => r.requests },
  { name: 'errors', kind: 'bigint', get: (r) => r.errors },
  { name: 'input_tokens', kind: 'bigint', get: (r) => r.inputTokens },
  { name: 'output_tokens', kind: 'bigint', get: (r) => r.outputTokens },
  { name: 'cache_read_tokens', kind: 'bigint', get: (r) => r.cacheReadTokens },
  { name: 'cache_write_tokens', kind: 'bigint', get: (r) => r.cacheWriteTokens },
  { name: 'reasoning_tokens', kind: 'bigint', get: (r) => r.reasoningTokens },
  { name: 'total_tokens', kind: 'bigint', get: (r) => r.totalTokens },
  { name: 'cost_usd', kind: 'double', get: (r) => r.costUsd },
  { name: 'unpriced_requests', kind: 'bigint', get: (r) => r.unpricedRequests },
  // Schema version 5, in ROLLUP_COST_COLUMNS order.
  { name: 'input_cost_usd', kind: 'double', get: (r) => r.inputCostUsd },
  { name: 'output_cost_usd', kind: 'double', get: (r) => r.outputCostUsd },
  { name: 'cache_read_cost_usd', kind: 'double', get: (r) => r.cacheReadCostUsd },
  { name: 'cache_write_cost_usd', kind: 'double', get: (r) => r.cacheWriteCostUsd },
  { name: 'reasoning_cost_usd', kind: 'double', get: (r) => r.reasoningCostUsd },
  { name: 'request_cost_usd', kind: 'double', get: (r) => r.requestCostUsd },
  { name: 'priced_tokens', kind: 'bigint', get: (r) => r.pricedTokens },
  { name: 'reported_cost_usd', kind: 'double', get: (r) => r.reportedCostUsd },
  { name: 'reported_requests', kind: 'bigint', get: (r) => r.reportedCostRequests },
  { name: 'reported_mismatches', kind: 'bigint', get: (r) => r.reportedCostMismatches },
  { name: 'estimated_requests', kind: 'bigint', get: (r) => r.estimatedRequests },
];

export const HISTOGRAM_COLUMNS: readonly Column<HistogramRow>[] = [
  { name: 'series_id', kind: 'integer', get: (r) => r.seriesId },
  { name: 'period_ms', kind: 'bigint', get: (r) => r.periodMs },
  { name: 'metric', kind: 'utinyint', get: (r) => r.metric },
  { name: 'bucket', kind: 'smallint', get: (r) => r.bucket },
  { name: 'n', kind: 'bigint', get: (r) => r.n },
];

export interface BatchRollups {
  rollups: RollupRow[];
  hourly: HistogramRow[];
  daily: HistogramRow[];
  /** Hours and days the batch touched, for compaction bookkeeping. */
  hours: Set<number>;
  days: Set<number>;
}

const HOUR_INDEX_LIMIT = 2 ** 21;

/** `seriesIds[i]` is the series of `calls[i]`. */
export function rollupsOf(calls: readonly LlmCall[], seriesIds: Int32Array): BatchRollups {
  // Numeric keys: (series, hour) as seriesId * 2^21 + hour index (exact while seriesId < 2^32),
  // (metric, bucket) as metric * 2^16 + bucket + 2^15.
  const rollups = new Map<number, RollupRow>();
  const hourly = new Map<number, Map<number, HistogramRow>>();
  const daily = new Map<number, Map<number, HistogramRow>>();
  const hours = new Set<number>();
  const days = new Set<number>();
  const count = (
    map: Map<number, Map<number, HistogramRow>>,
    periodKey: number,
    seriesId: number,
    periodMs: number,
    metric: number,
    bucket: number,
  ) => {
    let inner = map.get(periodKey);
    if (!inner) {
      inner = new Map();
      map.set(periodKey, inner);
    }
    const key = metric * 65536 + bucket + 32768;
    const row = inner.get(key);
    if (row) row.n++;
    else inner.set(key, { seriesId, periodMs, metric, bucket, n: 1 });
  };
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i]!;
    const seriesId = seriesIds[i]!;
    const hourIndex = Math.floor(c.startTimeMs / HOUR_MS);
    const hourMs = hourIndex * HOUR_MS;
    const hourKey = seriesId * HOUR_INDEX_LIMIT + (hourIndex % HOUR_INDEX_LIMIT);
    hours.add(hourMs);
    let r = rollups.get(hourKey);
    if (!r) {
      r = {
        seriesId,
        hourMs,
        requests: 0,
        errors: 0,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        totalTokens: 0,
        ...emptyCostSums(),
      };
      rollups.set(hourKey, r);
    }
    r.requests++;
    if (c.status === 'error') r.errors++;
    const u = c.usage;
    r.inputTokens += u.inputTokens;
    r.outputTokens += u.outputTokens;
    r.cacheReadTokens += u.cacheReadTokens;
    r.cacheWriteTokens += u.cacheWriteTokens;
    r.reasoningTokens += u.reasoningTokens;
    r.totalTokens += u.totalTokens;
    addCallCost(r, c);
    const latencyBucket = bucketOf(c.latencyMs);
    count(hourly, hourKey, seriesId, hourMs, 0, latencyBucket);
    if (c.ttftMs !== null) {
      const ttftBucket = bucketOf(c.ttftMs);
      count(hourly, hourKey, seriesId, hourMs, 1, ttftBucket);
    }
  }
  // Daily rows from the hourly ones: far fewer rows than calls to go through.
  const hourlyRows: HistogramRow[] = [];
  for (const inner of hourly.values()) {
    let dayKey = -1;
    let dayMs = 0;
    let seriesId = 0;
    for (const [key, row] of inner) {
      if (dayKey < 0) {
        seriesId = row.seriesId;
        const dayIndex = Math.floor(row.periodMs / DAY_MS);
        dayMs = dayIndex * DAY_MS;
        dayKey = seriesId * HOUR_INDEX_LIMIT + (dayIndex % HOUR_INDEX_LIMIT);
        days.add(dayMs);
      }
      hourlyRows.push(row);
      let day = daily.get(dayKey);
      if (!day) {
        day = new Map();
        daily.set(dayKey, day);
      }
      const d = day.get(key);
      if (d) d.n += row.n;
      else day.set(key, { seriesId, periodMs: dayMs, metric: row.metric, bucket: row.bucket, n: row.n });
    }
  }
  const dailyRows: HistogramRow[] = [];
  for (const inner of daily.values()) for (const row of inner.values()) dailyRows.push(row);
  return { rollups: [...rollups.values()], hourly: hourlyRows, daily: dailyRows, hours, days };
}
