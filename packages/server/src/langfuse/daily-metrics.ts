/**
 * Langfuse's daily metrics (`GET /api/public/metrics/daily`): one entry per UTC day with
 * counts, cost and per-model usage. Built here from the summary query's rows grouped by model
 * with a one-day interval, and read back by the pull connector from a Langfuse instance; both
 * use these types. Shape as in Langfuse's `GetMetricsDailyV1Response`.
 */
import type { SummaryRow } from '@reskpoints/core';

export interface LangfuseDailyUsage {
  model: string | null;
  inputUsage: number;
  outputUsage: number;
  totalUsage: number;
  countObservations: number;
  countTraces: number;
  totalCost: number;
}

export interface LangfuseDailyMetric {
  /** UTC day, YYYY-MM-DD. */
  date: string;
  countTraces: number;
  countObservations: number;
  totalCost: number;
  usage: LangfuseDailyUsage[];
}

export interface LangfuseDailyMetricsPage {
  data: LangfuseDailyMetric[];
  meta: { page: number; limit: number; totalItems: number; totalPages: number };
}

export const DAY_MS = 86_400_000;

export const utcDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * Days, newest first, from summary rows grouped by `model` with `intervalMs` one day.
 * ReskPoints counts calls, not traces: `countTraces` is the number of calls, like
 * `countObservations` (Langfuse counts every observation; here only LLM calls are counted).
 */
export function dailyMetricsFromSummary(rows: SummaryRow[]): LangfuseDailyMetric[] {
  const byDay = new Map<number, LangfuseDailyMetric>();
  for (const r of rows) {
    const day = Math.floor(r.bucketStartMs / DAY_MS) * DAY_MS;
    let d = byDay.get(day);
    if (!d) {
      d = { date: utcDate(day), countTraces: 0, countObservations: 0, totalCost: 0, usage: [] };
      byDay.set(day, d);
    }
    d.countObservations += r.requests;
    d.countTraces += r.requests;
    // Langfuse's shape has no unknown cost: calls without one add nothing (as in Langfuse).
    const cost = r.costUsd ?? 0;
    d.totalCost += cost;
    d.usage.push({
      model: r.group.model ?? null,
      inputUsage: r.inputTokens,
      outputUsage: r.outputTokens,
      totalUsage: r.totalTokens,
      countObservations: r.requests,
      countTraces: r.requests,
      totalCost: cost,
    });
  }
  return [...byDay.entries()].sort((a, b) => b[0] - a[0]).map(([, d]) => d);
}

/** One page of days (1-based `page`), with Langfuse's pagination meta. */
export function pageOfDays(days: LangfuseDailyMetric[], page: number, limit: number): LangfuseDailyMetricsPage {
  const start = (page - 1) * limit;
  return {
    data: days.slice(start, start + limit),
    meta: { page, limit, totalItems: days.length, totalPages: Math.ceil(days.length / limit) },
  };
}
