/** `reskpoints cost breakdown|compare|drivers|rolling`: the cost API, as tables. */
import { SUMMARY_DIMENSIONS } from '@reskpoints/core';
import type { BreakdownRow, CostBreakdown, CostComparison, CostDriver, RollingAverages } from '../cost/cost-reads.js';
import { type CostReport, reportToCsv } from '../cost/reports.js';
import { ApiClient, describeApiFailure } from './api-client.js';
import { resolveClientTarget } from './client-target.js';
import {
  type Column,
  DASH,
  formatInt,
  formatMinute,
  formatPercent,
  formatUsd,
  renderTable,
  truncate,
} from './format.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';
import { FILTER_OPTIONS, formatCost, parseDurationMs, parseInstant, type QueryOptions } from './query.js';

export type CostCommand = 'breakdown' | 'compare' | 'drivers' | 'rolling';

export interface CostOptions extends QueryOptions {
  by?: string;
}

/** The API request of a cost command, every bad option reported at once. */
export function buildCostRequest(
  kind: CostCommand,
  o: CostOptions,
  nowMs: number,
): { ok: true; path: string; params: URLSearchParams } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const params = new URLSearchParams();
  let toMs = nowMs;
  if (o.to !== undefined) {
    const t = parseInstant(o.to, nowMs);
    if (t === null)
      problems.push(`--to: expected RFC 3339, epoch milliseconds or a duration ago, got ${JSON.stringify(o.to)}`);
    else toMs = t;
  }
  if (kind === 'rolling') {
    if (o.from !== undefined || o.since !== undefined)
      problems.push('--from and --since do not apply to `cost rolling`');
    params.set('to', String(toMs));
  } else {
    let fromMs = toMs - (kind === 'compare' ? 7 : 30) * 86_400_000;
    if (o.from !== undefined) {
      const f = parseInstant(o.from, nowMs);
      if (f === null)
        problems.push(`--from: expected RFC 3339, epoch milliseconds or a duration ago, got ${JSON.stringify(o.from)}`);
      else fromMs = f;
    } else if (o.since !== undefined) {
      const d = parseDurationMs(o.since);
      if (d === null) problems.push(`--since: expected a duration such as 24h or 7d, got ${JSON.stringify(o.since)}`);
      else fromMs = toMs - d;
    }
    params.set('from', String(fromMs));
    params.set('to', String(toMs));
    if (o.by !== undefined) {
      for (const d of o.by.split(',').map((x) => x.trim())) {
        if (!(SUMMARY_DIMENSIONS as readonly string[]).includes(d))
          problems.push(`--by: unknown dimension ${JSON.stringify(d)}; use ${SUMMARY_DIMENSIONS.join(', ')}`);
      }
      params.set('by', o.by);
    }
    if (o.limit !== undefined && kind !== 'breakdown') params.set('limit', o.limit);
  }
  for (const [option, param] of FILTER_OPTIONS) {
    const values = (o[option] ?? []).flatMap((v) => v.split(',')).filter(Boolean);
    if (values.length > 0) params.set(param, values.join(','));
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, path: `/api/v1/cost/${kind}`, params };
}

const groupText = (by: string[], g: BreakdownRow['group']) => by.map((d) => truncate(g[d as 'model'] ?? DASH, 40));

const COST_COLUMNS: Column[] = [
  { header: 'cost', align: 'right' },
  { header: 'share', align: 'right' },
  { header: 'requests', align: 'right' },
  { header: 'cost/req', align: 'right' },
  { header: 'input', align: 'right' },
  { header: 'output', align: 'right' },
  { header: 'cache', align: 'right' },
  { header: 'reasoning', align: 'right' },
  { header: 'unpriced', align: 'right' },
];

function costCells(r: BreakdownRow): string[] {
  return [
    formatCost(r.costUsd, r.costIsLowerBound),
    formatPercent(r.shareOfCost),
    formatInt(r.requests),
    formatUsd(r.costPerRequestUsd),
    formatUsd(r.inputCostUsd),
    formatUsd(r.outputCostUsd),
    formatUsd(r.cacheReadCostUsd + r.cacheWriteCostUsd),
    formatUsd(r.reasoningCostUsd),
    formatInt(r.unpricedRequests),
  ];
}

export function formatBreakdown(b: CostBreakdown): string {
  if (b.rows.length === 0) return 'No calls in this range.';
  const table = renderTable(
    [...b.by.map((d) => ({ header: d })), ...COST_COLUMNS],
    b.rows.map((r) => [...groupText(b.by, r.group), ...costCells(r)]),
  );
  return `${table}\n\ntotal ${formatCost(b.total.costUsd, b.total.costIsLowerBound)} over ${formatInt(b.total.requests)} requests${
    b.total.unpricedRequests > 0 ? ` (${formatInt(b.total.unpricedRequests)} unpriced: a lower bound)` : ''
  }`;
}

export function formatDrivers(d: { total: CostBreakdown['total']; drivers: CostDriver[] }, by: string[]): string {
  if (d.drivers.length === 0) return 'No calls in this range.';
  const table = renderTable(
    [...by.map((x) => ({ header: x })), ...COST_COLUMNS, { header: 'change', align: 'right' }],
    d.drivers.map((r) => [...groupText(by, r.group), ...costCells(r), signedUsd(r.changeUsd)]),
  );
  return `${table}\n\ntotal ${formatCost(d.total.costUsd, d.total.costIsLowerBound)}`;
}

const signedUsd = (n: number) => `${n > 0 ? '+' : n < 0 ? '-' : ''}${formatUsd(Math.abs(n))}`;

export function formatComparison(c: CostComparison): string {
  const head =
    `${formatMinute(c.previous.fromMs)} → ${formatMinute(c.previous.toMs)}: ${formatCost(c.previous.costUsd, c.previous.costIsLowerBound)}\n` +
    `${formatMinute(c.current.fromMs)} → ${formatMinute(c.current.toMs)}: ${formatCost(c.current.costUsd, c.current.costIsLowerBound)}\n` +
    `${c.explanation}`;
  if (c.attribution.length === 0) return head;
  const table = renderTable(
    [
      ...c.by.map((d) => ({ header: d })),
      { header: 'before', align: 'right' },
      { header: 'now', align: 'right' },
      { header: 'change', align: 'right' },
      { header: 'share of change', align: 'right' },
    ],
    c.attribution.map((a) => [
      ...groupText(c.by, a.group),
      formatUsd(a.previousCostUsd),
      formatUsd(a.currentCostUsd),
      signedUsd(a.changeUsd),
      formatPercent(a.shareOfChange),
    ]),
  );
  return `${head}\n\n${table}`;
}

export function formatRolling(r: RollingAverages): string {
  return renderTable(
    [{ header: 'window' }, { header: 'mean daily cost', align: 'right' }, { header: 'history' }],
    r.windows.map((w) => [
      `${w.days} days`,
      w.averageDailyCostUsd === null ? DASH : formatCost(w.averageDailyCostUsd, w.costIsLowerBound),
      w.enoughHistory ? 'complete' : `not enough: ${w.daysWithHistory} of ${w.days} days`,
    ]),
  );
}

export async function runCost(kind: CostCommand, o: CostOptions, io: CliIo): Promise<number> {
  const built = buildCostRequest(kind, o, io.clock.nowMs());
  if (!built.ok) {
    for (const p of built.problems) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const target = resolveClientTarget(o, io);
  const client = new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
  const r = await client.request<unknown>({ method: 'GET', path: built.path, query: built.params });
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  if (o.json) {
    println(io.stdout, JSON.stringify(r.value, null, 2));
    return EXIT_OK;
  }
  const by = (o.by ?? (kind === 'breakdown' ? 'model' : 'model,project')).split(',').map((x) => x.trim());
  const v = r.value;
  const text =
    kind === 'breakdown'
      ? formatBreakdown(v as CostBreakdown)
      : kind === 'compare'
        ? formatComparison(v as CostComparison)
        : kind === 'drivers'
          ? formatDrivers(v as { total: CostBreakdown['total']; drivers: CostDriver[] }, by)
          : formatRolling(v as RollingAverages);
  println(io.stdout, text);
  return EXIT_OK;
}

interface RecostJobDto {
  id: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  periodsDone: number;
  periodsTotal: number;
  callsRecosted: number;
  error: string | null;
}

/** `reskpoints cost recost`: starts a re-costing job and follows it until it ends (admin token). */
export async function runRecost(
  o: CostOptions & { wait?: boolean },
  io: CliIo,
  pauseMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
): Promise<number> {
  const nowMs = io.clock.nowMs();
  const problems: string[] = [];
  const at = (flag: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const t = parseInstant(v, nowMs);
    if (t === null)
      problems.push(`${flag}: expected RFC 3339, epoch milliseconds or a duration ago, got ${JSON.stringify(v)}`);
    return t ?? fallback;
  };
  const toMs = at('--to', o.to, nowMs);
  const fromMs = at('--from', o.from, toMs - 30 * 86_400_000);
  const projects = (o.project ?? []).flatMap((p) => p.split(',')).filter(Boolean);
  if (projects.length > 1) problems.push('--project: re-cost one project at a time, or all of them');
  if (problems.length > 0) {
    for (const p of problems) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const target = resolveClientTarget(o, io);
  const client = new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
  const started = await client.request<RecostJobDto>({
    method: 'POST',
    path: '/api/v1/cost/recost',
    body: { from: String(fromMs), to: String(toMs), ...(projects[0] ? { project: projects[0] } : {}) },
  });
  if (!started.ok) {
    println(io.stderr, `error: ${describeApiFailure(started.error)}`);
    return EXIT_FAILURE;
  }
  let job = started.value;
  println(io.stdout, `re-costing job ${job.id} queued`);
  if (o.wait === false) return EXIT_OK;
  while (job.state === 'queued' || job.state === 'running') {
    await pauseMs(500);
    const r = await client.request<RecostJobDto>({ method: 'GET', path: `/api/v1/cost/recost/${job.id}` });
    if (!r.ok) {
      println(io.stderr, `error: ${describeApiFailure(r.error)}`);
      return EXIT_FAILURE;
    }
    job = r.value;
    if (job.state === 'running' && job.periodsTotal > 0)
      println(io.stderr, `${job.periodsDone}/${job.periodsTotal} periods, ${formatInt(job.callsRecosted)} calls`);
  }
  if (job.state === 'failed') {
    println(io.stderr, `error: re-costing failed: ${job.error}`);
    return EXIT_FAILURE;
  }
  println(io.stdout, `re-costed ${formatInt(job.callsRecosted)} calls over ${job.periodsTotal} periods`);
  return EXIT_OK;
}

export interface ReportOptions extends CostOptions {
  period?: string;
  format?: string;
  at?: string;
  stored?: boolean;
  id?: string;
}

interface StoredReportSummaryDto {
  id: string;
  period: string;
  fromMs: number;
  toMs: number;
  updatedAtMs: number;
  costUsd: number | null;
  changeRatio: number | null;
  requests: number;
  unpricedRequests: number;
  costIsLowerBound: boolean;
}

/**
 * `reskpoints report --period day|week|month --format csv|json|table`: the cost report, built
 * now; `--stored` lists the reports the server made on its schedule, `--id` prints one of them.
 */
export async function runReport(o: ReportOptions, io: CliIo): Promise<number> {
  const problems: string[] = [];
  const format = o.format ?? 'table';
  if (!['csv', 'json', 'table'].includes(format))
    problems.push(`--format: expected csv, json or table, got ${JSON.stringify(format)}`);
  const params = new URLSearchParams();
  let path = '/api/v1/reports/cost';
  if (o.stored || o.id !== undefined) {
    if (o.stored && o.id !== undefined) problems.push('--stored lists the stored reports; --id prints one: use either');
    for (const [flag, v] of [
      ['--at', o.at],
      ['--project', o.project],
    ] as const)
      if (v !== undefined) problems.push(`${flag} does not apply to stored reports (they cover every project)`);
    if (o.id !== undefined) {
      if (!/^(day|week|month)-\d{4}-\d{2}-\d{2}$/.test(o.id))
        problems.push(`--id: expected a stored report id such as month-2026-11-01, got ${JSON.stringify(o.id)}`);
      if (o.period !== undefined) problems.push('--period does not apply with --id (the id names the period)');
      path = `/api/v1/reports/cost/stored/${encodeURIComponent(o.id)}`;
    } else {
      path = '/api/v1/reports/cost/stored';
      if (o.period !== undefined) {
        if (!['day', 'week', 'month'].includes(o.period))
          problems.push(`--period: expected day, week or month, got ${JSON.stringify(o.period)}`);
        params.set('period', o.period);
      }
      if (o.limit !== undefined) {
        if (!/^\d+$/.test(o.limit) || Number(o.limit) < 1 || Number(o.limit) > 1000)
          problems.push(`--limit: expected a whole number from 1 to 1000, got ${JSON.stringify(o.limit)}`);
        params.set('limit', o.limit);
      }
      if (o.format === 'csv') problems.push('--format csv applies to one report (--id), not to the list');
    }
  } else {
    const period = o.period ?? 'month';
    if (!['day', 'week', 'month'].includes(period))
      problems.push(`--period: expected day, week or month, got ${JSON.stringify(period)}`);
    // CSV is rendered here from the JSON answer, by the same function the API's CSV uses.
    params.set('period', period);
    params.set('format', 'json');
    if (o.at !== undefined) {
      const t = parseInstant(o.at, io.clock.nowMs());
      if (t === null)
        problems.push(`--at: expected RFC 3339, epoch milliseconds or a duration ago, got ${JSON.stringify(o.at)}`);
      else params.set('at', String(t));
    }
    for (const [option, param] of FILTER_OPTIONS) {
      const values = (o[option] ?? []).flatMap((v) => v.split(',')).filter(Boolean);
      if (values.length > 0) params.set(param, values.join(','));
    }
  }
  if (problems.length > 0) {
    for (const p of problems) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const target = resolveClientTarget(o, io);
  const client = new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
  const r = await client.request<unknown>({ method: 'GET', path, query: params });
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    return EXIT_FAILURE;
  }
  if (o.stored) {
    const { reports } = r.value as { reports: StoredReportSummaryDto[] };
    if (format === 'json' || o.json) println(io.stdout, JSON.stringify(r.value, null, 2));
    else println(io.stdout, formatStoredReports(reports));
    return EXIT_OK;
  }
  const report = r.value as CostReport;
  if (format === 'csv') io.stdout.write(reportToCsv(report));
  else if (format === 'json' || o.json) println(io.stdout, JSON.stringify(report, null, 2));
  else println(io.stdout, formatReport(report));
  return EXIT_OK;
}

export function formatStoredReports(reports: readonly StoredReportSummaryDto[]): string {
  if (reports.length === 0) return 'No stored reports yet (they are made after each day, week and month ends).';
  return renderTable(
    [
      { header: 'id' },
      { header: 'from' },
      { header: 'to' },
      { header: 'cost', align: 'right' },
      { header: 'change', align: 'right' },
      { header: 'requests', align: 'right' },
      { header: 'unpriced', align: 'right' },
      { header: 'made' },
    ],
    reports.map((r) => [
      r.id,
      formatMinute(r.fromMs),
      formatMinute(r.toMs),
      formatCost(r.costUsd, r.costIsLowerBound),
      formatPercent(r.changeRatio),
      formatInt(r.requests),
      formatInt(r.unpricedRequests),
      formatMinute(r.updatedAtMs),
    ]),
  );
}

export function formatReport(report: CostReport): string {
  const head = `Cost report, ${report.period} ${formatMinute(report.fromMs)} → ${formatMinute(report.toMs)} UTC`;
  const table = renderTable(
    [
      { header: 'section' },
      { header: 'group' },
      { header: 'cost', align: 'right' },
      { header: 'before', align: 'right' },
      { header: 'change', align: 'right' },
      { header: 'share', align: 'right' },
      { header: 'requests', align: 'right' },
      { header: 'cost/req', align: 'right' },
      { header: 'unpriced', align: 'right' },
    ],
    report.rows.map((r) => [
      r.section,
      truncate(r.group || DASH, 50),
      formatCost(r.costUsd, r.costIsLowerBound),
      formatUsd(r.previousCostUsd),
      r.changeUsd === null ? DASH : signedUsd(r.changeUsd),
      formatPercent(r.shareOfCost),
      formatInt(r.requests),
      formatUsd(r.costPerRequestUsd),
      formatInt(r.unpricedRequests),
    ]),
  );
  return `${head}\n\n${table}`;
}
