/** `reskpoints recommendations` and `reskpoints chargeback`: savings in USD per month, and spend per team. */
import type { ChargebackReport, RecommendationReport } from '../recommend/analyze.js';
import { chargebackToCsv } from '../recommend/analyze.js';
import { ApiClient, describeApiFailure } from './api-client.js';
import { resolveClientTarget } from './client-target.js';
import { DASH, formatInt, formatPercent, formatUsd, renderTable, truncate } from './format.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';
import { parseInstant } from './query.js';

export interface RecommendOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  json?: boolean;
  from?: string;
  to?: string;
  project?: string[];
  limit?: string;
  tagPrefix?: string;
  method?: string;
  format?: string;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** Range and project parameters shared by both commands, every bad option reported at once. */
function baseParams(o: RecommendOptions, nowMs: number, problems: string[]): URLSearchParams {
  const params = new URLSearchParams();
  for (const [flag, value, key] of [
    ['--from', o.from, 'from'],
    ['--to', o.to, 'to'],
  ] as const) {
    if (value === undefined) continue;
    const t = parseInstant(value, nowMs);
    if (t === null)
      problems.push(`${flag}: expected RFC 3339, epoch milliseconds or a duration ago, got ${JSON.stringify(value)}`);
    else params.set(key, String(t));
  }
  const projects = (o.project ?? []).flatMap((p) => p.split(',')).filter(Boolean);
  if (projects.length > 0) params.set('project', projects.join(','));
  return params;
}

export function formatRecommendations(r: RecommendationReport): string {
  const head = `Recommendations from ${formatInt(r.callsAnalyzed)} calls, ${day(r.fromMs)} → ${day(r.toMs)} UTC (amounts per 30-day month)`;
  const parts = [head, ''];
  if (r.recommendations.length === 0) parts.push('No savings found.');
  else {
    const total = r.recommendations.reduce((s, x) => s + x.savingsUsdPerMonth, 0);
    parts.push(
      renderTable(
        [
          { header: 'saves/month', align: 'right' },
          { header: 'kind' },
          { header: 'project' },
          { header: 'calls', align: 'right' },
          { header: 'recommendation' },
        ],
        r.recommendations.map((x) => [
          formatUsd(x.savingsUsdPerMonth),
          x.kind,
          truncate(x.projectId, 24),
          formatInt(x.calls),
          truncate(x.title, 90),
        ]),
      ),
      '',
      `up to ${formatUsd(total)} a month in all (findings can overlap)`,
    );
  }
  if (r.efficiency.length > 0)
    parts.push(
      '',
      renderTable(
        [
          { header: 'project' },
          { header: 'efficiency', align: 'right' },
          { header: 'spend/month', align: 'right' },
          { header: 'lost/month', align: 'right' },
          { header: 'cache hits', align: 'right' },
          { header: 'errors', align: 'right' },
          { header: 'main driver' },
        ],
        r.efficiency.map((e) => [
          truncate(e.projectId, 24),
          `${e.score}/100`,
          formatUsd(e.spendUsdPerMonth),
          formatUsd(e.wasteUsdPerMonth),
          formatPercent(e.cacheHitRate),
          formatPercent(e.errorRate),
          e.drivers[0] ? `${e.drivers[0].kind} (${formatPercent(e.drivers[0].shareOfSpend)} of spend)` : DASH,
        ]),
      ),
    );
  if (r.costPerOutcome.length > 0)
    parts.push(
      '',
      renderTable(
        [
          { header: 'outcome' },
          { header: 'cost', align: 'right' },
          { header: 'outcomes', align: 'right' },
          { header: 'cost/outcome', align: 'right' },
        ],
        r.costPerOutcome.map((x) => [
          x.outcome,
          formatUsd(x.costUsd),
          formatInt(x.outcomes),
          formatUsd(x.costPerOutcomeUsd),
        ]),
      ),
    );
  if (r.costPerUser.length > 0)
    parts.push(
      '',
      renderTable(
        [
          { header: 'user' },
          { header: 'cost', align: 'right' },
          { header: 'calls', align: 'right' },
          { header: 'sessions', align: 'right' },
          { header: 'cost/call', align: 'right' },
        ],
        r.costPerUser
          .slice(0, 10)
          .map((u) => [
            truncate(u.key, 40),
            formatUsd(u.costUsd),
            formatInt(u.calls),
            formatInt(u.sessions),
            formatUsd(u.costPerCallUsd),
          ]),
      ),
    );
  for (const n of r.notes) parts.push('', `note: ${n}`);
  if (r.truncated) parts.push('', 'note: more calls matched than recommend.maxCalls; the newest were analysed');
  return parts.join('\n');
}

export function formatChargeback(c: ChargebackReport): string {
  const head = `Chargeback by ${c.tagPrefix}<team>, ${day(c.fromMs)} → ${day(c.toMs)} UTC: ${formatUsd(c.totalUsd)} in all, ${formatUsd(c.sharedUsd)} shared (untagged) allocated ${c.method === 'even' ? 'evenly' : 'in proportion to direct spend'}`;
  if (c.rows.length === 0)
    return `${head}\n\nNo call carries a ${c.tagPrefix} tag: ${formatUsd(c.unallocatedUsd)} unallocated.`;
  return `${head}\n\n${renderTable(
    [
      { header: 'team' },
      { header: 'direct', align: 'right' },
      { header: 'shared', align: 'right' },
      { header: 'total', align: 'right' },
      { header: 'share', align: 'right' },
      { header: 'calls', align: 'right' },
    ],
    c.rows.map((r) => [
      truncate(r.team, 40),
      formatUsd(r.directUsd),
      formatUsd(r.sharedUsd),
      formatUsd(r.totalUsd),
      formatPercent(r.share),
      formatInt(r.calls),
    ]),
  )}`;
}

async function get<T>(o: RecommendOptions, io: CliIo, path: string, params: URLSearchParams) {
  const target = resolveClientTarget(o, io);
  const client = new ApiClient({ baseUrl: target.url, token: target.token, fetch: io.fetch });
  const r = await client.request<T>({ method: 'GET', path, query: params });
  if (!r.ok) println(io.stderr, `error: ${describeApiFailure(r.error)}`);
  return r.ok ? r.value : null;
}

export async function runRecommendations(o: RecommendOptions, io: CliIo): Promise<number> {
  const problems: string[] = [];
  const params = baseParams(o, io.clock.nowMs(), problems);
  if (o.limit !== undefined) {
    const n = Number(o.limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000)
      problems.push(`--limit: expected an integer from 1 to 1000, got ${JSON.stringify(o.limit)}`);
    else params.set('limit', String(n));
  }
  if (problems.length > 0) {
    for (const p of problems) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const r = await get<RecommendationReport>(o, io, '/api/v1/recommendations', params);
  if (r === null) return EXIT_FAILURE;
  println(io.stdout, o.json ? JSON.stringify(r, null, 2) : formatRecommendations(r));
  return EXIT_OK;
}

export async function runChargeback(o: RecommendOptions, io: CliIo): Promise<number> {
  const problems: string[] = [];
  const params = baseParams(o, io.clock.nowMs(), problems);
  const method = o.method ?? 'proportional';
  if (method !== 'proportional' && method !== 'even')
    problems.push(`--method: expected proportional or even, got ${JSON.stringify(method)}`);
  params.set('method', method);
  const format = o.format ?? (o.json ? 'json' : 'table');
  if (!['table', 'csv', 'json'].includes(format))
    problems.push(`--format: expected table, csv or json, got ${JSON.stringify(format)}`);
  if (o.tagPrefix !== undefined) {
    if (o.tagPrefix === '') problems.push('--tag-prefix: expected a tag prefix such as team:');
    else params.set('tagPrefix', o.tagPrefix);
  }
  if (problems.length > 0) {
    for (const p of problems) println(io.stderr, `error: ${p}`);
    return EXIT_USAGE;
  }
  const r = await get<ChargebackReport>(o, io, '/api/v1/chargeback', params);
  if (r === null) return EXIT_FAILURE;
  // CSV is rendered here from the JSON answer, by the same function the API's CSV uses.
  if (format === 'csv') io.stdout.write(chargebackToCsv(r));
  else println(io.stdout, format === 'json' ? JSON.stringify(r, null, 2) : formatChargeback(r));
  return EXIT_OK;
}
