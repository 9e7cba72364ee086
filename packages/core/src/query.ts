import type { LlmCall } from './telemetry.js';

/** Dimensions a summary can be grouped by. */
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
] as const;
export type SummaryDimension = (typeof SUMMARY_DIMENSIONS)[number];

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
}

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

export interface SummaryRow {
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
  /**
   * Sum of the known costs; null when no call of the group has one (an unknown cost is not
   * $0). `unpricedRequests` counts the calls without a cost.
   */
  costUsd: number | null;
  unpricedRequests: number;
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
