/**
 * `/api/v1/quota/reserve`, `/api/v1/quota/settle` and `/api/v1/quotas` (definitions). Answers
 * carry the IETF draft rate-limit fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy`
 * lists each quota that applied (`q` limit, `w` window in seconds, `qu` unit) and `RateLimit`
 * what is left (`r`) and when the window resets (`t`, seconds). Limits must be integers there:
 * token quotas are in tokens, cost quotas in micro-dollars (`qu="usd-micros"`).
 */
import { appError } from '@reskpoints/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteHelpers } from '../platform/module.js';
import { type CounterState, QUOTA_DIMENSIONS, type QuotaRule } from './quota-core.js';
import type { QuotaService } from './quota-service.js';

const UNIT = { requests: 'requests', tokens: 'tokens', costUsd: 'usd-micros' } as const;
const inUnit = (metric: CounterState['metric'], v: number): number =>
  metric === 'costUsd' ? Math.floor(v * 1_000_000) : Math.floor(v);

function setRateLimitHeaders(reply: FastifyReply, counters: readonly CounterState[]): void {
  if (counters.length === 0) return;
  reply.header(
    'ratelimit-policy',
    counters
      .map(
        (c) => `"${c.ruleId}";q=${inUnit(c.metric, c.limit)};w=${Math.ceil(c.windowMs / 1000)};qu="${UNIT[c.metric]}"`,
      )
      .join(', '),
  );
  reply.header(
    'ratelimit',
    counters.map((c) => `"${c.ruleId}";r=${inUnit(c.metric, c.remaining)};t=${Math.ceil(c.resetMs / 1000)}`).join(', '),
  );
}

const counterSchema = z.object({
  quotaId: z.string(),
  counter: z.string().describe('The rule id, plus the value of each `*` dimension'),
  metric: z.enum(['requests', 'tokens', 'costUsd']),
  limit: z.number(),
  remaining: z.number(),
  resetSeconds: z.number(),
});
const counterOut = (c: CounterState) => ({
  quotaId: c.ruleId,
  counter: c.counterId,
  metric: c.metric,
  limit: c.limit,
  remaining: c.remaining,
  resetSeconds: Math.ceil(c.resetMs / 1000),
});
const amountsSchema = z.object({ requests: z.number(), tokens: z.number(), costUsd: z.number() });

const dimensionValue = z.string().min(1).max(256);
export const quotaRuleInputSchema = z.object({
  description: z.string().max(1000).default(''),
  scope: z
    .object(
      Object.fromEntries(QUOTA_DIMENSIONS.map((d) => [d, dimensionValue.optional()])) as Record<
        (typeof QUOTA_DIMENSIONS)[number],
        z.ZodOptional<typeof dimensionValue>
      >,
    )
    .strict()
    .default({})
    .describe('Dimensions the quota applies to (absent: any); "*" keeps a separate counter per distinct value'),
  metric: z.enum(['requests', 'tokens', 'costUsd']),
  limit: z.number().positive().max(1e15),
  windowMs: z
    .number()
    .int()
    .min(1_000)
    .max(366 * 86_400_000),
  window: z.enum(['fixed', 'sliding']).default('fixed'),
  enabled: z.boolean().default(true),
  expiresAtMs: z
    .number()
    .int()
    .min(0)
    .nullable()
    .default(null)
    .describe('The quota stops applying at this instant, epoch ms (null: never); a budget action ends with its period'),
});
const quotaRuleSchema = quotaRuleInputSchema.extend({
  limit: z.number().min(0).describe('0: a block (a budget action), every call in the scope refused'),
  id: z.string(),
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
});
const ruleId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, 'lower-case letters, digits, ".", "_" and "-", at most 128 characters');

export function registerQuotaRoutes(app: FastifyInstance, helpers: RouteHelpers, service: QuotaService): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['quotas'];

  api.post(
    '/api/v1/quota/reserve',
    {
      schema: {
        tags,
        summary: "Reserve a call's worst case against every quota that applies, before making the call",
        body: z.object({
          projectId: z
            .string()
            .min(1)
            .max(128)
            .optional()
            .describe('Required with the admin token; a project key reserves for its project'),
          provider: z.string().min(1).max(128).default('openai'),
          model: z.string().min(1).max(256),
          inputTokens: z.number().int().min(0).max(100_000_000),
          maxTokens: z
            .number()
            .int()
            .min(0)
            .max(100_000_000)
            .describe("The call's max_tokens: the most output it can bill"),
          user: z.string().min(1).max(256).optional(),
          key: z
            .string()
            .min(1)
            .max(256)
            .optional()
            .describe("The caller's key (e.g. a virtual key); default: the project key used"),
          ttlMs: z
            .number()
            .int()
            .min(1_000)
            .max(3_600_000)
            .optional()
            .describe('Unsettled reservations expire after this'),
        }),
        response: {
          200: z.object({
            reservationId: z.string(),
            expiresAtMs: z.number(),
            worstCase: amountsSchema,
            quotas: z.array(counterSchema),
          }),
        },
      },
    },
    async (req, reply) => {
      const who = await helpers.authenticate(req, 'any');
      const b = req.body;
      let projectId: string;
      let key = b.key;
      if (who.kind === 'project') {
        if (b.projectId != null && b.projectId !== who.projectId)
          helpers.fail(appError('RP_FORBIDDEN', `this key belongs to project ${who.projectId}, not ${b.projectId}`));
        projectId = who.projectId;
        key ??= who.keyId;
      } else {
        if (b.projectId == null)
          return helpers.fail(appError('RP_VALIDATION', 'projectId: required with the admin token'));
        projectId = b.projectId;
      }
      const r = await service.reserve({ ...b, projectId, key });
      if (!r.ok) return helpers.fail(r.error);
      setRateLimitHeaders(reply, r.value.value.counters);
      if (!r.value.granted) {
        const v = r.value.value;
        const seconds = Math.max(1, Math.ceil(v.retryAfterMs / 1000));
        helpers.sendError(
          reply,
          appError(
            'RP_QUOTA_EXCEEDED',
            v.refusedBy.limit === 0
              ? `quota ${v.refusedBy.ruleId} blocks calls in its scope; retry in ${seconds} s`
              : `quota ${v.refusedBy.ruleId} (${v.refusedBy.metric}, limit ${v.refusedBy.limit}) has ${v.refusedBy.remaining} left, the call needs up to ${v.worstCase[v.refusedBy.metric]}; retry in ${seconds} s`,
            { retryAfterSeconds: seconds },
          ),
        );
        return reply;
      }
      const v = r.value.value;
      return {
        reservationId: v.reservationId,
        expiresAtMs: v.expiresAtMs,
        worstCase: v.worstCase,
        quotas: v.counters.map(counterOut),
      };
    },
  );

  api.post(
    '/api/v1/quota/settle',
    {
      schema: {
        tags,
        summary: 'Record what the call really used and release the rest of its reservation',
        body: z.object({
          reservationId: z.string().min(1).max(1024),
          inputTokens: z.number().int().min(0).max(100_000_000),
          outputTokens: z.number().int().min(0).max(100_000_000),
          costUsd: z
            .number()
            .min(0)
            .max(1e9)
            .optional()
            .describe('Default: priced from the tokens with the price book'),
        }),
        response: { 200: z.object({ settled: z.literal(true), actual: amountsSchema }) },
      },
    },
    async (req) => {
      const who = await helpers.authenticate(req, 'any');
      const r = await service.settle(req.body, who.kind === 'project' ? who.projectId : null);
      if (!r.ok) return helpers.fail(r.error);
      return { settled: true as const, actual: r.value.actual };
    },
  );

  api.get(
    '/api/v1/quotas',
    {
      schema: {
        tags,
        summary: 'Quota definitions (admin)',
        response: { 200: z.object({ quotas: z.array(quotaRuleSchema) }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      return { quotas: [...service.listRules()] };
    },
  );

  api.get(
    '/api/v1/quotas/usage',
    {
      schema: {
        tags,
        summary: 'Usage against limits per quota: each counter holding usage in its window now',
        description:
          'Read from the quota accounting (memory or Redis), not from stored telemetry. A project key sees the quotas scoped to its project.',
        response: {
          200: z.object({
            atMs: z.number(),
            quotas: z.array(
              z.object({
                quota: quotaRuleSchema,
                maxUtilization: z.number(),
                counters: z.array(
                  z.object({
                    counter: z.string(),
                    dimensions: z.record(z.string(), z.string()),
                    used: z.number(),
                    reserved: z.number(),
                    settled: z.number(),
                    remaining: z.number(),
                    utilization: z.number(),
                    resetSeconds: z.number(),
                  }),
                ),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const who = await helpers.authenticate(req, 'any');
      const quotas = await service.usage(who.kind === 'project' ? who.projectId : null);
      return { atMs: service.nowMs(), quotas };
    },
  );

  api.put(
    '/api/v1/quotas/:id',
    {
      schema: {
        tags,
        summary: 'Create or replace a quota (admin)',
        params: z.object({ id: ruleId }),
        body: quotaRuleInputSchema,
        response: { 200: z.object({ quota: quotaRuleSchema }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const rule: QuotaRule = { id: req.params.id, ...req.body, scope: req.body.scope as QuotaRule['scope'] };
      return { quota: await service.putRule(rule) };
    },
  );

  api.delete(
    '/api/v1/quotas/:id',
    {
      schema: {
        tags,
        summary: 'Delete a quota (admin)',
        params: z.object({ id: ruleId }),
        response: { 200: z.object({ deleted: z.literal(true) }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      if (!(await service.deleteRule(req.params.id)))
        return helpers.fail(appError('RP_NOT_FOUND', `quota ${req.params.id} does not exist`));
      return { deleted: true as const };
    },
  );
}
