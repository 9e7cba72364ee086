/**
 * Cost questions answered from the telemetry store's summaries: breakdowns by any dimension,
 * period-over-period change with its attribution, the top cost drivers and rolling daily
 * averages. Pure functions over the `TelemetryStore` port (both stores answer them alike);
 * money is USD. Summaries come from rollups when the range is whole hours and the dimensions
 * are series dimensions, so these stay fast on months of data.
 */
import {
  type CostSummary,
  type CostSums,
  costSummary,
  emptyCostSums,
  type LlmCallFilter,
  mergeCostSums,
  type SummaryDimension,
  type SummaryRow,
} from '@reskpoints/core';
import type { TelemetryStore } from '../store/ports.js';

export const DAY_MS = 86_400_000;

/** The cost sums of a summary row (the raw sums behind its `CostSummary`). */
export function sumsOf(row: SummaryRow): CostSums {
  const sums = emptyCostSums();
  for (const k of Object.keys(sums) as Array<keyof CostSums>) sums[k] = (row[k] as number | null) ?? 0;
  return sums;
}

export interface CostTotals extends CostSummary {
  requests: number;
  totalTokens: number;
}

function totalsOf(rows: readonly SummaryRow[]): CostTotals {
  const sums = emptyCostSums();
  let requests = 0;
  let totalTokens = 0;
  for (const r of rows) {
    mergeCostSums(sums, sumsOf(r));
    requests += r.requests;
    totalTokens += r.totalTokens;
  }
  return { requests, totalTokens, ...costSummary(sums, requests) };
}

export interface CostQuery {
  fromMs: number;
  toMs: number;
  filter: LlmCallFilter;
}

export interface BreakdownRow extends CostSummary {
  group: Partial<Record<SummaryDimension, string | null>>;
  requests: number;
  totalTokens: number;
  /** This group's share of the total computed cost (0..1); null when nothing was priced. */
  shareOfCost: number | null;
}

export interface CostBreakdown {
  by: SummaryDimension[];
  total: CostTotals;
  /** Every group, most expensive first; they sum to `total`. */
  rows: BreakdownRow[];
}

/** Cost by the given dimensions over a range; the rows add up to the total. */
export async function costBreakdown(
  store: TelemetryStore,
  q: CostQuery & { by: SummaryDimension[] },
): Promise<CostBreakdown> {
  const res = await store.summarize({ ...q, groupBy: q.by, intervalMs: null });
  const total = totalsOf(res.rows);
  const rows = res.rows
    .map(
      (r): BreakdownRow => ({
        group: r.group,
        requests: r.requests,
        totalTokens: r.totalTokens,
        ...costSummary(sumsOf(r), r.requests),
        shareOfCost: total.costUsd ? (r.costUsd ?? 0) / total.costUsd : null,
      }),
    )
    .sort(byCostThenGroup(q.by));
  return { by: q.by, total, rows };
}

function byCostThenGroup(by: SummaryDimension[]) {
  const key = (r: { group: BreakdownRow['group'] }) => JSON.stringify(by.map((d) => r.group[d] ?? null));
  return (a: BreakdownRow, b: BreakdownRow) =>
    (b.costUsd ?? 0) - (a.costUsd ?? 0) || b.requests - a.requests || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

export interface Attribution {
  group: Partial<Record<SummaryDimension, string | null>>;
  previousCostUsd: number;
  currentCostUsd: number;
  changeUsd: number;
  /** Share of the total change this group accounts for (signed; the shares sum to 1). Null when the total did not change. */
  shareOfChange: number | null;
}

export interface CostComparison {
  current: { fromMs: number; toMs: number } & CostTotals;
  previous: { fromMs: number; toMs: number } & CostTotals;
  changeUsd: number;
  /** Relative change; null when the previous period cost nothing known. */
  changeRatio: number | null;
  /** True when either period has unpriced calls: both totals are lower bounds. */
  costIsLowerBound: boolean;
  by: SummaryDimension[];
  /** Groups by the size of their contribution to the change, largest first. */
  attribution: Attribution[];
  /** One sentence: "spend up 40.0% ($12.00 → $16.80): 70% of the change from model X in project Y". */
  explanation: string;
}

/**
 * The range against the same length of time just before it, with the change attributed to the
 * groups of `by` (default model and project): each group's change and its share of the total.
 */
export async function compareCost(
  store: TelemetryStore,
  q: CostQuery & { by: SummaryDimension[]; limit?: number },
): Promise<CostComparison> {
  const lengthMs = q.toMs - q.fromMs;
  const prevQ = { ...q, fromMs: q.fromMs - lengthMs, toMs: q.fromMs };
  const [cur, prev] = await Promise.all([costBreakdown(store, q), costBreakdown(store, prevQ)]);
  const keyOf = (g: BreakdownRow['group']) => JSON.stringify(q.by.map((d) => g[d] ?? null));
  const groups = new Map<string, Attribution>();
  const entry = (g: BreakdownRow['group']) => {
    const k = keyOf(g);
    let a = groups.get(k);
    if (!a) {
      a = { group: g, previousCostUsd: 0, currentCostUsd: 0, changeUsd: 0, shareOfChange: null };
      groups.set(k, a);
    }
    return a;
  };
  for (const r of cur.rows) entry(r.group).currentCostUsd = r.costUsd ?? 0;
  for (const r of prev.rows) entry(r.group).previousCostUsd = r.costUsd ?? 0;
  const currentUsd = cur.total.costUsd ?? 0;
  const previousUsd = prev.total.costUsd ?? 0;
  const changeUsd = currentUsd - previousUsd;
  const attribution = [...groups.values()]
    .map((a) => {
      const change = a.currentCostUsd - a.previousCostUsd;
      return { ...a, changeUsd: change, shareOfChange: changeUsd === 0 ? null : change / changeUsd };
    })
    .filter((a) => a.changeUsd !== 0)
    .sort((a, b) => Math.abs(b.changeUsd) - Math.abs(a.changeUsd) || (keyOf(a.group) < keyOf(b.group) ? -1 : 1))
    .slice(0, q.limit ?? 20);
  const changeRatio = previousUsd > 0 ? changeUsd / previousUsd : null;
  const costIsLowerBound = cur.total.costIsLowerBound || prev.total.costIsLowerBound;
  return {
    current: { fromMs: q.fromMs, toMs: q.toMs, ...cur.total },
    previous: { fromMs: prevQ.fromMs, toMs: prevQ.toMs, ...prev.total },
    changeUsd,
    changeRatio,
    costIsLowerBound,
    by: q.by,
    attribution,
    explanation: explain(previousUsd, currentUsd, changeRatio, attribution, q.by, costIsLowerBound),
  };
}

const usd = (n: number) => `$${n.toFixed(2)}`;
const pct = (r: number) => `${(r * 100).toFixed(1)}%`;

function describeGroup(group: Attribution['group'], by: SummaryDimension[]): string {
  return by.map((d) => `${d} ${group[d] ?? '(none)'}`).join(' in ');
}

function explain(
  previousUsd: number,
  currentUsd: number,
  ratio: number | null,
  attribution: Attribution[],
  by: SummaryDimension[],
  lowerBound: boolean,
): string {
  const change = currentUsd - previousUsd;
  const caveat = lowerBound ? ' (unpriced calls left out: lower bounds)' : '';
  if (change === 0) return `spend unchanged at ${usd(currentUsd)}${caveat}`;
  const direction = change > 0 ? 'up' : 'down';
  const amount = ratio === null ? `from ${usd(previousUsd)} to ${usd(currentUsd)}` : `${pct(Math.abs(ratio))}`;
  let text = `spend ${direction} ${amount} (${usd(previousUsd)} → ${usd(currentUsd)})`;
  const top = attribution[0];
  if (top && top.shareOfChange !== null && by.length > 0) {
    text += `: ${pct(top.shareOfChange).replace('.0%', '%')} of the change from ${describeGroup(top.group, by)}`;
  }
  return text + caveat;
}

export interface CostDriver extends BreakdownRow {
  /** The same group's cost in the previous period of equal length. */
  previousCostUsd: number;
  changeUsd: number;
}

/** The most expensive groups of the range, with their share and their change. */
export async function topCostDrivers(
  store: TelemetryStore,
  q: CostQuery & { by: SummaryDimension[]; limit: number },
): Promise<{ total: CostTotals; drivers: CostDriver[] }> {
  const lengthMs = q.toMs - q.fromMs;
  const [cur, prev] = await Promise.all([
    costBreakdown(store, q),
    costBreakdown(store, { ...q, fromMs: q.fromMs - lengthMs, toMs: q.fromMs }),
  ]);
  const keyOf = (g: BreakdownRow['group']) => JSON.stringify(q.by.map((d) => g[d] ?? null));
  const before = new Map(prev.rows.map((r) => [keyOf(r.group), r.costUsd ?? 0]));
  const drivers = cur.rows.slice(0, q.limit).map((r) => {
    const previousCostUsd = before.get(keyOf(r.group)) ?? 0;
    return { ...r, previousCostUsd, changeUsd: (r.costUsd ?? 0) - previousCostUsd };
  });
  return { total: cur.total, drivers };
}

export interface RollingAverage {
  days: number;
  /** Mean daily computed cost over the window; null when the window has not enough history. */
  averageDailyCostUsd: number | null;
  /** Whole days of the window for which data exists (from the first day with any call). */
  daysWithHistory: number;
  enoughHistory: boolean;
  costIsLowerBound: boolean;
}

export interface RollingAverages {
  /** End of the last whole UTC day counted (exclusive). */
  toMs: number;
  /** First UTC day with any call within the longest window; null when none. */
  firstDayMs: number | null;
  windows: RollingAverage[];
  /** Daily cost of the longest window, oldest first (days without calls count 0). */
  daily: Array<{ dayStartMs: number; costUsd: number | null; requests: number; unpricedRequests: number }>;
}

/**
 * Mean daily cost over the last 7, 30 and 90 whole UTC days before `toMs`. A window says it
 * has not enough history when the first day with any call is inside it: an average over days
 * that were not yet being recorded would understate the cost.
 */
export async function rollingAverages(
  store: TelemetryStore,
  q: { toMs: number; filter: LlmCallFilter; windows?: number[] },
): Promise<RollingAverages> {
  const windows = q.windows ?? [7, 30, 90];
  const longest = Math.max(...windows);
  const toMs = Math.floor(q.toMs / DAY_MS) * DAY_MS;
  const fromMs = toMs - longest * DAY_MS;
  const res = await store.summarize({ fromMs, toMs, filter: q.filter, groupBy: [], intervalMs: DAY_MS });
  const byDay = new Map(res.rows.map((r) => [r.bucketStartMs, r]));
  const daily: RollingAverages['daily'] = [];
  let firstDayMs: number | null = null;
  for (let d = fromMs; d < toMs; d += DAY_MS) {
    const r = byDay.get(d);
    if (r && firstDayMs === null) firstDayMs = d;
    daily.push({
      dayStartMs: d,
      costUsd: r ? r.costUsd : null,
      requests: r?.requests ?? 0,
      unpricedRequests: r?.unpricedRequests ?? 0,
    });
  }
  return {
    toMs,
    firstDayMs,
    daily,
    windows: windows.map((days) => {
      const slice = daily.slice(daily.length - days);
      const start = toMs - days * DAY_MS;
      const daysWithHistory = firstDayMs === null ? 0 : Math.min(days, Math.round((toMs - firstDayMs) / DAY_MS));
      const enoughHistory = firstDayMs !== null && firstDayMs <= start;
      const cost = slice.reduce((s, d) => s + (d.costUsd ?? 0), 0);
      return {
        days,
        averageDailyCostUsd: enoughHistory ? cost / days : null,
        daysWithHistory,
        enoughHistory,
        costIsLowerBound: slice.some((d) => d.unpricedRequests > 0),
      };
    }),
  };
}
