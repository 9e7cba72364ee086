/**
 * The key series the server watches, per project and model, built from committed LLM calls in
 * fixed event-time buckets: cost, tokens, requests, error rate, latency p95 and time to first
 * token p95. Pure functions over plain JSON aggregates, so that open buckets can be stored in
 * the state database between passes.
 */
import type { LlmCall } from '@reskpoints/core';

export const KEY_METRICS = ['costUsd', 'totalTokens', 'requests', 'errorRate', 'latencyP95Ms', 'ttftP95Ms'] as const;
export type KeyMetric = (typeof KEY_METRICS)[number];

/** Metrics that are sums: a bucket without calls is a 0, not a gap. */
export const ADDITIVE_METRICS: ReadonlySet<KeyMetric> = new Set(['costUsd', 'totalTokens', 'requests']);

/** Latency samples kept per bucket: the ones with the smallest id hashes, a uniform sample. */
export const SAMPLE_CAP = 256;

export interface BucketAggregate {
  requests: number;
  errors: number;
  costUsd: number;
  totalTokens: number;
  /** [id hash, value] samples, at most SAMPLE_CAP, sorted by hash. */
  latencies: [number, number][];
  ttfts: [number, number][];
}

export function emptyAggregate(): BucketAggregate {
  return { requests: 0, errors: 0, costUsd: 0, totalTokens: 0, latencies: [], ttfts: [] };
}

function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function addSample(samples: [number, number][], hash: number, value: number): void {
  if (samples.length >= SAMPLE_CAP && hash >= samples[samples.length - 1]![0]) return;
  let i = samples.length;
  while (i > 0 && samples[i - 1]![0] > hash) i--;
  samples.splice(i, 0, [hash, value]);
  if (samples.length > SAMPLE_CAP) samples.pop();
}

export function addCall(agg: BucketAggregate, call: LlmCall): void {
  agg.requests++;
  if (call.status === 'error') agg.errors++;
  agg.costUsd += call.cost.totalUsd ?? 0;
  agg.totalTokens += call.usage.totalTokens;
  const h = hash32(call.id);
  addSample(agg.latencies, h, call.latencyMs);
  if (call.ttftMs !== null) addSample(agg.ttfts, h, call.ttftMs);
}

function p95(samples: [number, number][]): number | null {
  if (samples.length === 0) return null;
  const values = samples.map((s) => s[1]).sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.ceil(0.95 * values.length) - 1)]!;
}

/** The metric's value for a closed bucket, or null when the bucket says nothing about it. */
export function metricValue(agg: BucketAggregate, metric: KeyMetric): number | null {
  switch (metric) {
    case 'costUsd':
      return agg.costUsd;
    case 'totalTokens':
      return agg.totalTokens;
    case 'requests':
      return agg.requests;
    case 'errorRate':
      return agg.requests > 0 ? agg.errors / agg.requests : null;
    case 'latencyP95Ms':
      return p95(agg.latencies);
    case 'ttftP95Ms':
      return p95(agg.ttfts);
  }
}

export function seriesKey(metric: KeyMetric, projectId: string, model: string): string {
  return `${metric}|${projectId}|${model}`;
}
