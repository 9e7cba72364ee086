/**
 * The forecast module: period-end projections of cost, tokens and requests per scope, and
 * capacity projections per model against configured rate limits (docs/spend-control.md). It
 * reads the telemetry store's summary query; the models themselves (`forecast.ts`) are pure and
 * reused by other modules.
 */
import { z } from 'zod';
import { defineModule } from '../platform/module.js';

const rateLimitSchema = z
  .object({
    requestsPerMinute: z.number().positive().optional().describe('Requests per minute the provider allows'),
    tokensPerMinute: z
      .number()
      .positive()
      .optional()
      .describe('Tokens (input + output) per minute the provider allows'),
  })
  .strict();

export const forecastConfigSchema = z.object({
  historyDays: z
    .number()
    .int()
    .min(7)
    .max(400)
    .default(90)
    .describe('Days of history daily forecasts are fitted on (hourly ones use at most 28 days)'),
  capacityHistoryDays: z
    .number()
    .int()
    .min(1)
    .max(60)
    .default(14)
    .describe('Days of hourly history capacity projections are fitted on'),
  rateLimits: z
    .record(z.string().min(1).max(256), rateLimitSchema)
    .default({})
    .describe(
      'Rate limits per model name (as in the model dimension), e.g. {"gpt-4o": {"requestsPerMinute": 5000, "tokensPerMinute": 800000}}',
    ),
  maxScopes: z
    .number()
    .int()
    .min(1)
    .max(500)
    .default(50)
    .describe('Most scopes (groups) one forecast request may ask for'),
});

export type ForecastConfig = z.infer<typeof forecastConfigSchema>;

export const forecastModule = defineModule<ForecastConfig>({
  name: 'forecast',
  config: {
    schema: forecastConfigSchema,
    hotReloadable: ['rateLimits', 'historyDays', 'capacityHistoryDays', 'maxScopes'],
  },
  async create(ctx) {
    const telemetry = ctx.telemetry;
    if (!telemetry) return {};
    const { registerForecastRoutes } = await import('./routes.js');
    return {
      routes: (api, helpers) =>
        registerForecastRoutes(api, helpers, {
          summarize: (q) => telemetry.summarize(q),
          config: () => ctx.config(),
          nowMs: () => ctx.clock.nowMs(),
        }),
    };
  },
});
