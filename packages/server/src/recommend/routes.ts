/**
 * `GET /api/v1/recommendations` (savings in USD per month, token efficiency per project, cost per
 * user, session and outcome) and `GET /api/v1/chargeback` (shared spend allocated to teams by
 * tag, JSON or CSV).
 */
import type { FieldIssue, LlmCall, LlmCallFilter, PriceBook } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { filterQuerySchema, finish, parseFilter, parseTime, TIME_FORMS } from '../api/params.js';
import type { RouteHelpers } from '../platform/module.js';
import type { TelemetryStore } from '../store/ports.js';
import { analyzeCalls, chargeback, chargebackToCsv, DAY_MS } from './analyze.js';
import type { RecommendConfig } from './module.js';

export interface RecommendRouteDeps {
  telemetry: TelemetryStore;
  book(): Promise<PriceBook>;
  config(): RecommendConfig;
  nowMs(): number;
}

const PAGE = 1000;

/** The newest calls in the range, at most `max`; `truncated` when more matched. */
export async function loadCalls(
  telemetry: TelemetryStore,
  q: { fromMs: number; toMs: number; filter: LlmCallFilter },
  max: number,
): Promise<{ calls: LlmCall[]; truncated: boolean }> {
  const calls: LlmCall[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await telemetry.listLlmCalls({
      fromMs: q.fromMs,
      toMs: q.toMs,
      filter: q.filter,
      limit: Math.min(PAGE, max - calls.length + 1),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    calls.push(...page.items);
    if (calls.length > max) return { calls: calls.slice(0, max), truncated: true };
    if (page.nextCursor === null) return { calls, truncated: false };
    cursor = page.nextCursor;
  }
}

const rangeSchema = {
  from: z.string().max(40).optional().describe(`Range start (default: recommend.windowDays before to): ${TIME_FORMS}`),
  to: z.string().max(40).optional().describe('Range end (default now)'),
};

function parseWindow(
  q: { from?: string | undefined; to?: string | undefined },
  windowDays: number,
  nowMs: number,
  issues: FieldIssue[],
): { fromMs: number; toMs: number } {
  let toMs = nowMs;
  if (q.to !== undefined) {
    const t = parseTime(q.to, nowMs);
    if (t === null) issues.push({ path: 'to', message: `expected ${TIME_FORMS}; got ${JSON.stringify(q.to)}` });
    else toMs = t;
  }
  let fromMs = toMs - windowDays * DAY_MS;
  if (q.from !== undefined) {
    const f = parseTime(q.from, nowMs);
    if (f === null) issues.push({ path: 'from', message: `expected ${TIME_FORMS}; got ${JSON.stringify(q.from)}` });
    else fromMs = f;
  }
  if (toMs <= fromMs) issues.push({ path: 'to', message: 'must be after from' });
  else if (toMs - fromMs > 366 * DAY_MS) issues.push({ path: 'to', message: 'range longer than 366 days' });
  return { fromMs, toMs };
}

const kindSchema = z.enum(['cheaper-model', 'prompt-caching', 'errors', 'truncated-completions', 'duplicate-requests']);
const costPerSchema = z.object({
  key: z.string(),
  costUsd: z.number(),
  calls: z.number(),
  sessions: z.number(),
  costPerCallUsd: z.number(),
});

export function registerRecommendRoutes(app: FastifyInstance, helpers: RouteHelpers, deps: RecommendRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['recommendations'];

  api.get(
    '/api/v1/recommendations',
    {
      schema: {
        tags,
        summary:
          'Savings recommendations quantified in USD per month, token efficiency per project, cost per user, session and outcome tag, from stored calls',
        querystring: z.object({
          ...filterQuerySchema.shape,
          ...rangeSchema,
          limit: z.coerce.number().int().min(1).max(1000).default(50).describe('Rows per cost-per list'),
        }),
        response: {
          200: z.object({
            fromMs: z.number(),
            toMs: z.number(),
            monthFactor: z.number().describe('30 days / the range: range amounts times this are monthly'),
            callsAnalyzed: z.number(),
            unpricedCalls: z.number().describe('Calls without a price, counted as $0'),
            truncated: z.boolean().describe('More calls matched than recommend.maxCalls; the newest were analysed'),
            totalSpendUsd: z.number(),
            recommendations: z.array(
              z.object({
                kind: kindSchema,
                projectId: z.string(),
                model: z.string().nullable(),
                title: z.string(),
                detail: z.string(),
                savingsUsdPerMonth: z.number(),
                affectedUsdPerMonth: z.number(),
                calls: z.number(),
                evidence: z.record(z.string(), z.union([z.string(), z.number()])),
              }),
            ),
            notes: z.array(z.string()).describe('Checks that could not run, and why'),
            efficiency: z.array(
              z.object({
                projectId: z.string(),
                score: z.number().describe('0–100: share of spend not lost to the findings'),
                spendUsdPerMonth: z.number(),
                wasteUsdPerMonth: z.number(),
                drivers: z.array(z.object({ kind: kindSchema, usdPerMonth: z.number(), shareOfSpend: z.number() })),
                calls: z.number(),
                cacheHitRate: z.number(),
                outputInputRatio: z.number(),
                errorRate: z.number(),
              }),
            ),
            costPerUser: z.array(costPerSchema),
            costPerSession: z.array(costPerSchema.extend({ userId: z.string().nullable() })),
            costPerOutcome: z.array(
              z.object({
                outcome: z.string(),
                costUsd: z.number(),
                outcomes: z.number(),
                costPerOutcomeUsd: z.number(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const cfg = deps.config();
      const issues: FieldIssue[] = [];
      const filter = parseFilter(req.query, principal, issues);
      const range = parseWindow(req.query, cfg.windowDays, deps.nowMs(), issues);
      const ok = finish(null, issues);
      if (!ok.ok) helpers.fail(ok.error);
      const { calls, truncated } = await loadCalls(deps.telemetry, { ...range, filter }, cfg.maxCalls);
      return analyzeCalls(
        calls,
        await deps.book(),
        {
          ...range,
          shortInputTokens: cfg.shortInputTokens,
          shortOutputTokens: cfg.shortOutputTokens,
          downgrades: cfg.downgrades,
          minPrefixChars: cfg.minPrefixChars,
          minPrefixRepeats: cfg.minPrefixRepeats,
          duplicateWindowMs: cfg.duplicateWindowMs,
          retryWindowMs: cfg.retryWindowMs,
          outcomeTagPrefix: cfg.outcomeTagPrefix,
          limit: req.query.limit,
        },
        truncated,
      );
    },
  );

  api.get(
    '/api/v1/chargeback',
    {
      schema: {
        tags,
        summary:
          'Chargeback: spend per team by tag (team:<name>), with untagged shared spend allocated in proportion to direct spend or evenly; JSON or CSV',
        querystring: z.object({
          ...filterQuerySchema.shape,
          ...rangeSchema,
          tagPrefix: z
            .string()
            .min(1)
            .max(64)
            .optional()
            .describe('Team tags start with this (default recommend.teamTagPrefix, team:)'),
          method: z.enum(['proportional', 'even']).default('proportional'),
          format: z.enum(['json', 'csv']).default('json'),
        }),
        response: {
          200: z.object({
            fromMs: z.number(),
            toMs: z.number(),
            tagPrefix: z.string(),
            method: z.enum(['proportional', 'even']),
            totalUsd: z.number(),
            sharedUsd: z.number().describe('Spend of calls without a team tag'),
            unallocatedUsd: z.number().describe('Shared spend no team could take (no team tags at all)'),
            callsAnalyzed: z.number(),
            truncated: z.boolean(),
            rows: z.array(
              z.object({
                team: z.string(),
                directUsd: z.number(),
                sharedUsd: z.number(),
                totalUsd: z.number(),
                share: z.number(),
                calls: z.number(),
              }),
            ),
          }),
        },
      },
    },
    async (req, reply) => {
      const principal = await helpers.authenticate(req, 'any');
      const cfg = deps.config();
      const issues: FieldIssue[] = [];
      const filter = parseFilter(req.query, principal, issues);
      const range = parseWindow(req.query, cfg.windowDays, deps.nowMs(), issues);
      const ok = finish(null, issues);
      if (!ok.ok) helpers.fail(ok.error);
      const { calls, truncated } = await loadCalls(deps.telemetry, { ...range, filter }, cfg.maxCalls);
      const report = chargeback(
        calls,
        { ...range, tagPrefix: req.query.tagPrefix ?? cfg.teamTagPrefix, method: req.query.method },
        truncated,
      );
      if (req.query.format === 'csv') {
        const name = `chargeback-${new Date(report.fromMs).toISOString().slice(0, 10)}.csv`;
        return (
          reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="${name}"`)
            // A string is sent as it is, not through the JSON response schema.
            .send(chargebackToCsv(report) as unknown as typeof report)
        );
      }
      return report;
    },
  );
}
