/**
 * The series around an anomaly, for a chart: the buckets of the anomaly's series (a key series:
 * its metric for its project and model; a series named by API: its summary query and group)
 * from `before` buckets before the anomaly's bucket to `after` buckets after it, summarised from
 * the telemetry store.
 */
import type { SummaryDimension, SummaryRow } from '@reskpoints/core';
import type { Anomaly } from './anomaly-repo.js';
import { ADDITIVE_METRICS, KEY_METRICS, type KeyMetric } from './key-series.js';
import type { Summarize, UserSeries } from './user-series.js';

export interface SeriesPoint {
  bucketStartMs: number;
  /** null: the bucket says nothing about the metric (no calls, for a rate or a percentile). */
  value: number | null;
}

export interface AnomalySeries {
  intervalMs: number;
  fromMs: number;
  toMs: number;
  points: SeriesPoint[];
}

const USER_ADDITIVE = new Set(['costUsd', 'requests', 'errors', 'totalTokens', 'inputTokens', 'outputTokens']);

/**
 * The anomaly's series around it, or null when its definition is gone (a series named by API and
 * deleted since).
 */
export async function anomalySeries(
  a: Anomaly,
  o: {
    keyBucketMs: number;
    userSeries: readonly UserSeries[];
    summarize: Summarize;
    before: number;
    after: number;
    /** Buckets starting at or after this are not asked for (not closed yet). */
    nowMs: number;
  },
): Promise<AnomalySeries | null> {
  const isKey =
    a.series === `${a.metric}|${a.projectId}|${a.model}` && (KEY_METRICS as readonly string[]).includes(a.metric);
  let intervalMs: number;
  let groupBy: SummaryDimension[];
  let group: Record<string, string>;
  let filter: Parameters<Summarize>[0]['filter'];
  let additive: boolean;
  if (isKey) {
    intervalMs = o.keyBucketMs;
    groupBy = ['project', 'model'];
    group = { project: a.projectId, model: a.model };
    filter = { projectIds: [a.projectId] };
    additive = ADDITIVE_METRICS.has(a.metric as KeyMetric);
  } else {
    const s = o.userSeries.find((x) => x.name === a.series);
    if (s === undefined) return null;
    intervalMs = s.intervalMs;
    groupBy = s.groupBy;
    group = a.group;
    filter = s.filter;
    additive = USER_ADDITIVE.has(s.metric);
  }
  const at = Math.floor(a.bucketStartMs / intervalMs) * intervalMs;
  const fromMs = at - o.before * intervalMs;
  const toMs = Math.max(
    at + intervalMs,
    Math.min(at + (o.after + 1) * intervalMs, Math.ceil(o.nowMs / intervalMs) * intervalMs),
  );
  const result = await o.summarize({ fromMs, toMs, filter, groupBy, intervalMs });
  const matches = (r: SummaryRow) => groupBy.every((d) => (r.group[d] ?? '') === (group[d] ?? ''));
  const byBucket = new Map<number, SummaryRow>();
  for (const r of result.rows) if (matches(r)) byBucket.set(r.bucketStartMs, r);
  const points: SeriesPoint[] = [];
  for (let t = fromMs; t < toMs; t += intervalMs) {
    const r = byBucket.get(t);
    const v = r === undefined ? undefined : (r as unknown as Record<string, unknown>)[a.metric];
    points.push({ bucketStartMs: t, value: typeof v === 'number' ? v : additive ? 0 : null });
  }
  return { intervalMs, fromMs, toMs, points };
}
