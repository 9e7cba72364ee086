/** `reskpoints quotas list|set|delete|usage`: quota definitions and usage against their limits. */
import { DASH, formatInt, formatPercent, formatUsd, renderTable, truncate } from './format.js';
import { type CliIo, println } from './io.js';
import { adminCall, type KeysOptions } from './keys.js';
import { parseDurationMs } from './query.js';

type Metric = 'requests' | 'tokens' | 'costUsd';

interface QuotaDto {
  id: string;
  description: string;
  scope: Record<string, string>;
  metric: Metric;
  limit: number;
  windowMs: number;
  window: 'fixed' | 'sliding';
  enabled: boolean;
}

interface UsageDto {
  atMs: number;
  quotas: {
    quota: QuotaDto;
    maxUtilization: number;
    counters: {
      counter: string;
      dimensions: Record<string, string>;
      used: number;
      reserved: number;
      settled: number;
      remaining: number;
      utilization: number;
      resetSeconds: number;
    }[];
  }[];
}

const DURATION_UNITS: [number, string][] = [
  [604_800_000, 'w'],
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'm'],
  [1_000, 's'],
];

/** 60000 → `1m`, 5400000 → `90m`: the largest unit that divides it. */
export function formatDuration(ms: number): string {
  for (const [unit, name] of DURATION_UNITS) if (ms % unit === 0) return `${ms / unit}${name}`;
  return `${ms}ms`;
}

const amount = (metric: Metric, v: number) => (metric === 'costUsd' ? formatUsd(v) : formatInt(v));
const scopeText = (scope: Record<string, string>) =>
  Object.entries(scope)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || 'everything';

export function formatQuotaList(quotas: readonly QuotaDto[]): string {
  if (quotas.length === 0) return 'No quotas. Create one with `reskpoints quotas set`.';
  return renderTable(
    [
      { header: 'id' },
      { header: 'metric' },
      { header: 'limit', align: 'right' },
      { header: 'window' },
      { header: 'scope' },
      { header: 'enabled' },
      { header: 'description' },
    ],
    quotas.map((q) => [
      q.id,
      q.metric,
      amount(q.metric, q.limit),
      `${formatDuration(q.windowMs)} ${q.window}`,
      scopeText(q.scope),
      q.enabled ? 'yes' : 'no',
      truncate(q.description, 60),
    ]),
  );
}

export function formatQuotaUsage(u: UsageDto): string {
  if (u.quotas.length === 0) return 'No quotas apply.';
  const rows: string[][] = [];
  for (const { quota: q, counters } of u.quotas) {
    if (counters.length === 0) {
      rows.push([
        q.id,
        DASH,
        amount(q.metric, 0),
        amount(q.metric, 0),
        amount(q.metric, 0),
        amount(q.metric, q.limit),
        formatPercent(0),
        DASH,
      ]);
      continue;
    }
    for (const c of counters)
      rows.push([
        q.id,
        scopeText(c.dimensions) === 'everything' ? DASH : scopeText(c.dimensions),
        amount(q.metric, c.used),
        amount(q.metric, c.reserved),
        amount(q.metric, c.settled),
        amount(q.metric, q.limit),
        formatPercent(c.utilization),
        `${formatInt(c.resetSeconds)} s`,
      ]);
  }
  return renderTable(
    [
      { header: 'quota' },
      { header: 'counter' },
      { header: 'used', align: 'right' },
      { header: 'reserved', align: 'right' },
      { header: 'settled', align: 'right' },
      { header: 'limit', align: 'right' },
      { header: 'use', align: 'right' },
      { header: 'resets in', align: 'right' },
    ],
    rows,
  );
}

export function runQuotasList(o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<{ quotas: QuotaDto[] }>(o, io, { method: 'GET', path: '/api/v1/quotas' }, ({ quotas }) =>
    println(io.stdout, formatQuotaList(quotas)),
  );
}

export function runQuotasUsage(o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<UsageDto>(o, io, { method: 'GET', path: '/api/v1/quotas/usage' }, (u) =>
    println(io.stdout, formatQuotaUsage(u)),
  );
}

export interface QuotaSetOptions extends KeysOptions {
  metric?: string;
  limit?: string;
  window?: string;
  sliding?: boolean;
  project?: string;
  key?: string;
  user?: string;
  model?: string;
  description?: string;
  disabled?: boolean;
}

const METRICS: Record<string, Metric> = { requests: 'requests', tokens: 'tokens', cost: 'costUsd', costUsd: 'costUsd' };

/** The PUT body of `quotas set`, every bad option reported at once. */
export function buildQuotaBody(o: QuotaSetOptions): { ok: true; body: unknown } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const metric = o.metric == null ? undefined : METRICS[o.metric];
  if (metric == null)
    problems.push(`--metric: expected requests, tokens or cost, got ${JSON.stringify(o.metric ?? '')}`);
  const limit = Number(o.limit);
  if (o.limit == null || !Number.isFinite(limit) || limit <= 0)
    problems.push(`--limit: expected a positive number (USD for cost), got ${JSON.stringify(o.limit ?? '')}`);
  const windowMs = o.window == null ? null : parseDurationMs(o.window);
  if (windowMs == null || windowMs < 1_000)
    problems.push(
      `--window: expected a duration of at least 1s such as 1m, 1h or 30d, got ${JSON.stringify(o.window ?? '')}`,
    );
  if (problems.length > 0) return { ok: false, problems };
  const scope: Record<string, string> = {};
  for (const d of ['project', 'key', 'user', 'model'] as const) if (o[d] != null) scope[d] = o[d] as string;
  return {
    ok: true,
    body: {
      metric,
      limit,
      windowMs,
      window: o.sliding ? 'sliding' : 'fixed',
      scope,
      enabled: !o.disabled,
      ...(o.description != null ? { description: o.description } : {}),
    },
  };
}

export function runQuotasSet(id: string, o: QuotaSetOptions, io: CliIo): Promise<number> {
  return adminCall<{ quota: QuotaDto }>(
    o,
    io,
    async () => {
      const built = buildQuotaBody(o);
      if (!built.ok) return built.problems;
      return { method: 'PUT', path: `/api/v1/quotas/${encodeURIComponent(id)}`, body: built.body };
    },
    ({ quota }) => println(io.stdout, formatQuotaList([quota])),
  );
}

export function runQuotasDelete(id: string, o: KeysOptions, io: CliIo): Promise<number> {
  return adminCall<null>(o, io, { method: 'DELETE', path: `/api/v1/quotas/${encodeURIComponent(id)}` }, () =>
    println(io.stdout, `Deleted quota ${id}`),
  );
}
