/**
 * Pattern statistics over a range: per service and pattern the count, bytes, rate, first and last
 * seen, severity mix, template and examples, whether the pattern is new (first seen in the second
 * half of the range, after the range's first line) and how far the last bucket lies from the
 * earlier ones (rate change), judged by the detection module's robust median/MAD detector. Read by
 * the patterns API, the explain endpoint and the `log-pattern` signal source.
 */

import type { LogSearchQuery, LogSeverity } from '@reskpoints/core';
import { MadDetector } from '../detect/mad.js';
import type { Signal } from '../platform/signals.js';
import type { TelemetryStore } from '../store/ports.js';
import type { PatternService } from './pattern-service.js';

export interface PatternStat {
  projectId: string;
  service: string | null;
  patternId: string | null;
  template: string | null;
  count: number;
  bytes: number;
  ratePerMinute: number;
  firstSeenMs: number;
  lastSeenMs: number;
  severities: Partial<Record<LogSeverity, number>>;
  examples: string[];
  isNew: boolean;
  rateChange: {
    /** Robust z-score of the last bucket: (count − baseline median) / robust standard deviation. */
    zScore: number;
    /** The detector's anomaly score of the last bucket, in [0, 1]. */
    score: number;
    lastBucketCount: number;
    baselineMean: number;
    /** The median of the earlier buckets, and the detector's band (3 robust standard deviations). */
    expected: number;
    lower: number;
    upper: number;
  } | null;
}

/**
 * Scores the last bucket against the earlier ones with the MAD detector fed the buckets in order.
 * Line counts are Poisson-like, so the spread is floored at √median: a flat history does not turn
 * one extra line into a huge score.
 */
export function bucketRateChange(baseline: readonly number[], last: number): NonNullable<PatternStat['rateChange']> {
  const mean = baseline.reduce((s, v) => s + v, 0) / baseline.length;
  const sorted = [...baseline].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const floor = Math.sqrt(Math.max(median, 1));
  const detector = new MadDetector({
    windowPoints: baseline.length,
    warmupPoints: baseline.length,
    minStdRelative: floor / Math.max(median, 1e-9),
  });
  for (let i = 0; i < baseline.length; i++) detector.update(i, baseline[i] as number);
  const score = detector.update(baseline.length, last);
  const std = Math.max((detector.upper - detector.expected) / 3, floor);
  return {
    zScore: (last - detector.expected) / std,
    score,
    lastBucketCount: last,
    baselineMean: mean,
    expected: detector.expected,
    lower: detector.lower,
    upper: detector.upper,
  };
}

export async function computePatternStats(
  telemetry: TelemetryStore,
  patterns: PatternService,
  q: LogSearchQuery,
): Promise<{ fromMs: number; toMs: number; patterns: PatternStat[] }> {
  const counts = await telemetry.logPatternCounts(q);
  const spanMs = q.toMs - q.fromMs;
  const bucketMs = Math.max(60_000, Math.floor(spanMs / 12 / 60_000) * 60_000);
  const rates = await telemetry.logPatternRates(q, bucketMs);
  const series = new Map<string, Map<number, number>>();
  for (const r of rates) {
    const k = `${r.serviceName}\u0000${r.patternId}`;
    const m = series.get(k) ?? new Map<number, number>();
    m.set(r.bucketStartMs, r.count);
    series.set(k, m);
  }
  const firstBucket = Math.floor(q.fromMs / bucketMs) * bucketMs;
  const lastBucket = Math.floor((q.toMs - 1) / bucketMs) * bucketMs;
  const earliest = counts.reduce((m, c) => Math.min(m, c.firstSeenMs), Number.POSITIVE_INFINITY);
  const templates = new Map<string, { template: string; examples: string[] }>();
  const patternsOf = (projectId: string, service: string | null) => {
    const k = `${projectId}\u0000${service ?? ''}`;
    if (!templates.has(`${k}\u0000loaded`)) {
      for (const p of patterns.patterns(projectId, service ?? ''))
        templates.set(`${k}\u0000${p.id}`, { template: p.template, examples: p.examples });
      templates.set(`${k}\u0000loaded`, { template: '', examples: [] });
    }
    return (id: string | null) => (id ? templates.get(`${k}\u0000${id}`) : undefined);
  };
  return {
    fromMs: q.fromMs,
    toMs: q.toMs,
    patterns: counts.map((c) => {
      const meta = patternsOf(c.projectId, c.serviceName)(c.patternId);
      const points = series.get(`${c.serviceName}\u0000${c.patternId}`) ?? new Map<number, number>();
      const values: number[] = [];
      for (let b = firstBucket; b < lastBucket; b += bucketMs) values.push(points.get(b) ?? 0);
      let rateChange: PatternStat['rateChange'] = null;
      if (values.length >= 4) rateChange = bucketRateChange(values, points.get(lastBucket) ?? 0);
      return {
        projectId: c.projectId,
        service: c.serviceName,
        patternId: c.patternId,
        template: meta?.template ?? null,
        count: c.count,
        bytes: c.bytes,
        ratePerMinute: c.count / (spanMs / 60_000),
        firstSeenMs: c.firstSeenMs,
        lastSeenMs: c.lastSeenMs,
        severities: c.severities,
        examples: meta?.examples.length ? meta.examples : [c.example],
        isNew: c.firstSeenMs > earliest && c.firstSeenMs >= q.fromMs + spanMs / 2,
        rateChange,
      };
    }),
  };
}

export interface PatternSignalOptions {
  /** The range read, ms (default one hour): 12 buckets for the rate change. */
  windowMs: number;
  /** |z-score| of the last bucket at or above which a rate change is a signal. */
  zScore: number;
  /** Lines the last bucket (rate rise) or the baseline (rate drop) must hold. */
  minLines: number;
}

/** The `log-pattern` signals of one project: its new patterns and its patterns whose rate changed. */
export async function patternSignals(
  telemetry: TelemetryStore,
  patterns: PatternService,
  projectId: string,
  nowMs: number,
  o: PatternSignalOptions,
): Promise<Signal[]> {
  const q: LogSearchQuery = {
    fromMs: nowMs - o.windowMs,
    toMs: nowMs,
    filter: { projectIds: [projectId] },
    limit: 1000,
  };
  const stats = await computePatternStats(telemetry, patterns, q);
  const out: Signal[] = [];
  for (const p of stats.patterns) {
    if (!p.patternId) continue;
    const labels = { project: projectId, service: p.service ?? '', pattern: p.patternId };
    const template = p.template ?? p.examples[0] ?? '';
    if (p.isNew)
      out.push({
        key: `${projectId}|${p.service ?? ''}|${p.patternId}|new`,
        labels: { ...labels, kind: 'new' },
        value: p.ratePerMinute,
        startsAtMs: p.firstSeenMs,
        projectId,
        annotations: {
          summary: `New log pattern in ${p.service ?? 'a service'}: ${template}`,
          description: `Pattern ${p.patternId} first seen ${new Date(p.firstSeenMs).toISOString()}; ${p.count} lines since (${JSON.stringify(p.severities)}). Example: ${p.examples[0] ?? ''}`,
        },
      });
    const rc = p.rateChange;
    if (
      rc &&
      Math.abs(rc.zScore) >= o.zScore &&
      (rc.zScore > 0 ? rc.lastBucketCount >= o.minLines : rc.baselineMean >= o.minLines)
    )
      out.push({
        key: `${projectId}|${p.service ?? ''}|${p.patternId}|rate`,
        labels: { ...labels, kind: rc.zScore > 0 ? 'rate-rise' : 'rate-drop' },
        value: rc.zScore,
        startsAtMs: Math.floor((nowMs - 1) / (o.windowMs / 12)) * (o.windowMs / 12),
        projectId,
        annotations: {
          summary: `Log pattern ${rc.zScore > 0 ? 'surging' : 'dropping'} in ${p.service ?? 'a service'}: ${template}`,
          description: `Pattern ${p.patternId}: ${rc.lastBucketCount} lines in the last bucket against ${rc.baselineMean.toFixed(1)} on average (z-score ${rc.zScore.toFixed(1)}).`,
          value: String(rc.lastBucketCount),
          expected: rc.baselineMean.toFixed(1),
        },
      });
  }
  return out;
}
