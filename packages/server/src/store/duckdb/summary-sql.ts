/**
 * Builds the SQL of `summarize`. The planner answers from the hourly/daily rollups when the
 * question only involves rollup dimensions and hour-aligned times (precision 'rollup',
 * percentiles from log histograms), and from raw calls otherwise (precision 'exact',
 * interpolated quantiles).
 */
import type { LlmCallFilter, SummaryDimension, SummaryOrderField, SummaryQuery } from '@reskpoints/core';
import { type ColumnDimension, DIMENSION_COLUMN } from '../dimension-columns.js';
import { COST_INPUT_COLUMNS, COST_SUMS } from './cost-columns.js';
import { sqlString } from './duckdb-database.js';
import { bucketValueSql } from './latency-histogram.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Dimensions that are columns of `llm_series`, hence available in rollups. */
const ROLLUP_DIMENSIONS = new Set<SummaryDimension>([
  'project',
  'environment',
  'provider',
  'model',
  'operation',
  'status',
]);

const ROLLUP_FILTER_KEYS = new Set<keyof LlmCallFilter>([
  'projectIds',
  'environments',
  'providers',
  'models',
  'operations',
  'statuses',
]);

/** Filters on series dimensions: evaluated against the small llm_series table. */
const SERIES_FILTER_COLUMN = {
  projectIds: 'project_id',
  environments: 'environment',
  providers: 'provider',
  models: 'model',
  operations: 'operation',
  statuses: 'status',
} as const;

/** Filters on columns of llm_calls itself. */
const CALL_FILTER_COLUMN = {
  userIds: 'user_id',
  sessionIds: 'session_id',
  services: 'service_name',
} as const;

/** The `tag` dimension of a call (`tagSetValue` in SQL): its distinct tags sorted and joined, NULL when none. */
const DUCKDB_TAG_SET = `CASE WHEN len(k.tags) = 0 THEN NULL ELSE array_to_string(list_sort(list_distinct(k.tags)), ',') END`;

export type SummaryPlan = { kind: 'rollup'; histogram: 'llm_hist_1h' | 'llm_hist_1d' } | { kind: 'exact' };

export function planSummary(q: SummaryQuery): SummaryPlan {
  const dims = q.groupBy.every((d) => ROLLUP_DIMENSIONS.has(d));
  const filters = (Object.keys(q.filter) as Array<keyof LlmCallFilter>).every((k) => {
    const v = q.filter[k];
    if (v === undefined) return true;
    if (k === 'tags') return (v as string[]).length === 0;
    return ROLLUP_FILTER_KEYS.has(k);
  });
  const aligned = (unit: number) =>
    q.fromMs % unit === 0 && q.toMs % unit === 0 && (q.intervalMs === null || q.intervalMs % unit === 0);
  if (!dims || !filters || !aligned(HOUR_MS)) return { kind: 'exact' };
  return { kind: 'rollup', histogram: aligned(DAY_MS) ? 'llm_hist_1d' : 'llm_hist_1h' };
}

function int(n: number, what: string): string {
  if (!Number.isSafeInteger(n)) throw new Error(`${what} must be a safe integer, got ${n}`);
  return String(n);
}

function inList(column: string, values: readonly string[]): string {
  if (values.length === 0) return 'FALSE';
  return `${column} IN (${values.map(sqlString).join(', ')})`;
}

/** Conditions on llm_series columns (no alias) for the series part of a filter. */
export function seriesConditions(filter: LlmCallFilter): string[] {
  const out: string[] = [];
  for (const [key, column] of Object.entries(SERIES_FILTER_COLUMN) as Array<
    [keyof typeof SERIES_FILTER_COLUMN, string]
  >) {
    const values = filter[key];
    if (values !== undefined) out.push(inList(column, values as string[]));
  }
  return out;
}

/** Conditions on llm_calls (aliased `alias`) for a whole filter. */
export function callConditions(filter: LlmCallFilter, alias: string): string[] {
  const out: string[] = [];
  const series = seriesConditions(filter);
  if (series.length > 0) {
    out.push(`${alias}.series_id IN (SELECT series_id FROM llm_series WHERE ${series.join(' AND ')})`);
  }
  for (const [key, column] of Object.entries(CALL_FILTER_COLUMN) as Array<[keyof typeof CALL_FILTER_COLUMN, string]>) {
    const values = filter[key];
    if (values !== undefined) out.push(inList(`${alias}.${column}`, values));
  }
  if (filter.tags !== undefined && filter.tags.length > 0) {
    out.push(`list_has_all(${alias}.tags, [${filter.tags.map(sqlString).join(', ')}]::VARCHAR[])`);
  }
  if (filter.traceId !== undefined) out.push(`${alias}.trace_id = ${sqlString(filter.traceId)}`);
  return out;
}

/**
 * Calls (aliased `alias`) whose id, trace, user, session, service, provider, model, error or
 * prompt/response excerpt contains `text`, case-insensitively. Fields kept in the `detail`
 * JSON are only parsed for rows whose detail text contains the search at all.
 */
export function callTextCondition(text: string, alias: string): string {
  const q = sqlString(text.toLowerCase());
  const has = (expr: string) => `contains(lower(${expr}), ${q})`;
  const columns = ['id', 'trace_id', 'user_id', 'session_id', 'service_name'].map((c) => has(`${alias}.${c}`));
  const series = `${alias}.series_id IN (SELECT series_id FROM llm_series WHERE ${has('model')} OR ${has('provider')})`;
  // JSON escapes quotes, backslashes and control characters; other text appears as is.
  const encoded = sqlString(JSON.stringify(text.toLowerCase()).slice(1, -1));
  const detail = ['errorType', 'errorMessage', 'promptExcerpt', 'responseExcerpt']
    .map((f) => has(`json_extract_string(${alias}.detail, '$.${f}')`))
    .join(' OR ');
  return `(${columns.join(' OR ')} OR ${series} OR (contains(lower(${alias}.detail), ${encoded}) AND (${detail})))`;
}

/**
 * GROUP BY keys and the bucket column of an aggregate over `calls`. Without an interval the
 * bucket is one constant: grouping by it as well doubles the cost of grouping millions of
 * calls (measured: 52 against 23 ms for 30 days of calls by user), so it is added after the
 * grouping instead. With no group dimensions it stays a key, so that no calls give no rows.
 */
function aggregateKeys(q: SummaryQuery): { select: string; groupBy: string } {
  const g = groupAliases(q);
  if (q.intervalMs === null && g.length > 0) {
    return {
      select: [`${int(q.fromMs, 'fromMs')}::BIGINT AS bucket_start_ms`, ...g].join(', '),
      groupBy: g.join(', '),
    };
  }
  const keys = ['bucket_start_ms', ...g].join(', ');
  return { select: keys, groupBy: keys };
}

function bucketExpr(column: string, q: SummaryQuery): string {
  if (q.intervalMs === null) return `${int(q.fromMs, 'fromMs')}::BIGINT`;
  const i = int(q.intervalMs, 'intervalMs');
  return `(floor(${column} / ${i})::BIGINT * ${i})`;
}

const ORDER_COLUMN: Record<SummaryOrderField, string> = {
  requests: 'requests',
  errors: 'errors',
  totalTokens: 'total_tokens',
  costUsd: 'cost_usd',
  latencyP95Ms: 'latency_p95_ms',
};

function groupAliases(q: SummaryQuery): string[] {
  return q.groupBy.map((_, i) => `g${i}`);
}

/** Order within a bucket: the metric descending, then the group values for a stable result. */
function withinBucketOrder(q: SummaryQuery): string {
  const metric = ORDER_COLUMN[q.orderBy ?? 'requests'];
  return [`${metric} DESC NULLS LAST`, ...groupAliases(q).map((g) => `${g} ASC NULLS FIRST`)].join(', ');
}

function limitClause(q: SummaryQuery): string {
  if (q.limit === undefined) return '';
  return `QUALIFY row_number() OVER (PARTITION BY bucket_start_ms ORDER BY ${withinBucketOrder(q)}) <= ${int(q.limit, 'limit')}`;
}

const SUM_COLUMNS = [
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
  'total_tokens',
] as const;

/** Columns every summary query returns, in this shape. */
export const SUMMARY_COLUMNS = [
  'bucket_start_ms',
  'requests',
  'errors',
  ...SUM_COLUMNS,
  ...COST_SUMS.map((c) => c.column),
  'latency_p50_ms',
  'latency_p95_ms',
  'latency_p99_ms',
  'ttft_p95_ms',
] as const;

function sameGroup(q: SummaryQuery, a: string, b: string): string {
  return ['bucket_start_ms', ...groupAliases(q)].map((g) => `${a}.${g} IS NOT DISTINCT FROM ${b}.${g}`).join(' AND ');
}

/** The calls of an exact summary with their bucket and group columns (`g0`, `g1`, …). */
function exactCallsSql(q: SummaryQuery, columns: string, needStatus: boolean): string {
  const where = [
    `k.start_time_ms >= ${int(q.fromMs, 'fromMs')}`,
    `k.start_time_ms < ${int(q.toMs, 'toMs')}`,
    ...callConditions(q.filter, 'k'),
  ].join(' AND ');
  const joinSeries = needStatus || q.groupBy.some((d) => ROLLUP_DIMENSIONS.has(d));
  const groupCols = q.groupBy.map(
    (d, i) =>
      `${d === 'tag' ? DUCKDB_TAG_SET : `${ROLLUP_DIMENSIONS.has(d) ? 'ser' : 'k'}.${DIMENSION_COLUMN[d]}`} AS g${i}`,
  );
  return `SELECT ${[`${bucketExpr('k.start_time_ms', q)} AS bucket_start_ms`, ...groupCols].join(', ')}, ${columns}
    FROM llm_calls k ${joinSeries ? 'JOIN llm_series ser ON ser.series_id = k.series_id' : ''}
    WHERE ${where}`;
}

const EXACT_SUMS = `count(*)::DOUBLE AS requests,
      count_if(status = 'error')::DOUBLE AS errors,
      ${SUM_COLUMNS.map((c) => `coalesce(sum(${c}), 0)::DOUBLE AS ${c}`).join(',\n      ')},
      ${COST_SUMS.map((c) => `(${c.exact})::DOUBLE AS ${c.column}`).join(',\n      ')}`;
const EXACT_SUM_INPUTS = `ser.status, ${[...new Set([...SUM_COLUMNS, ...COST_INPUT_COLUMNS])].map((c) => `k.${c}`).join(', ')}`;
const EXACT_QUANTILES = `quantile_cont(latency_ms, [0.5, 0.95, 0.99]) AS lq, quantile_cont(ttft_ms, 0.95) AS tq`;
const FROM_QUANTILES = 'lq[1] AS latency_p50_ms, lq[2] AS latency_p95_ms, lq[3] AS latency_p99_ms, tq AS ttft_p95_ms';

/** Whether to rank groups first (`exactRankingSql`) and summarise only the winners. */
export function rankFirst(q: SummaryQuery): boolean {
  return q.limit !== undefined && q.orderBy !== 'latencyP95Ms';
}

/**
 * The whole exact summary in one query: sums and interpolated quantiles per group. With
 * `winners` (rows of `exactRankingSql`), calls are first narrowed to the winners' group
 * values and buckets, a superset of the winning groups that the caller filters by key.
 */
export function exactSummarySql(q: SummaryQuery, winners?: ReadonlyArray<Record<string, unknown>>): string {
  const keys = aggregateKeys(q);
  const narrow = winners ? `WHERE ${narrowTo(q, winners).join(' AND ')}` : '';
  return `WITH calls AS (${exactCallsSql(q, `${EXACT_SUM_INPUTS}, k.latency_ms, k.ttft_ms`, true)}),
  agg AS (SELECT ${keys.select}, ${EXACT_SUMS}, ${EXACT_QUANTILES} FROM calls ${narrow} GROUP BY ${keys.groupBy}),
  final AS (SELECT * EXCLUDE (lq, tq), ${FROM_QUANTILES} FROM agg)
SELECT * FROM final
${winners ? '' : limitClause(q)}
ORDER BY bucket_start_ms, ${withinBucketOrder(q)}`;
}

const RANK_METRIC: Record<Exclude<SummaryOrderField, 'latencyP95Ms'>, string> = {
  requests: 'count(*)::DOUBLE',
  errors: "count_if(status = 'error')::DOUBLE",
  totalTokens: 'coalesce(sum(total_tokens), 0)::DOUBLE',
  costUsd: 'coalesce(sum(cost_usd), 0)::DOUBLE',
};

/**
 * The top-N groups per bucket on the order metric alone. Quantiles and the other sums are
 * the expensive part of an exact summary; `exactSummarySql(q, winners)` computes them for
 * the winners only.
 */
export function exactRankingSql(q: SummaryQuery): string {
  const field = (q.orderBy ?? 'requests') as keyof typeof RANK_METRIC;
  const keys = aggregateKeys(q);
  const inputs: Record<keyof typeof RANK_METRIC, string> = {
    requests: 'k.series_id',
    errors: 'ser.status',
    totalTokens: 'k.total_tokens',
    costUsd: 'k.cost_usd',
  };
  return `WITH calls AS (${exactCallsSql(q, inputs[field], field === 'errors')}),
  agg AS (SELECT ${keys.select}, ${RANK_METRIC[field]} AS ${ORDER_COLUMN[field]} FROM calls GROUP BY ${keys.groupBy})
SELECT * FROM agg
${limitClause(q)}`;
}

function narrowTo(q: SummaryQuery, rows: ReadonlyArray<Record<string, unknown>>): string[] {
  const narrow = groupAliases(q).map((alias) => {
    const values = [...new Set(rows.map((r) => (r[alias] ?? null) as string | null))];
    const named = values.filter((v): v is string => v !== null);
    const parts = [];
    // list_contains measured faster than IN (…) for a few dozen strings.
    if (named.length > 0) parts.push(`list_contains([${named.map(sqlString).join(', ')}], ${alias})`);
    if (named.length < values.length) parts.push(`${alias} IS NULL`);
    return parts.length > 0 ? `(${parts.join(' OR ')})` : 'FALSE';
  });
  const buckets = [...new Set(rows.map((r) => Number(r['bucket_start_ms'])))];
  narrow.push(`bucket_start_ms IN (${buckets.map((b) => int(b, 'bucket')).join(', ')})`);
  return narrow;
}

export function rollupSummarySql(q: SummaryQuery, histogram: 'llm_hist_1h' | 'llm_hist_1d'): string {
  const seriesWhere = seriesConditions(q.filter);
  // Rollup plans group by rollup (series) dimensions only.
  const groupCols = q.groupBy.map((d, i) => `${DIMENSION_COLUMN[d as ColumnDimension]} AS g${i}`);
  const g = groupAliases(q);
  const keys = ['bucket_start_ms', ...g].join(', ');
  const from = int(q.fromMs, 'fromMs');
  const to = int(q.toMs, 'toMs');
  const rank = (p: number) => `${p}::DOUBLE * (tot - 1) + 1`;
  return `WITH ser AS (
    SELECT ${['series_id', ...groupCols].join(', ')} FROM llm_series
    ${seriesWhere.length ? `WHERE ${seriesWhere.join(' AND ')}` : ''}),
  sums AS (
    SELECT ${bucketExpr('r.hour_ms', q)} AS bucket_start_ms${g.map((x) => `, ser.${x}`).join('')},
      sum(requests)::DOUBLE AS requests,
      sum(errors)::DOUBLE AS errors,
      ${SUM_COLUMNS.map((c) => `sum(${c})::DOUBLE AS ${c}`).join(',\n      ')},
      ${COST_SUMS.map((c) => `(${c.rollup})::DOUBLE AS ${c.column}`).join(',\n      ')}
    FROM llm_rollup_1h r JOIN ser ON r.series_id = ser.series_id
    WHERE r.hour_ms >= ${from} AND r.hour_ms < ${to}
    GROUP BY ${keys}
    HAVING sum(requests) > 0),
  h AS (
    SELECT ${bucketExpr('x.period_ms', q)} AS bucket_start_ms${g.map((x) => `, ser.${x}`).join('')}, metric, bucket, sum(n) AS n
    FROM ${histogram} x JOIN ser ON x.series_id = ser.series_id
    WHERE x.period_ms >= ${from} AND x.period_ms < ${to}
    GROUP BY ${keys}, metric, bucket),
  c AS (
    SELECT *,
      (sum(n) OVER (PARTITION BY ${keys}, metric ORDER BY bucket))::DOUBLE AS cum,
      (sum(n) OVER (PARTITION BY ${keys}, metric))::DOUBLE AS tot
    FROM h),
  qs AS (
    SELECT ${keys},
      min(bucket) FILTER (WHERE metric = 0 AND cum >= ${rank(0.5)}) AS b50,
      min(bucket) FILTER (WHERE metric = 0 AND cum >= ${rank(0.95)}) AS b95,
      min(bucket) FILTER (WHERE metric = 0 AND cum >= ${rank(0.99)}) AS b99,
      min(bucket) FILTER (WHERE metric = 1 AND cum >= ${rank(0.95)}) AS t95
    FROM c GROUP BY ${keys}),
  joined AS (
    SELECT ${['bucket_start_ms', ...g].map((x) => `sums.${x}`).join(', ')},
      requests, errors, ${SUM_COLUMNS.join(', ')}, ${COST_SUMS.map((c) => c.column).join(', ')},
      ${bucketValueSql('qs.b50')} AS latency_p50_ms,
      ${bucketValueSql('qs.b95')} AS latency_p95_ms,
      ${bucketValueSql('qs.b99')} AS latency_p99_ms,
      CASE WHEN qs.t95 IS NULL THEN NULL ELSE ${bucketValueSql('qs.t95')} END AS ttft_p95_ms
    FROM sums LEFT JOIN qs ON ${sameGroup(q, 'sums', 'qs')})
SELECT * FROM joined
${limitClause(q)}
ORDER BY bucket_start_ms, ${withinBucketOrder(q)}`;
}
