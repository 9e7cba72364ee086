import { type CostSums, REPORTED_COST_TOLERANCE } from '@reskpoints/core';

/**
 * The cost columns of `llm_calls` and `llm_rollup_1h` (schema version 5), in table order.
 * `cost_usd` (the computed total, NULL when unpriced) predates them. Whether a call's
 * tokens were estimated is bit 10 of `flags` (see telemetry-columns.ts).
 */
export const LLM_CALL_COST_COLUMNS = [
  ['reported_cost_usd', 'DOUBLE'],
  ['input_cost_usd', 'DOUBLE'],
  ['output_cost_usd', 'DOUBLE'],
  ['cache_read_cost_usd', 'DOUBLE'],
  ['cache_write_cost_usd', 'DOUBLE'],
  ['reasoning_cost_usd', 'DOUBLE'],
  ['request_cost_usd', 'DOUBLE'],
  ['price_id', 'VARCHAR'],
  ['price_version', 'VARCHAR'],
  ['cost_tier', 'VARCHAR'],
] as const;

/** Sums the hourly rollup carries besides `cost_usd` and `unpriced_requests`, in table order. */
export const ROLLUP_COST_COLUMNS = [
  ['input_cost_usd', 'DOUBLE'],
  ['output_cost_usd', 'DOUBLE'],
  ['cache_read_cost_usd', 'DOUBLE'],
  ['cache_write_cost_usd', 'DOUBLE'],
  ['reasoning_cost_usd', 'DOUBLE'],
  ['request_cost_usd', 'DOUBLE'],
  ['priced_tokens', 'BIGINT'],
  ['reported_cost_usd', 'DOUBLE'],
  ['reported_requests', 'BIGINT'],
  ['reported_mismatches', 'BIGINT'],
  ['estimated_requests', 'BIGINT'],
] as const;

/** `flags` bit set when a call's token counts were estimated. */
export const TOKENS_ESTIMATED_FLAG = 1024;

/** Columns of `llm_calls` the exact cost sums read (unqualified, as the summary's `calls` CTE names them). */
export const COST_INPUT_COLUMNS = [
  'cost_usd',
  'total_tokens',
  'flags',
  ...LLM_CALL_COST_COLUMNS.slice(0, 7).map(([name]) => name),
] as const;

/**
 * Every cost sum a summary returns: its name in `CostSums`, the result column, the aggregate
 * over raw calls and the one over rollup rows. A reported cost counts as different when it is
 * off by more than 0.5% or $0.000001 (`reportedCostDiffers` in core).
 */
export const COST_SUMS: ReadonlyArray<{ field: keyof CostSums; column: string; exact: string; rollup: string }> = [
  { field: 'costUsd', column: 'cost_usd', exact: 'coalesce(sum(cost_usd), 0)', rollup: 'sum(cost_usd)' },
  ...(
    [
      ['inputCostUsd', 'input_cost_usd'],
      ['outputCostUsd', 'output_cost_usd'],
      ['cacheReadCostUsd', 'cache_read_cost_usd'],
      ['cacheWriteCostUsd', 'cache_write_cost_usd'],
      ['reasoningCostUsd', 'reasoning_cost_usd'],
      ['requestCostUsd', 'request_cost_usd'],
    ] as const
  ).map(([field, column]) => ({ field, column, exact: `coalesce(sum(${column}), 0)`, rollup: `sum(${column})` })),
  {
    field: 'unpricedRequests',
    column: 'unpriced_requests',
    exact: 'count(*) - count(cost_usd)',
    rollup: 'sum(unpriced_requests)',
  },
  {
    field: 'pricedTokens',
    column: 'priced_tokens',
    exact: 'coalesce(sum(total_tokens) FILTER (WHERE cost_usd IS NOT NULL), 0)',
    rollup: 'sum(priced_tokens)',
  },
  {
    field: 'reportedCostUsd',
    column: 'reported_cost_usd',
    exact: 'coalesce(sum(reported_cost_usd), 0)',
    rollup: 'sum(reported_cost_usd)',
  },
  {
    field: 'reportedCostRequests',
    column: 'reported_requests',
    exact: 'count(reported_cost_usd)',
    rollup: 'sum(reported_requests)',
  },
  {
    field: 'reportedCostMismatches',
    column: 'reported_mismatches',
    exact: `count_if(abs(reported_cost_usd - cost_usd) > greatest(1e-6, ${REPORTED_COST_TOLERANCE} * greatest(reported_cost_usd, cost_usd)))`,
    rollup: 'sum(reported_mismatches)',
  },
  {
    field: 'estimatedRequests',
    column: 'estimated_requests',
    exact: `count_if((flags & ${TOKENS_ESTIMATED_FLAG}) <> 0)`,
    rollup: 'sum(estimated_requests)',
  },
];
