import type { LlmCall } from './telemetry.js';

/**
 * Dimensions a summary can be grouped by. `tag` groups a call by its set of tags (distinct,
 * sorted, joined by `,`; null when it has none), so that a call counts in one group only and
 * the groups still add up to the total; filter by `tags` to narrow to calls carrying a tag.
 */
export const SUMMARY_DIMENSIONS = [
  'project',
  'environment',
  'provider',
  'model',
  'operation',
  'status',
  'user',
  'session',
  'service',
  'tag',
] as const;
export type SummaryDimension = (typeof SUMMARY_DIMENSIONS)[number];

/** Separator of the tags in a `tag` group value. */
export const TAG_SET_SEPARATOR = ',';

/** The `tag` group value of a call's tags: distinct, sorted (by code unit), joined; null when none. */
export function tagSetValue(tags: readonly string[]): string | null {
  if (tags.length === 0) return null;
  return [...new Set(tags)].sort().join(TAG_SET_SEPARATOR);
}

/** Filters shared by the call list and the summary. Every field narrows; arrays mean "any of". */
export interface LlmCallFilter {
  projectIds?: string[];
  environments?: string[];
  providers?: string[];
  models?: string[];
  operations?: string[];
  statuses?: Array<'ok' | 'error'>;
  userIds?: string[];
  sessionIds?: string[];
  services?: string[];
  /** Calls carrying every one of these tags. */
  tags?: string[];
  traceId?: string;
}

export interface TimeRange {
  /** Inclusive, epoch ms. */
  fromMs: number;
  /** Exclusive, epoch ms. */
  toMs: number;
}

export interface LlmCallListQuery extends TimeRange {
  filter: LlmCallFilter;
  /** 1..1000 */
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  /**
   * Case-insensitive text search: calls with this text in their id, trace, user, session,
   * service, provider, model, error, or prompt or response excerpt. 1..200 characters.
   */
  text?: string;
}

/** The fields `LlmCallListQuery.text` searches, in the order stores check them. */
export const LLM_CALL_SEARCH_FIELDS = [
  'id',
  'traceId',
  'userId',
  'sessionId',
  'serviceName',
  'provider',
  'model',
  'errorType',
  'errorMessage',
  'promptExcerpt',
  'responseExcerpt',
] as const;

export interface LlmCallPage {
  items: LlmCall[];
  nextCursor: string | null;
}

export const SUMMARY_ORDER_FIELDS = ['requests', 'errors', 'totalTokens', 'costUsd', 'latencyP95Ms'] as const;
export type SummaryOrderField = (typeof SUMMARY_ORDER_FIELDS)[number];

export interface SummaryQuery extends TimeRange {
  filter: LlmCallFilter;
  groupBy: SummaryDimension[];
  /** Bucket width in ms (aligned to the Unix epoch), or null for one bucket over the range. */
  intervalMs: number | null;
  /** Order groups by this metric, descending. Default: bucket then requests. */
  orderBy?: SummaryOrderField;
  /** Keep the first N groups (per bucket when intervalMs is set). */
  limit?: number;
}

/**
 * Sums of the cost of a set of calls, as every store returns them. Parts are sums over
 * priced calls; `costUsd` is their total. USD throughout.
 */
export interface CostSums {
  costUsd: number;
  inputCostUsd: number;
  outputCostUsd: number;
  cacheReadCostUsd: number;
  cacheWriteCostUsd: number;
  reasoningCostUsd: number;
  requestCostUsd: number;
  /** Calls no price matched: their cost is unknown, not zero. */
  unpricedRequests: number;
  /** Tokens (input + output) of the priced calls, the denominator of `costPer1kTokensUsd`. */
  pricedTokens: number;
  /** Sum of the costs the sources reported, and how many calls reported one. */
  reportedCostUsd: number;
  reportedCostRequests: number;
  /** Calls whose reported cost differs from the computed one (see docs/cost.md). */
  reportedCostMismatches: number;
  /** Calls whose token counts were estimated rather than reported. */
  estimatedRequests: number;
}

export const COST_SUM_FIELDS = [
  'costUsd',
  'inputCostUsd',
  'outputCostUsd',
  'cacheReadCostUsd',
  'cacheWriteCostUsd',
  'reasoningCostUsd',
  'requestCostUsd',
  'unpricedRequests',
  'pricedTokens',
  'reportedCostUsd',
  'reportedCostRequests',
  'reportedCostMismatches',
  'estimatedRequests',
] as const satisfies ReadonlyArray<keyof CostSums>;

/** What a read says about cost: the sums, with the total null when nothing was priced. */
export interface CostSummary extends Omit<CostSums, 'costUsd' | 'reportedCostUsd'> {
  /** Total computed cost; null when no call in the group was priced. */
  costUsd: number | null;
  /** True when some calls are unpriced, so the total counts less than was spent. */
  costIsLowerBound: boolean;
  /** Cost per priced call; null when none was priced. */
  costPerRequestUsd: number | null;
  /** Cost per 1,000 tokens of the priced calls; null when they had no tokens. */
  costPer1kTokensUsd: number | null;
  /** Sum of client-reported costs; null when no call reported one. */
  reportedCostUsd: number | null;
}

/** A call's reported cost differs from the computed one by more than this share (or $0.000001). */
export const REPORTED_COST_TOLERANCE = 0.005;

/** Whether a client-reported cost disagrees with the computed one (both known). */
export function reportedCostDiffers(reportedUsd: number, computedUsd: number): boolean {
  return (
    Math.abs(reportedUsd - computedUsd) > Math.max(1e-6, REPORTED_COST_TOLERANCE * Math.max(reportedUsd, computedUsd))
  );
}

export function emptyCostSums(): CostSums {
  return {
    costUsd: 0,
    inputCostUsd: 0,
    outputCostUsd: 0,
    cacheReadCostUsd: 0,
    cacheWriteCostUsd: 0,
    reasoningCostUsd: 0,
    requestCostUsd: 0,
    unpricedRequests: 0,
    pricedTokens: 0,
    reportedCostUsd: 0,
    reportedCostRequests: 0,
    reportedCostMismatches: 0,
    estimatedRequests: 0,
  };
}

/** Adds the cost of one call to `sums`. */
export function addCallCost(sums: CostSums, call: LlmCall): void {
  const c = call.cost;
  if (c.tokensEstimated) sums.estimatedRequests++;
  if (call.reportedCostUsd !== null) {
    sums.reportedCostUsd += call.reportedCostUsd;
    sums.reportedCostRequests++;
    if (c.totalUsd !== null && reportedCostDiffers(call.reportedCostUsd, c.totalUsd)) sums.reportedCostMismatches++;
  }
  if (c.totalUsd === null) {
    sums.unpricedRequests++;
    return;
  }
  sums.costUsd += c.totalUsd;
  sums.inputCostUsd += c.inputUsd;
  sums.outputCostUsd += c.outputUsd;
  sums.cacheReadCostUsd += c.cacheReadUsd;
  sums.cacheWriteCostUsd += c.cacheWriteUsd;
  sums.reasoningCostUsd += c.reasoningUsd;
  sums.requestCostUsd += c.requestUsd;
  sums.pricedTokens += call.usage.totalTokens;
}

/** Adds `b` into `a`. */
export function mergeCostSums(a: CostSums, b: CostSums): void {
  for (const f of COST_SUM_FIELDS) a[f] += b[f];
}

/** The cost part of a read from the sums of `requests` calls. */
export function costSummary(sums: CostSums, requests: number): CostSummary {
  const priced = requests - sums.unpricedRequests;
  const costUsd = priced > 0 ? sums.costUsd : null;
  return {
    ...sums,
    costUsd,
    costIsLowerBound: sums.unpricedRequests > 0,
    costPerRequestUsd: costUsd === null ? null : costUsd / priced,
    costPer1kTokensUsd: costUsd === null || sums.pricedTokens <= 0 ? null : (costUsd / sums.pricedTokens) * 1000,
    reportedCostUsd: sums.reportedCostRequests > 0 ? sums.reportedCostUsd : null,
  };
}

export interface SummaryRow extends CostSummary {
  /** Start of the bucket (epoch ms); the range start when intervalMs is null. */
  bucketStartMs: number;
  /** One entry per groupBy dimension, in the order asked. */
  group: Partial<Record<SummaryDimension, string | null>>;
  requests: number;
  errors: number;
  errorRate: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  /** Cost, its parts and its provenance counts (see `CostSummary`). */
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  ttftP95Ms: number | null;
}

/** A group's cost: the sum of its known costs, or null when none of its calls has one. */
export function groupCostUsd(knownCostUsd: number, requests: number, unpricedRequests: number): number | null {
  return unpricedRequests >= requests ? null : knownCostUsd;
}

export interface SummaryResult {
  rows: SummaryRow[];
  /**
   * `exact` when computed from raw calls; `rollup` when percentiles come from hourly
   * histograms (relative error at most 2.5%).
   */
  precision: 'exact' | 'rollup';
}
