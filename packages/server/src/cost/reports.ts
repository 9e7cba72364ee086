/**
 * Cost reports for a day, an ISO week or a calendar month (UTC): the total with its parts and
 * cost per request, the cost by model, by project and by user, the top drivers (model in
 * project) and the change against the period before. One report, two renderings: JSON and
 * CSV carry the same rows and numbers (a property test parses one against the other).
 */
import type { LlmCallFilter, SummaryDimension } from '@reskpoints/core';
import type { TelemetryStore } from '../store/ports.js';
import { type BreakdownRow, type CostTotals, costBreakdown, DAY_MS } from './cost-reads.js';

export const REPORT_PERIODS = ['day', 'week', 'month'] as const;
export type ReportPeriod = (typeof REPORT_PERIODS)[number];

/** The last whole period that ended at or before `atMs`, and the one before it. */
export function reportRange(
  period: ReportPeriod,
  atMs: number,
): { fromMs: number; toMs: number; previousFromMs: number } {
  const day = Math.floor(atMs / DAY_MS) * DAY_MS;
  if (period === 'day') return { fromMs: day - DAY_MS, toMs: day, previousFromMs: day - 2 * DAY_MS };
  if (period === 'week') {
    // ISO weeks start on Monday; 1970-01-01 was a Thursday.
    const weekday = (Math.floor(day / DAY_MS) + 3) % 7;
    const toMs = day - weekday * DAY_MS;
    return { fromMs: toMs - 7 * DAY_MS, toMs, previousFromMs: toMs - 14 * DAY_MS };
  }
  const d = new Date(day);
  const toMs = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const fromMs = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
  return { fromMs, toMs, previousFromMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 2, 1) };
}

/** One line of a report: a group of a section, or the total. */
export interface ReportRow {
  section: 'total' | 'model' | 'project' | 'user' | 'driver';
  /** The group's values joined with ` / ` (driver: model / project); '' for the total. */
  group: string;
  costUsd: number | null;
  previousCostUsd: number | null;
  changeUsd: number | null;
  shareOfCost: number | null;
  requests: number;
  costPerRequestUsd: number | null;
  inputCostUsd: number;
  outputCostUsd: number;
  cacheCostUsd: number;
  reasoningCostUsd: number;
  requestCostUsd: number;
  unpricedRequests: number;
  costIsLowerBound: boolean;
}

export const REPORT_COLUMNS = [
  'section',
  'group',
  'costUsd',
  'previousCostUsd',
  'changeUsd',
  'shareOfCost',
  'requests',
  'costPerRequestUsd',
  'inputCostUsd',
  'outputCostUsd',
  'cacheCostUsd',
  'reasoningCostUsd',
  'requestCostUsd',
  'unpricedRequests',
  'costIsLowerBound',
] as const satisfies ReadonlyArray<keyof ReportRow>;

export interface CostReport {
  period: ReportPeriod;
  fromMs: number;
  toMs: number;
  previousFromMs: number;
  /** Change of the total against the previous period; null when that cost nothing known. */
  changeRatio: number | null;
  rows: ReportRow[];
}

const SECTIONS: Array<[ReportRow['section'], SummaryDimension[]]> = [
  ['model', ['model']],
  ['project', ['project']],
  ['user', ['user']],
  ['driver', ['model', 'project']],
];

export async function buildCostReport(
  store: TelemetryStore,
  q: { period: ReportPeriod; atMs: number; filter: LlmCallFilter; limit?: number },
): Promise<CostReport> {
  const { fromMs, toMs, previousFromMs } = reportRange(q.period, q.atMs);
  const limit = q.limit ?? 50;
  const rows: ReportRow[] = [];
  let changeRatio: number | null = null;
  for (const [section, by] of [['total', []] as [ReportRow['section'], SummaryDimension[]], ...SECTIONS]) {
    const [cur, prev] = await Promise.all([
      costBreakdown(store, { fromMs, toMs, filter: q.filter, by: by.length ? by : ['project'] }),
      costBreakdown(store, {
        fromMs: previousFromMs,
        toMs: fromMs,
        filter: q.filter,
        by: by.length ? by : ['project'],
      }),
    ]);
    if (section === 'total') {
      rows.push(rowOf('total', '', cur.total, prev.total.costUsd, null));
      const before = prev.total.costUsd ?? 0;
      changeRatio = before > 0 ? ((cur.total.costUsd ?? 0) - before) / before : null;
      continue;
    }
    const name = (r: BreakdownRow) => by.map((d) => r.group[d] ?? '(none)').join(' / ');
    const before = new Map(prev.rows.map((r) => [name(r), r.costUsd]));
    for (const r of cur.rows.slice(0, limit))
      rows.push(rowOf(section, name(r), r, before.get(name(r)) ?? null, r.shareOfCost));
  }
  return { period: q.period, fromMs, toMs, previousFromMs, changeRatio, rows };
}

function rowOf(
  section: ReportRow['section'],
  group: string,
  r: CostTotals | BreakdownRow,
  previousCostUsd: number | null,
  shareOfCost: number | null,
): ReportRow {
  return {
    section,
    group,
    costUsd: r.costUsd,
    previousCostUsd,
    changeUsd: r.costUsd === null && previousCostUsd === null ? null : (r.costUsd ?? 0) - (previousCostUsd ?? 0),
    shareOfCost: section === 'total' ? (r.costUsd === null ? null : 1) : shareOfCost,
    requests: r.requests,
    costPerRequestUsd: r.costPerRequestUsd,
    inputCostUsd: r.inputCostUsd,
    outputCostUsd: r.outputCostUsd,
    cacheCostUsd: r.cacheReadCostUsd + r.cacheWriteCostUsd,
    reasoningCostUsd: r.reasoningCostUsd,
    requestCostUsd: r.requestCostUsd,
    unpricedRequests: r.unpricedRequests,
    costIsLowerBound: r.costIsLowerBound,
  };
}

/** RFC 4180 CSV: a header, then one line per row; numbers in full precision, null as empty. */
export function reportToCsv(report: CostReport): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [REPORT_COLUMNS.join(',')];
  for (const r of report.rows) lines.push(REPORT_COLUMNS.map((c) => cell(r[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** Parses what `reportToCsv` wrote back into rows (used by tests and by readers of the CSV). */
export function parseReportCsv(csv: string): ReportRow[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < csv.length; i++) {
    const ch = csv[i]!;
    if (quoted) {
      if (ch === '"' && csv[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && csv[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += ch;
  }
  const [header, ...body] = records;
  return body.map((cells) => {
    const o: Record<string, unknown> = {};
    header!.forEach((h, i) => {
      const v = cells[i] ?? '';
      if (h === 'section' || h === 'group') o[h] = v;
      else if (h === 'costIsLowerBound') o[h] = v === 'true';
      else o[h] = v === '' ? null : Number(v);
    });
    return o as unknown as ReportRow;
  });
}
