/**
 * `/api/v1/forecasts`: period-end projections per scope, and `/api/v1/forecasts/capacity`:
 * requests and tokens per model projected against the configured rate limits.
 */
import type { FieldIssue } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { filterQuerySchema, finish, parseDuration, parseFilter, parseGroupBy } from '../api/params.js';
import type { RouteHelpers } from '../platform/module.js';
import type { ForecastConfig } from './module.js';
import { DAY_MS, forecastCapacity, forecastScopes, HOUR_MS, type Summarize } from './scopes.js';

export interface ForecastRouteDeps {
  summarize: Summarize;
  config(): ForecastConfig;
  nowMs(): number;
}

/** Hourly forecasts fit on at most this many days, and project at most as far. */
const HOURLY_MAX_DAYS = 28;
const DAILY_MAX_HORIZON_DAYS = 400;

const list = z.union([z.string(), z.array(z.string())]).optional();
const pointSchema = z.object({
  t: z.number().describe('Step start, epoch ms'),
  v: z.number(),
  lo: z.number().describe('Lower bound of the prediction interval'),
  hi: z.number().describe('Upper bound of the prediction interval'),
});
const levelParam = z.coerce
  .number()
  .min(0.5)
  .max(0.999)
  .default(0.9)
  .describe('Central probability of the prediction intervals (default 0.9)');
const crossingSchema = z.object({
  crossesAt: z.number().nullable().describe('When the projection reaches it (epoch ms); null: not within the horizon'),
  lo: z.number().nullable().describe('Earliest plausible time (upper bound reaches it)'),
  hi: z.number().nullable().describe('Latest plausible time (lower bound reaches it); null: not within the horizon'),
});

const scopeSchema = z.object({
  group: z.record(z.string(), z.string().nullable()).describe('The scope: one value per groupBy dimension'),
  model: z
    .string()
    .describe('Model chosen by backtest: hw-additive[-damped|-no-trend], hw-multiplicative…, holt, ses, naive, …'),
  backtestMape: z.number().nullable().describe('Rolling-origin backtest MAPE as a fraction; null without a backtest'),
  intervalSource: z.string().describe('backtest (calibrated on backtest errors), model or none'),
  history: z
    .array(z.object({ t: z.number(), v: z.number() }))
    .describe('Observed steps; the last is the current step so far'),
  points: z.array(pointSchema).describe('Forecast steps from the current step on'),
  period: z
    .object({
      fromMs: z.number(),
      toMs: z.number(),
      actual: z.number().describe('Observed in the period so far'),
      projected: z.number().describe('Projected period total'),
      lo: z.number(),
      hi: z.number(),
    })
    .describe('The current period (UTC) with its projected total'),
  threshold: crossingSchema
    .extend({ value: z.number() })
    .nullable()
    .describe('When the period total is projected to reach `threshold`; null when none was asked'),
});

const projectionSchema = z.object({
  limitPerMinute: z.number().nullable().describe('Configured limit; null when none'),
  observedPeakPerMinute: z.number().describe('Busiest minute of the last 24 hours'),
  projectedPeakPerMinute: z.number().describe('Highest projected hourly mean rate per minute'),
  projectedPeakPerMinuteHi: z.number(),
  projectedPeakAt: z.number().nullable(),
  headroom: z.number().nullable().describe('1 - projected peak / limit; negative when over'),
  observedHeadroom: z.number().nullable().describe('1 - observed peak minute / limit'),
  reachesLimit: crossingSchema.nullable(),
});

export function registerForecastRoutes(app: FastifyInstance, helpers: RouteHelpers, deps: ForecastRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['forecasts'];

  api.get(
    '/api/v1/forecasts',
    {
      schema: {
        tags,
        summary:
          'Projections of cost, tokens or requests per scope with prediction intervals, and the projected total of the current period (e.g. month-end spend)',
        querystring: z.object({
          ...filterQuerySchema.shape,
          metric: z.enum(['cost', 'tokens', 'requests']).default('cost'),
          groupBy: list.describe('Dimensions of a scope, e.g. model or project,model; none: one scope for everything'),
          horizon: z.string().max(16).default('30d').describe('How far to project, e.g. 30d or 48h'),
          interval: z.enum(['1d', '1h']).default('1d').describe('Step of the series'),
          period: z.enum(['day', 'week', 'month']).default('month').describe('Period whose total is projected (UTC)'),
          history: z.string().max(16).optional().describe('History fitted on, e.g. 90d (default forecast.historyDays)'),
          level: levelParam,
          threshold: z.coerce.number().positive().optional().describe('A period total to watch (USD for cost)'),
          limit: z.coerce.number().int().min(1).optional().describe('Scopes at most, largest first (default 20)'),
        }),
        response: {
          200: z.object({
            metric: z.enum(['cost', 'tokens', 'requests']),
            groupBy: z.array(z.string()),
            stepMs: z.number(),
            level: z.number(),
            generatedAtMs: z.number(),
            period: z.enum(['day', 'week', 'month']),
            scopes: z.array(scopeSchema),
            groupsOmitted: z.number().describe('Scopes beyond limit, not forecast'),
            costIsLowerBound: z.boolean().describe('Some calls in the history are unpriced'),
          }),
        },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const q = req.query;
      const cfg = deps.config();
      const issues: FieldIssue[] = [];
      const filter = parseFilter(q, principal, issues);
      const groupBy = parseGroupBy(q.groupBy, issues);
      const stepMs = q.interval === '1h' ? HOUR_MS : DAY_MS;
      const maxHorizonMs = (q.interval === '1h' ? HOURLY_MAX_DAYS : DAILY_MAX_HORIZON_DAYS) * DAY_MS;
      const horizonMs = parseDuration(q.horizon);
      if (horizonMs === null || horizonMs < stepMs || horizonMs > maxHorizonMs)
        issues.push({
          path: 'horizon',
          message: `expected a duration from ${q.interval} to ${maxHorizonMs / DAY_MS}d such as 30d, got ${JSON.stringify(q.horizon)}`,
        });
      const maxHistoryDays = q.interval === '1h' ? Math.min(HOURLY_MAX_DAYS, cfg.historyDays) : cfg.historyDays;
      let historyMs = maxHistoryDays * DAY_MS;
      if (q.history !== undefined) {
        const h = parseDuration(q.history);
        if (h === null || h < stepMs || h > 400 * DAY_MS)
          issues.push({
            path: 'history',
            message: `expected a duration such as 90d, got ${JSON.stringify(q.history)}`,
          });
        else historyMs = Math.min(h, (q.interval === '1h' ? HOURLY_MAX_DAYS : 400) * DAY_MS);
      }
      if (q.limit !== undefined && q.limit > cfg.maxScopes)
        issues.push({ path: 'limit', message: `at most ${cfg.maxScopes} scopes (forecast.maxScopes)` });
      const ok = finish(null, issues);
      if (!ok.ok) helpers.fail(ok.error);
      return forecastScopes(deps.summarize, {
        metric: q.metric,
        groupBy,
        filter,
        stepMs,
        horizonSteps: Math.ceil((horizonMs as number) / stepMs),
        historySteps: Math.max(1, Math.floor(historyMs / stepMs)),
        level: q.level,
        period: q.period,
        nowMs: deps.nowMs(),
        limit: Math.min(q.limit ?? 20, cfg.maxScopes),
        ...(q.threshold !== undefined ? { threshold: q.threshold } : {}),
      });
    },
  );

  api.get(
    '/api/v1/forecasts/capacity',
    {
      schema: {
        tags,
        summary:
          'Requests and tokens per minute per model projected hourly, against the rate limits configured in forecast.rateLimits (headroom, and when a limit is reached)',
        querystring: z.object({
          ...filterQuerySchema.shape,
          horizon: z.string().max(16).default('7d').describe('How far to project, 1h to 28d'),
          level: levelParam,
        }),
        response: {
          200: z.object({
            generatedAtMs: z.number(),
            horizonHours: z.number(),
            level: z.number(),
            models: z.array(
              z.object({
                model: z.string(),
                forecastModel: z.string().describe('Forecasting model chosen for the request series'),
                requests: projectionSchema,
                tokens: projectionSchema,
                points: z.array(
                  z.object({ t: z.number(), requestsPerMinute: pointSchema, tokensPerMinute: pointSchema }),
                ),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const q = req.query;
      const cfg = deps.config();
      const issues: FieldIssue[] = [];
      const filter = parseFilter(q, principal, issues);
      const horizonMs = parseDuration(q.horizon);
      if (horizonMs === null || horizonMs < HOUR_MS || horizonMs > HOURLY_MAX_DAYS * DAY_MS)
        issues.push({
          path: 'horizon',
          message: `expected a duration from 1h to ${HOURLY_MAX_DAYS}d such as 7d, got ${JSON.stringify(q.horizon)}`,
        });
      const ok = finish(null, issues);
      if (!ok.ok) helpers.fail(ok.error);
      return forecastCapacity(deps.summarize, {
        filter,
        nowMs: deps.nowMs(),
        historyHours: cfg.capacityHistoryDays * 24,
        horizonHours: Math.ceil((horizonMs as number) / HOUR_MS),
        level: q.level,
        limits: cfg.rateLimits,
      });
    },
  );
}
