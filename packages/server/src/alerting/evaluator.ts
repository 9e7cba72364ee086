/**
 * Evaluates rules against the telemetry summary (`TelemetryStore.summarize`): which series of
 * a rule are active now, with their value and rendered annotations. The summary port is
 * passed in, so this file has no adapter.
 */
import type { SummaryDimension, SummaryQuery, SummaryResult, SummaryRow } from '@reskpoints/core';
import type { SignalHub } from '../platform/signals.js';
import type { Labels } from './labels.js';
import { matchesAll, parseMatchers } from './matchers.js';
import type { ActiveSeries } from './rule-state.js';
import { ADDITIVE_METRICS, compare, type Rule, type RuleMetric, renderTemplate } from './rules.js';

export type Summarize = (q: SummaryQuery) => Promise<SummaryResult>;

export function metricValue(row: SummaryRow, metric: RuleMetric, windowMs: number): number | null {
  if (metric === 'requestRatePerSecond') return row.requests / (windowMs / 1000);
  return row[metric];
}

function groupLabels(rule: Rule, row: SummaryRow): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of rule.groupBy) out[d] = row.group[d as SummaryDimension] ?? '';
  return out;
}

function keyOf(rule: Rule, row: SummaryRow): string {
  return JSON.stringify(rule.groupBy.map((d) => row.group[d] ?? ''));
}

function series(rule: Rule, group: Record<string, string>, value: number, threshold?: number): ActiveSeries {
  const labels: Record<string, string> = { ...group, ...rule.labels, alertname: rule.name };
  const annotations: Record<string, string> = {};
  for (const [k, t] of Object.entries(rule.annotations))
    annotations[k] = renderTemplate(t, { value, labels, ...(threshold !== undefined ? { threshold } : {}) });
  return { labels: labels as Labels, annotations, value };
}

/**
 * A `signal` rule's active series: one per active signal of its source whose labels match
 * the rule's matchers and whose value reaches `minValue`. The series carries the signal's
 * labels (plus the rule's and `alertname`) and its annotations, overridden by the rule's.
 */
export async function evaluateSignalRule(rule: Rule, signals: SignalHub, nowMs: number): Promise<ActiveSeries[]> {
  const spec = rule.signal;
  if (!spec) return [];
  const source = signals.source(spec.source);
  if (!source) throw new Error(`no signal source "${spec.source}"`);
  const matchers = parseMatchers(spec.matchers);
  if (!matchers.ok) throw new Error(matchers.error.join('; '));
  const out: ActiveSeries[] = [];
  for (const s of await source.active(nowMs)) {
    if (!matchesAll(matchers.value, s.labels)) continue;
    if (spec.minValue !== undefined && !(s.value >= spec.minValue)) continue;
    const labels: Record<string, string> = { ...s.labels, ...rule.labels, alertname: rule.name };
    const annotations: Record<string, string> = { ...(s.annotations ?? {}) };
    for (const [k, t] of Object.entries(rule.annotations))
      annotations[k] = renderTemplate(t, {
        value: s.value,
        labels,
        ...(spec.minValue !== undefined ? { threshold: spec.minValue } : {}),
      });
    out.push({ labels: labels as Labels, annotations, value: s.value });
  }
  return out;
}

/** The rule's active series at `nowMs` (rules on the telemetry summary). */
export async function evaluateRule(rule: Rule, summarize: Summarize, nowMs: number): Promise<ActiveSeries[]> {
  const metric = rule.metric;
  if (metric === undefined) return [];
  const base = { filter: rule.filter, groupBy: rule.groupBy, intervalMs: null } as const;
  const current = await summarize({ ...base, fromMs: nowMs - rule.window, toMs: nowMs });
  if (rule.threshold) {
    const { op, value: bound } = rule.threshold;
    const out: ActiveSeries[] = [];
    for (const row of current.rows) {
      const v = metricValue(row, metric, rule.window);
      if (v !== null && compare(v, op, bound)) out.push(series(rule, groupLabels(rule, row), v, bound));
    }
    return out;
  }
  if (rule.change) {
    const { op, percent, baseline } = rule.change;
    const before = await summarize({ ...base, fromMs: nowMs - rule.window - baseline, toMs: nowMs - rule.window });
    const baseByKey = new Map(before.rows.map((r) => [keyOf(rule, r), r]));
    const out: ActiveSeries[] = [];
    for (const row of current.rows) {
      const b = baseByKey.get(keyOf(rule, row));
      const v = metricValue(row, metric, rule.window);
      if (!b || v === null) continue;
      let expected = metricValue(b, metric, baseline);
      if (expected === null) continue;
      // An additive metric's baseline is its average per window-long stretch.
      if (ADDITIVE_METRICS.has(metric)) expected = (expected * rule.window) / baseline;
      if (expected === 0) continue;
      const changePercent = ((v - expected) / expected) * 100;
      if (compare(changePercent, op, percent)) out.push(series(rule, groupLabels(rule, row), changePercent, percent));
    }
    return out;
  }
  // Absence: nothing at all (no grouping), or groups seen in the lookback but not now.
  if (rule.groupBy.length === 0) {
    const requests = current.rows.reduce((n, r) => n + r.requests, 0);
    return requests === 0 ? [series(rule, {}, 0)] : [];
  }
  const lookback = rule.absent?.lookback ?? 86_400_000;
  const seen = await summarize({ ...base, fromMs: nowMs - rule.window - lookback, toMs: nowMs - rule.window });
  const now = new Set(current.rows.filter((r) => r.requests > 0).map((r) => keyOf(rule, r)));
  return seen.rows.filter((r) => !now.has(keyOf(rule, r))).map((r) => series(rule, groupLabels(rule, r), 0));
}
