/**
 * Langfuse-compatible endpoints: batch ingestion (the `langfuse` v3 client) and the daily
 * metrics read. Authenticated with a project's Langfuse key pair (Basic) or any project key.
 */
import { type FieldIssue, type LlmCallFilter, validationError } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpAppError } from '../api/errors.js';
import { requirePrincipal } from '../api/guard.js';
import { splitList } from '../api/params.js';
import type { Api, ApiDeps } from '../api/server.js';
import { useRawBodyParsers } from '../api/server.js';
import { LangfusePending } from '../ingest/langfuse/langfuse-pending.js';
import { DAY_MS, dailyMetricsFromSummary, pageOfDays } from './daily-metrics.js';
import { ingestLangfuseBatch } from './langfuse-ingest.js';

const outcomeSchema = z.object({ id: z.string(), status: z.number().int() });
export const ingestionResponseSchema = z.object({
  successes: z.array(outcomeSchema),
  errors: z.array(outcomeSchema.extend({ message: z.string().optional() })),
});

export async function registerLangfuseIngestionRoute(app: Api | FastifyInstance, deps: ApiDeps): Promise<void> {
  const pipeline = deps.pipeline;
  if (!pipeline) return;
  const pending = new LangfusePending({ state: deps.state, clock: deps.clock });
  await (app as Api).register(async (api) => {
    // The raw bytes: they are decoded after authentication, together with held parts.
    useRawBodyParsers(api, () => deps.config().ingest.maxBodyBytes, ['application/json']);
    api.post(
      '/api/public/ingestion',
      {
        schema: {
          tags: ['ingest', 'langfuse'],
          summary: 'Langfuse batch ingestion (the `langfuse` v3 client; Langfuse key pair as Basic auth)',
          description:
            "Langfuse's `{batch:[{id, timestamp, type, body}]}`. Answers 207 with `successes` and `errors` per event, once the stored events are durable. Generations become LLM calls, other observations spans; create and update events of one observation are merged, across requests too (see docs/langfuse.md). 429/503 carry Retry-After.",
          response: { 207: ingestionResponseSchema },
        },
      },
      async (req, reply) => {
        const principal = await requirePrincipal(req, deps, 'project');
        if (principal.kind !== 'project') return reply;
        const r = await ingestLangfuseBatch(
          {
            pipeline,
            pending,
            clock: deps.clock,
            excerptMaxChars: () => deps.config().ingest.excerptMaxChars,
            metrics: deps.metrics,
            ingest: deps.ingest,
          },
          principal.projectId,
          req.body as Buffer,
        );
        if (!r.ok) throw new HttpAppError(r.error);
        return reply.code(207).send(r.value);
      },
    );
  });
}

const dailyUsageSchema = z.object({
  model: z.string().nullable(),
  inputUsage: z.number(),
  outputUsage: z.number(),
  totalUsage: z.number(),
  countObservations: z.number(),
  countTraces: z.number(),
  totalCost: z.number(),
});
export const dailyMetricSchema = z.object({
  date: z.string(),
  countTraces: z.number(),
  countObservations: z.number(),
  totalCost: z.number(),
  usage: z.array(dailyUsageSchema),
});
export const dailyMetricsResponseSchema = z.object({
  data: z.array(dailyMetricSchema),
  meta: z.object({ page: z.number(), limit: z.number(), totalItems: z.number(), totalPages: z.number() }),
});

const stringOrList = z.union([z.string(), z.array(z.string())]).optional();
const dailyQuerySchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  traceName: z.string().optional().describe('Not supported: ReskPoints keeps no trace names on calls'),
  userId: z.string().optional(),
  tags: stringOrList.describe('Calls carrying every listed tag'),
  environment: stringOrList,
  fromTimestamp: z.iso.datetime({ offset: true }).optional().describe('Default: the retention period ago'),
  toTimestamp: z.iso.datetime({ offset: true }).optional().describe('Default: now'),
});

/** Longest a read waits for acknowledged events still being committed. */
const READ_AFTER_ACK_WAIT_MS = 5_000;

export function registerLangfuseMetricsRoute(app: Api | FastifyInstance, deps: ApiDeps): void {
  const telemetry = deps.telemetry;
  if (!telemetry) return;
  (app as Api).get(
    '/api/public/metrics/daily',
    {
      schema: {
        tags: ['query', 'langfuse'],
        summary: "Daily cost, counts and usage per model in Langfuse's shape (Langfuse key pair or any key)",
        description:
          'Days with calls, newest first, paged. Built from the summary query; countObservations counts LLM calls, and so does countTraces (ReskPoints keeps calls, not traces). A project credential reads its project; the admin token reads all projects. See docs/langfuse.md.',
        querystring: dailyQuerySchema,
        response: { 200: dailyMetricsResponseSchema },
      },
    },
    async (req) => {
      const principal = await requirePrincipal(req, deps, 'any');
      const q = req.query;
      const cfg = deps.config();
      const issues: FieldIssue[] = [];
      if (q.traceName !== undefined)
        issues.push({
          path: 'traceName',
          message: 'filtering by trace name is not supported: calls carry no trace name',
        });
      const nowMs = deps.clock.nowMs();
      const toMs = q.toTimestamp ? Date.parse(q.toTimestamp) : nowMs;
      const fromMs = q.fromTimestamp ? Date.parse(q.fromTimestamp) : toMs - cfg.retentionDays * DAY_MS;
      if (fromMs >= toMs) issues.push({ path: 'fromTimestamp', message: 'must be before toTimestamp' });
      else if (toMs - fromMs > cfg.query.maxRangeDays * DAY_MS)
        issues.push({ path: 'fromTimestamp', message: `the range may span at most ${cfg.query.maxRangeDays} days` });
      if (issues.length) throw new HttpAppError(validationError(issues, 'invalid query'));
      const filter: LlmCallFilter = {};
      if (principal.kind === 'project') filter.projectIds = [principal.projectId];
      if (q.userId) filter.userIds = [q.userId];
      const tags = splitList(q.tags);
      if (tags) filter.tags = tags;
      const environments = splitList(q.environment);
      if (environments) filter.environments = environments;
      await deps.pipeline?.settled(READ_AFTER_ACK_WAIT_MS);
      const summary = await telemetry.summarize({ fromMs, toMs, filter, groupBy: ['model'], intervalMs: DAY_MS });
      return pageOfDays(dailyMetricsFromSummary(summary.rows), q.page, q.limit);
    },
  );
}
