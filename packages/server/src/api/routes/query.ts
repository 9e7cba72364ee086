import type { FieldIssue, SummaryQuery } from '@reskpoints/core';
import { z } from 'zod';
import { parseLlmCallCursor } from '../../store/llm-call-cursor.js';
import { HttpAppError } from '../errors.js';
import { requirePrincipal } from '../guard.js';
import {
  callsQuerySchema,
  finish,
  parseDuration,
  parseFilter,
  parseGroupBy,
  parseRange,
  summaryQuerySchema,
} from '../params.js';
import type { Api, ApiDeps } from '../server.js';

const usageSchema = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheWriteTokens: z.number(),
  reasoningTokens: z.number(),
  totalTokens: z.number(),
});
const nullableNum = z.number().nullable();

export const callCostSchema = z
  .object({
    totalUsd: nullableNum.describe('Computed cost; null when no price matched (unpriced)'),
    inputUsd: z.number(),
    outputUsd: z.number(),
    cacheReadUsd: z.number(),
    cacheWriteUsd: z.number(),
    reasoningUsd: z.number(),
    requestUsd: z.number().describe('Per-request fee'),
    priceId: z.string().nullable().describe('Price entry the call was costed with'),
    priceVersion: z.string().nullable(),
    tier: z.string().nullable().describe('Context or service tier applied, null for the base price'),
    tokensEstimated: z.boolean().describe('Token counts were estimated, not reported'),
  })
  .describe('Cost computed from usage and the price book, with its provenance');

/** The cost fields of every aggregate read (summary rows, breakdowns, reports). */
export const costSummarySchema = z.object({
  costUsd: nullableNum.describe('Sum of computed costs; null when no call was priced'),
  costIsLowerBound: z.boolean().describe('Some calls are unpriced, so the real cost is higher'),
  inputCostUsd: z.number(),
  outputCostUsd: z.number(),
  cacheReadCostUsd: z.number(),
  cacheWriteCostUsd: z.number(),
  reasoningCostUsd: z.number(),
  requestCostUsd: z.number(),
  costPerRequestUsd: nullableNum.describe('Cost per priced call'),
  costPer1kTokensUsd: nullableNum.describe('Cost per 1,000 tokens of the priced calls'),
  unpricedRequests: z.number().describe('Calls no price matched'),
  pricedTokens: z.number(),
  reportedCostUsd: nullableNum.describe('Sum of client-reported costs; null when none reported one'),
  reportedCostRequests: z.number(),
  reportedCostMismatches: z.number().describe('Calls whose reported cost differs from the computed one by > 0.5%'),
  estimatedRequests: z.number().describe('Calls costed with estimated token counts'),
});
export const llmCallResponseSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  environment: z.string(),
  source: z.string(),
  traceId: z.string().nullable(),
  spanId: z.string().nullable(),
  parentSpanId: z.string().nullable(),
  serviceName: z.string().nullable(),
  provider: z.string(),
  model: z.string(),
  requestModel: z.string().nullable(),
  responseModel: z.string().nullable(),
  operation: z.string(),
  startTimeMs: z.number(),
  latencyMs: z.number(),
  ttftMs: nullableNum,
  status: z.enum(['ok', 'error']),
  errorType: z.string().nullable(),
  errorMessage: z.string().nullable(),
  userId: z.string().nullable(),
  sessionId: z.string().nullable(),
  tags: z.array(z.string()),
  metadata: z.record(z.string(), z.string()),
  usageRaw: z.object({
    semantics: z.string(),
    inputTokens: nullableNum,
    outputTokens: nullableNum,
    cacheReadTokens: nullableNum,
    cacheWriteTokens: nullableNum,
    reasoningTokens: nullableNum,
    totalTokens: nullableNum,
  }),
  usage: usageSchema,
  reportedCostUsd: nullableNum.describe('Cost the source reported, if any'),
  cost: callCostSchema,
  promptExcerpt: z.string().nullable(),
  responseExcerpt: z.string().nullable(),
  ingestedAtMs: z.number(),
});

const summaryRowSchema = z.object({
  bucketStartMs: z.number(),
  group: z.record(z.string(), z.string().nullable()),
  requests: z.number(),
  errors: z.number(),
  errorRate: z.number(),
  ...usageSchema.shape,
  ...costSummarySchema.shape,
  latencyP50Ms: nullableNum,
  latencyP95Ms: nullableNum,
  latencyP99Ms: nullableNum,
  ttftP95Ms: nullableNum,
});

/** Longest a read waits for acknowledged events still being committed. */
const READ_AFTER_ACK_WAIT_MS = 5_000;

export function registerQueryRoutes(app: Api | import('fastify').FastifyInstance, deps: ApiDeps): void {
  const api = app as Api;
  const telemetry = deps.telemetry;
  if (!telemetry) return;
  /** Events acknowledged before a read are in its answer, even those acknowledged from the log. */
  const readAfterAck = () => deps.pipeline?.settled(READ_AFTER_ACK_WAIT_MS);

  api.get(
    '/api/v1/llm/calls',
    {
      schema: {
        tags: ['query'],
        summary: 'LLM calls in a time range, newest first, with cursor pagination',
        querystring: callsQuerySchema,
        response: { 200: z.object({ items: z.array(llmCallResponseSchema), nextCursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const principal = await requirePrincipal(req, deps, 'any');
      const issues: FieldIssue[] = [];
      const range = parseRange(req.query, deps.config().query, deps.clock.nowMs(), issues);
      const filter = parseFilter(req.query, principal, issues);
      if (req.query.cursor) {
        const c = parseLlmCallCursor(req.query.cursor);
        if (!c.ok) issues.push(...(c.error.issues ?? []));
      }
      const text = req.query.q?.trim();
      const q = finish(
        { ...range, filter, limit: req.query.limit, cursor: req.query.cursor, ...(text ? { text } : {}) },
        issues,
      );
      if (!q.ok) throw new HttpAppError(q.error);
      await readAfterAck();
      return telemetry.listLlmCalls(q.value);
    },
  );

  api.get(
    '/api/v1/llm/summary',
    {
      schema: {
        tags: ['query'],
        summary: 'Requests, errors, tokens, cost and latency percentiles per group and time bucket',
        querystring: summaryQuerySchema,
        response: { 200: z.object({ rows: z.array(summaryRowSchema), precision: z.enum(['exact', 'rollup']) }) },
      },
    },
    async (req) => {
      const principal = await requirePrincipal(req, deps, 'any');
      const cfg = deps.config();
      const issues: FieldIssue[] = [];
      const range = parseRange(req.query, cfg.query, deps.clock.nowMs(), issues);
      const filter = parseFilter(req.query, principal, issues);
      const groupBy = parseGroupBy(req.query.groupBy, issues);
      let intervalMs: number | null = null;
      if (req.query.interval) {
        intervalMs = parseDuration(req.query.interval);
        if (intervalMs == null || intervalMs < 1000)
          issues.push({
            path: 'interval',
            message: `must be a duration of at least 1s such as 1m, 1h, 1d; got ${JSON.stringify(req.query.interval)}`,
          });
        else if (range.toMs > range.fromMs && (range.toMs - range.fromMs) / intervalMs > cfg.query.maxBuckets)
          issues.push({
            path: 'interval',
            message: `would make more than ${cfg.query.maxBuckets} buckets; widen the interval or shorten the range`,
          });
      }
      const query: SummaryQuery = { ...range, filter, groupBy, intervalMs };
      if (req.query.orderBy) query.orderBy = req.query.orderBy;
      if (req.query.limit) query.limit = req.query.limit;
      const q = finish(query, issues);
      if (!q.ok) throw new HttpAppError(q.error);
      await readAfterAck();
      return telemetry.summarize(q.value);
    },
  );
}
