import {
  err,
  type LlmCall,
  type LlmCallPage,
  ok,
  type Result,
  SUMMARY_DIMENSIONS,
  SUMMARY_ORDER_FIELDS,
  type SummaryResult,
} from '@reskpoints/core';
import { ApiClient, describeApiFailure } from './api-client.js';
import { resolveClientTarget } from './client-target.js';
import {
  type Column,
  DASH,
  formatInt,
  formatMinute,
  formatPercent,
  formatTime,
  formatUsd,
  renderTable,
  truncate,
} from './format.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';
import { resolveProjectRefs } from './projects.js';

export type QueryKind = 'calls' | 'summary';

/** Options of `reskpoints query calls|summary`, as commander hands them over. */
export interface QueryOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  since?: string;
  from?: string;
  to?: string;
  groupBy?: string;
  interval?: string;
  orderBy?: string;
  limit?: string;
  cursor?: string;
  project?: string[];
  model?: string[];
  provider?: string[];
  user?: string[];
  session?: string[];
  status?: string[];
  environment?: string[];
  operation?: string[];
  service?: string[];
  tag?: string[];
  traceId?: string;
  json?: boolean;
}

/** Filter options and the API parameter each maps to. */
export const FILTER_OPTIONS = [
  ['project', 'project'],
  ['model', 'model'],
  ['provider', 'provider'],
  ['user', 'user'],
  ['session', 'session'],
  ['status', 'status'],
  ['environment', 'environment'],
  ['operation', 'operation'],
  ['service', 'service'],
  ['tag', 'tag'],
] as const;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `30m`, `24h`, `7d`, `2w`, `1.5h` → milliseconds; null when not a duration. */
export function parseDurationMs(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return ms > 0 && Number.isFinite(ms) ? Math.round(ms) : null;
}

/** An instant given as epoch ms, RFC 3339, `now`, `now-24h`, or a duration meaning "that long ago". */
export function parseInstant(text: string, nowMs: number): number | null {
  const t = text.trim();
  if (t === 'now') return nowMs;
  const relative = /^now([+-])(.+)$/.exec(t);
  if (relative) {
    const d = parseDurationMs(relative[2] as string);
    return d === null ? null : relative[1] === '-' ? nowMs - d : nowMs + d;
  }
  if (/^\d{10,}$/.test(t)) return Number(t);
  const ago = parseDurationMs(t);
  if (ago !== null) return nowMs - ago;
  const parsed = Date.parse(t);
  return Number.isFinite(parsed) ? parsed : null;
}

export interface BuiltQuery {
  path: string;
  params: URLSearchParams;
  fromMs: number;
  toMs: number;
  groupBy: string[];
  intervalGiven: boolean;
}

/** Turns command options into the API request, reporting every bad option at once. */
export function buildQuery(kind: QueryKind, o: QueryOptions, nowMs: number): Result<BuiltQuery, string[]> {
  const problems: string[] = [];
  let toMs = nowMs;
  if (o.to !== undefined) {
    const t = parseInstant(o.to, nowMs);
    if (t === null)
      problems.push(
        `--to: expected RFC 3339, epoch milliseconds, now, now-<duration> or a duration ago (2h), got ${JSON.stringify(o.to)}`,
      );
    else toMs = t;
  }
  let fromMs = toMs - 86_400_000;
  if (o.from !== undefined) {
    const f = parseInstant(o.from, nowMs);
    if (f === null)
      problems.push(
        `--from: expected RFC 3339, epoch milliseconds, now, now-<duration> or a duration ago (2h), got ${JSON.stringify(o.from)}`,
      );
    else fromMs = f;
    if (o.since !== undefined) problems.push('--since cannot be combined with --from');
  } else if (o.since !== undefined) {
    const d = parseDurationMs(o.since);
    if (d === null)
      problems.push(`--since: expected a duration such as 30m, 24h or 7d, got ${JSON.stringify(o.since)}`);
    else fromMs = toMs - d;
  }
  if (problems.length === 0 && fromMs >= toMs) problems.push('the time range is empty: --from must be before --to');

  const params = new URLSearchParams({ from: String(fromMs), to: String(toMs) });
  for (const [option, param] of FILTER_OPTIONS) {
    const values = (o[option] ?? [])
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean);
    if (values.length > 0) params.set(param, values.join(','));
  }
  if (o.traceId) params.set('traceId', o.traceId);
  for (const s of params.get('status')?.split(',') ?? []) {
    if (s !== 'ok' && s !== 'error') problems.push(`--status: expected ok or error, got ${JSON.stringify(s)}`);
  }
  if (o.limit !== undefined) {
    const n = Number(o.limit);
    if (!Number.isInteger(n) || n < 1)
      problems.push(`--limit: expected a positive integer, got ${JSON.stringify(o.limit)}`);
    else params.set('limit', String(n));
  } else if (kind === 'calls') {
    params.set('limit', '20');
  }

  let groupBy: string[] = [];
  if (kind === 'calls') {
    if (o.cursor) params.set('cursor', o.cursor);
    for (const [flag, v] of [
      ['--group-by', o.groupBy],
      ['--interval', o.interval],
      ['--order-by', o.orderBy],
    ] as const) {
      if (v !== undefined) problems.push(`${flag} applies to \`query summary\` only`);
    }
  } else {
    groupBy = (o.groupBy ?? 'model')
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean);
    for (const d of groupBy) {
      if (!(SUMMARY_DIMENSIONS as readonly string[]).includes(d)) {
        problems.push(`--group-by: unknown dimension ${JSON.stringify(d)}; use ${SUMMARY_DIMENSIONS.join(', ')}`);
      }
    }
    if (groupBy.length > 0) params.set('groupBy', groupBy.join(','));
    if (o.interval !== undefined) {
      if (parseDurationMs(o.interval) === null) {
        problems.push(`--interval: expected a duration such as 5m, 1h or 1d, got ${JSON.stringify(o.interval)}`);
      } else params.set('interval', o.interval);
    }
    if (o.orderBy !== undefined) {
      if (!(SUMMARY_ORDER_FIELDS as readonly string[]).includes(o.orderBy)) {
        problems.push(
          `--order-by: expected one of ${SUMMARY_ORDER_FIELDS.join(', ')}, got ${JSON.stringify(o.orderBy)}`,
        );
      } else params.set('orderBy', o.orderBy);
    }
    if (o.cursor !== undefined) problems.push('--cursor applies to `query calls` only');
  }
  if (problems.length > 0) return err(problems);
  return ok({
    path: kind === 'calls' ? '/api/v1/llm/calls' : '/api/v1/llm/summary',
    params,
    fromMs,
    toMs,
    groupBy,
    intervalGiven: o.interval !== undefined,
  });
}

const SUMMARY_METRIC_COLUMNS: Column[] = [
  { header: 'requests', align: 'right' },
  { header: 'errors', align: 'right' },
  { header: 'error %', align: 'right' },
  { header: 'tokens in', align: 'right' },
  { header: 'tokens out', align: 'right' },
  { header: 'cost', align: 'right' },
  { header: 'cost/req', align: 'right' },
  { header: '$/1k tok', align: 'right' },
  { header: 'unpriced', align: 'right' },
  { header: 'p50 ms', align: 'right' },
  { header: 'p95 ms', align: 'right' },
  { header: 'ttft p95', align: 'right' },
];

export function formatSummary(
  result: SummaryResult,
  q: { groupBy: string[]; intervalGiven: boolean; fromMs: number; toMs: number },
): string {
  if (result.rows.length === 0) return `No calls between ${formatMinute(q.fromMs)} and ${formatMinute(q.toMs)} UTC.`;
  const columns: Column[] = [
    ...(q.intervalGiven ? [{ header: 'bucket (UTC)' }] : []),
    ...q.groupBy.map((d) => ({ header: d })),
    ...SUMMARY_METRIC_COLUMNS,
  ];
  const rows = result.rows.map((r) => [
    ...(q.intervalGiven ? [formatMinute(r.bucketStartMs)] : []),
    ...q.groupBy.map((d) => truncate(r.group[d as keyof typeof r.group] ?? DASH, 40)),
    formatInt(r.requests),
    formatInt(r.errors),
    formatPercent(r.errorRate),
    formatInt(r.inputTokens),
    formatInt(r.outputTokens),
    formatCost(r.costUsd, r.costIsLowerBound),
    formatUsd(r.costPerRequestUsd),
    formatUsd(r.costPer1kTokensUsd),
    formatInt(r.unpricedRequests),
    formatInt(r.latencyP50Ms),
    formatInt(r.latencyP95Ms),
    formatInt(r.ttftP95Ms),
  ]);
  const requests = result.rows.reduce((s, r) => s + r.requests, 0);
  const cost = result.rows.reduce((s, r) => s + (r.costUsd ?? 0), 0);
  const unpriced = result.rows.reduce((s, r) => s + r.unpricedRequests, 0);
  const costText =
    unpriced >= requests ? `cost unknown (${formatInt(unpriced)} unpriced)` : formatCost(cost, unpriced > 0);
  const footer =
    `${formatInt(result.rows.length)} row${result.rows.length === 1 ? '' : 's'} · ${formatInt(requests)} requests · ` +
    `${costText}${unpriced > 0 && unpriced < requests ? ` (${formatInt(unpriced)} unpriced: a lower bound)` : ''} · ` +
    `${formatMinute(q.fromMs)} → ${formatMinute(q.toMs)} UTC` +
    (result.precision === 'rollup' ? ' · percentiles from hourly rollups' : '');
  return `${renderTable(columns, rows)}\n\n${footer}`;
}

/** A total that leaves out unpriced calls is shown as at least that much. */
export function formatCost(usd: number | null, lowerBound: boolean): string {
  if (usd === null) return DASH;
  return `${lowerBound ? '≥' : ''}${formatUsd(usd)}`;
}

function statusCell(c: LlmCall): string {
  return c.status === 'ok' ? 'ok' : truncate(`error${c.errorType ? `: ${c.errorType}` : ''}`, 28);
}

export function formatCalls(page: LlmCallPage, q: { fromMs: number; toMs: number }): string {
  if (page.items.length === 0) return `No calls between ${formatMinute(q.fromMs)} and ${formatMinute(q.toMs)} UTC.`;
  const columns: Column[] = [
    { header: 'time (UTC)' },
    { header: 'project' },
    { header: 'provider' },
    { header: 'model' },
    { header: 'op' },
    { header: 'status' },
    { header: 'latency ms', align: 'right' },
    { header: 'ttft ms', align: 'right' },
    { header: 'tokens in', align: 'right' },
    { header: 'tokens out', align: 'right' },
    { header: 'cost', align: 'right' },
    { header: 'user' },
    { header: 'id' },
  ];
  const rows = page.items.map((c) => [
    formatTime(c.startTimeMs),
    truncate(c.projectId, 24),
    truncate(c.provider, 16),
    truncate(c.model, 32),
    truncate(c.operation, 12),
    statusCell(c),
    formatInt(c.latencyMs),
    formatInt(c.ttftMs),
    formatInt(c.usage.inputTokens),
    formatInt(c.usage.outputTokens),
    formatUsd(c.cost.totalUsd) + (c.cost.tokensEstimated && c.cost.totalUsd !== null ? ' est' : ''),
    truncate(c.userId ?? DASH, 24),
    c.id,
  ]);
  const more = page.nextCursor ? `\nMore calls: add --cursor ${page.nextCursor}` : '';
  return `${renderTable(columns, rows)}\n\n${page.items.length} call${page.items.length === 1 ? '' : 's'}${more}`;
}

export async function runQuery(kind: QueryKind, o: QueryOptions, io: CliIo): Promise<number> {
  const built = buildQuery(kind, o, io.clock.nowMs());
  if (!built.ok) {
    for (const p of built.error) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const target = resolveClientTarget(o, io);
  const client = new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
  const projects = built.value.params.get('project');
  if (projects) {
    const ids = await resolveProjectRefs(client, projects.split(','), '--project');
    if (!ids.ok) {
      for (const p of ids.error) println(io.stderr, `error: ${p}`);
      return EXIT_USAGE;
    }
    built.value.params.set('project', ids.value.join(','));
  }
  const r = await client.request<SummaryResult | LlmCallPage>({
    method: 'GET',
    path: built.value.path,
    query: built.value.params,
  });
  if (!r.ok) {
    println(io.stderr, `error: ${describeApiFailure(r.error)}`);
    if (r.error.kind === 'http' && r.error.status === 401 && !target.token) {
      println(io.stderr, 'hint: pass --token or set RESKPOINTS_TOKEN (a project key or the admin token)');
    }
    return EXIT_FAILURE;
  }
  if (o.json) {
    println(io.stdout, JSON.stringify(r.value, null, 2));
    return EXIT_OK;
  }
  println(
    io.stdout,
    kind === 'summary'
      ? formatSummary(r.value as SummaryResult, built.value)
      : formatCalls(r.value as LlmCallPage, built.value),
  );
  return EXIT_OK;
}
