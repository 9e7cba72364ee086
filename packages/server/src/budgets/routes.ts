/**
 * `/api/v1/budgets`: definitions (admin writes; a project key reads the budgets scoped to its
 * project), each with its status as of the last evaluation, and the events of threshold crossings.
 */
import { appError, validationError } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../api/auth.js';
import type { RouteHelpers } from '../platform/module.js';
import type { SqlDatabase } from '../platform/sql.js';
import { QuotaRepo } from '../quota/quota-repo.js';
import {
  BUDGET_ID,
  type Budget,
  type BudgetInput,
  budgetCreateSchema,
  budgetFrom,
  budgetInputSchema,
  budgetProject,
} from './definition.js';
import type { BudgetStatus } from './evaluate.js';
import { eventDto, quotaPrefix } from './evaluator.js';
import { BudgetRepo } from './repo.js';

export interface BudgetRouteDeps {
  state: SqlDatabase;
  nowMs(): number;
  maxBudgets(): number;
  /** The quota module runs: thresholds may carry actions. */
  quotas: boolean;
  /** After a change: evaluate soon (the leader job). */
  changed(budgetId: string): void;
}

const actionOut = z.object({
  kind: z.enum(['block', 'throttle']),
  metric: z.enum(['requests', 'tokens', 'costUsd']).optional(),
  limit: z.number().optional(),
  window: z.string().optional(),
});
const thresholdOut = z.object({
  id: z.string(),
  kind: z.enum(['percent', 'absolute', 'forecast', 'burn-rate']),
  percent: z.number().optional(),
  usd: z.number().optional(),
  withinDays: z.number().optional(),
  window: z.string().optional(),
  shortWindow: z.string().optional(),
  rate: z.number().optional(),
  action: actionOut.optional(),
});
const budgetOut = z.object({
  id: z.string(),
  name: z.string(),
  scope: z.record(z.string(), z.array(z.string())),
  period: z.object({
    kind: z.enum(['daily', 'weekly', 'monthly', 'custom']),
    start: z.string().optional(),
    length: z.string().optional(),
  }),
  timeZone: z.string(),
  amountUsd: z.number(),
  thresholds: z.array(thresholdOut),
  enabled: z.boolean(),
  createdAtMs: z.number(),
  updatedAtMs: z.number(),
});
const statusOut = z
  .object({
    evaluatedAtMs: z.number(),
    state: z.enum(['active', 'not-started', 'disabled']),
    periodStartMs: z.number().nullable(),
    periodEndMs: z.number().nullable(),
    spendUsd: z.number(),
    amountUsd: z.number(),
    percentUsed: z.number(),
    unpricedCalls: z.number().describe('Calls without a price in the period: spend is a lower bound'),
    evenRateUsdPerHour: z.number().describe('The amount spread evenly over the period'),
    forecast: z
      .object({
        projectedUsd: z.number(),
        loUsd: z.number(),
        hiUsd: z.number(),
        crossesAtMs: z.number().nullable().describe('When the projection reaches the amount; null: not in this period'),
        model: z.string(),
        backtestMape: z.number().nullable(),
        step: z.enum(['day', 'hour']),
      })
      .nullable(),
    burnRates: z.array(
      z.object({
        windowMs: z.number(),
        spendUsd: z.number(),
        rate: z.number().describe('Multiple of the even rate'),
      }),
    ),
    thresholds: z.array(
      z.object({
        id: z.string(),
        kind: z.enum(['percent', 'absolute', 'forecast', 'burn-rate']),
        targetUsd: z.number().nullable(),
        active: z.boolean(),
        crossedAtMs: z.number().nullable(),
      }),
    ),
  })
  .nullable()
  .describe('As of the last evaluation; null until the first');
const eventOut = z.object({
  id: z.string(),
  budgetId: z.string(),
  projectId: z.string().nullable(),
  thresholdId: z.string(),
  kind: z.enum(['percent', 'absolute', 'forecast', 'burn-rate']),
  atMs: z.number().describe('When the evaluation found the crossing'),
  periodStartMs: z.number(),
  periodEndMs: z.number(),
  spendUsd: z.number(),
  amountUsd: z.number(),
  targetUsd: z.number().nullable(),
  message: z.string(),
  percentUsed: z.number(),
  projectedUsd: z.number().optional(),
  crossesAtMs: z.number().optional(),
  burnRate: z.number().optional(),
  shortBurnRate: z.number().optional(),
  windowMs: z.number().optional(),
  shortWindowMs: z.number().optional(),
  action: z.object({ kind: z.enum(['block', 'throttle']), quotaId: z.string(), untilMs: z.number() }).optional(),
});

const idParam = z.object({
  id: z.string().regex(BUDGET_ID, 'lower-case letters, digits, ".", "_" and "-", at most 64 characters'),
});

export function registerBudgetRoutes(app: FastifyInstance, helpers: RouteHelpers, deps: BudgetRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['budgets'];
  const repo = new BudgetRepo(deps.state);

  /** The budget if the caller may read it: admin any, a project key those scoped to its project. */
  const readable = async (who: Principal, id: string): Promise<Budget> => {
    const b = await repo.get(id);
    if (!b || (who.kind === 'project' && budgetProject(b) !== who.projectId))
      return helpers.fail(appError('RP_NOT_FOUND', `budget ${id} does not exist`));
    return b;
  };

  const save = async (id: string, input: BudgetInput, create: boolean) => {
    const nowMs = deps.nowMs();
    const acting = (input.thresholds ?? []).findIndex((t) => t.action !== undefined);
    if (acting >= 0 && !deps.quotas)
      return helpers.fail(
        validationError(
          [
            {
              path: `body.thresholds.${acting}.action`,
              message: 'actions need the quota module, which this server does not run',
            },
          ],
          'invalid budget',
        ),
      );
    const out = await deps.state.transaction(async (tx) => {
      const r = new BudgetRepo(tx);
      const existing = await r.get(id);
      if (create && existing) return { conflict: true as const };
      if (!existing && (await r.count()) >= deps.maxBudgets()) return { full: true as const };
      const b = budgetFrom(id, input, nowMs, existing?.createdAtMs ?? nowMs);
      // A changed definition may no longer act: its quotas go, and come back if crossed again.
      if (existing && deps.quotas) await new QuotaRepo(tx).deletePrefix(quotaPrefix(id));
      return { budget: await r.put(b, budgetProject(b)), created: !existing };
    });
    if ('conflict' in out) return helpers.fail(appError('RP_CONFLICT', `budget ${id} exists already; PUT replaces it`));
    if ('full' in out)
      return helpers.fail(appError('RP_CONFLICT', `at most ${deps.maxBudgets()} budgets (budgets.maxBudgets)`));
    deps.changed(id);
    return out;
  };

  api.get(
    '/api/v1/budgets',
    {
      schema: {
        tags,
        summary: 'Budgets with their status (spend, forecast, burn rates, thresholds) as of the last evaluation',
        description: 'A project key sees the budgets scoped to its project only.',
        response: { 200: z.object({ budgets: z.array(budgetOut.extend({ status: statusOut })) }) },
      },
    },
    async (req) => {
      const who = await helpers.authenticate(req, 'any');
      const budgets = await repo.list(who.kind === 'project' ? who.projectId : undefined);
      const statuses = await repo.statuses<BudgetStatus>();
      return { budgets: budgets.map((b) => ({ ...b, status: statuses.get(b.id) ?? null })) };
    },
  );

  api.get(
    '/api/v1/budgets/:id',
    {
      schema: {
        tags,
        summary: 'One budget with its status and its latest events',
        params: idParam,
        response: {
          200: z.object({
            budget: budgetOut,
            status: statusOut,
            events: z.array(eventOut).describe('Newest first, 20 at most'),
          }),
        },
      },
    },
    async (req) => {
      const who = await helpers.authenticate(req, 'any');
      const b = await readable(who, req.params.id);
      const [status, events] = await Promise.all([repo.status<BudgetStatus>(b.id), repo.events(b.id, { limit: 20 })]);
      return { budget: b, status, events: events.map(eventDto) };
    },
  );

  api.get(
    '/api/v1/budgets/:id/events',
    {
      schema: {
        tags,
        summary: 'Threshold crossings of a budget, newest first (one per threshold and period)',
        params: idParam,
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          period: z
            .enum(['all', 'current'])
            .default('all')
            .describe('current: only the period in force at the last evaluation'),
        }),
        response: { 200: z.object({ events: z.array(eventOut) }) },
      },
    },
    async (req) => {
      const who = await helpers.authenticate(req, 'any');
      const b = await readable(who, req.params.id);
      let periodStartMs: number | undefined;
      if (req.query.period === 'current') {
        const s = await repo.status<BudgetStatus>(b.id);
        if (s?.periodStartMs == null) return { events: [] };
        periodStartMs = s.periodStartMs;
      }
      const events = await repo.events(b.id, {
        limit: req.query.limit,
        ...(periodStartMs !== undefined ? { periodStartMs } : {}),
      });
      return { events: events.map(eventDto) };
    },
  );

  api.post(
    '/api/v1/budgets',
    {
      schema: {
        tags,
        summary: 'Create a budget (admin)',
        body: budgetCreateSchema,
        response: { 201: z.object({ budget: budgetOut }) },
      },
    },
    async (req, reply) => {
      await helpers.authenticate(req, 'admin');
      const { id, ...input } = req.body;
      const out = await save(id, input, true);
      reply.code(201);
      return { budget: out.budget };
    },
  );

  api.put(
    '/api/v1/budgets/:id',
    {
      schema: {
        tags,
        summary: 'Create or replace a budget (admin); events of this period stay, so a threshold still fires once',
        params: idParam,
        body: budgetInputSchema,
        response: { 200: z.object({ budget: budgetOut, created: z.boolean() }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const out = await save(req.params.id, req.body, false);
      return { budget: out.budget, created: out.created };
    },
  );

  api.delete(
    '/api/v1/budgets/:id',
    {
      schema: {
        tags,
        summary: 'Delete a budget with its events, and end the quotas its actions put in force (admin)',
        params: idParam,
        response: { 200: z.object({ deleted: z.literal(true) }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const id = req.params.id;
      const deleted = await deps.state.transaction(async (tx) => {
        if (deps.quotas) await new QuotaRepo(tx).deletePrefix(quotaPrefix(id));
        return new BudgetRepo(tx).delete(id);
      });
      if (!deleted) return helpers.fail(appError('RP_NOT_FOUND', `budget ${id} does not exist`));
      deps.changed(id);
      return { deleted: true as const };
    },
  );
}
