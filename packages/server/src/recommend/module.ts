/**
 * The recommendations module: savings recommendations quantified in USD per month, token
 * efficiency per project, cost per user, session and outcome, and the chargeback of shared
 * spend to teams by tag, all from stored calls and the price book (docs/spend-control.md).
 */
import { z } from 'zod';
import { defineModule } from '../platform/module.js';

export const DEFAULT_DOWNGRADES: Record<string, string> = {
  'gpt-4o': 'gpt-4o-mini',
  'gpt-4.1': 'gpt-4.1-mini',
  'gpt-4-turbo': 'gpt-4o-mini',
  'gpt-4': 'gpt-4o-mini',
  o1: 'o3-mini',
  o3: 'o4-mini',
  'claude-3-opus': 'claude-3-5-haiku',
  'claude-3-5-sonnet': 'claude-3-5-haiku',
  'claude-3-7-sonnet': 'claude-3-5-haiku',
  'claude-sonnet-4': 'claude-3-5-haiku',
  'claude-opus-4': 'claude-sonnet-4',
  'gemini-1.5-pro': 'gemini-1.5-flash',
  'gemini-2.5-pro': 'gemini-2.5-flash',
};

export const recommendConfigSchema = z.object({
  windowDays: z.number().int().min(1).max(90).default(30).describe('Days of calls analysed by default'),
  maxCalls: z
    .number()
    .int()
    .min(1_000)
    .max(5_000_000)
    .default(200_000)
    .describe('Most calls read for one analysis (the newest); beyond it the answer says truncated'),
  shortInputTokens: z
    .number()
    .int()
    .min(1)
    .default(1_000)
    .describe('A short prompt has at most this many input tokens'),
  shortOutputTokens: z.number().int().min(1).default(300).describe('… and at most this many output tokens'),
  downgrades: z
    .record(z.string().min(1).max(256), z.string().min(1).max(256))
    .default(DEFAULT_DOWNGRADES)
    .describe('Model → cheaper model short prompts are priced on (both as in the model dimension)'),
  minPrefixChars: z
    .number()
    .int()
    .min(20)
    .max(100_000)
    .default(200)
    .describe('Prompt prefix (characters of the stored excerpt) that repeated calls must share to count for caching'),
  minPrefixRepeats: z.number().int().min(2).default(5).describe('Calls sharing a prefix before caching is recommended'),
  duplicateWindowMs: z
    .number()
    .int()
    .min(1_000)
    .default(3_600_000)
    .describe('An identical request within this long after the previous one is a duplicate'),
  retryWindowMs: z
    .number()
    .int()
    .min(1_000)
    .default(300_000)
    .describe('A failed call followed by the same request within this long was retried'),
  outcomeTagPrefix: z.string().min(1).max(64).default('outcome:').describe('Tags naming an outcome start with this'),
  teamTagPrefix: z.string().min(1).max(64).default('team:').describe('Tags naming a team start with this (chargeback)'),
});

export type RecommendConfig = z.infer<typeof recommendConfigSchema>;

export const recommendModule = defineModule<RecommendConfig>({
  name: 'recommend',
  config: {
    schema: recommendConfigSchema,
    hotReloadable: [
      'windowDays',
      'maxCalls',
      'shortInputTokens',
      'shortOutputTokens',
      'downgrades',
      'minPrefixChars',
      'minPrefixRepeats',
      'duplicateWindowMs',
      'retryWindowMs',
      'outcomeTagPrefix',
      'teamTagPrefix',
    ],
  },
  async create(ctx) {
    const telemetry = ctx.telemetry;
    if (!telemetry) return {};
    const [{ loadCatalogue }, { PriceRepo }, { PriceService }, { registerRecommendRoutes }] = await Promise.all([
      import('../cost/catalogue.js'),
      import('../cost/price-repo.js'),
      import('../cost/price-service.js'),
      import('./routes.js'),
    ]);
    const prices = await PriceService.open({
      repo: new PriceRepo(ctx.state),
      catalogue: loadCatalogue(),
      clock: ctx.clock,
    });
    return {
      routes: (api, helpers) =>
        registerRecommendRoutes(api, helpers, {
          telemetry,
          // Price changes made a moment ago count: the refresh reads one revision number when nothing changed.
          book: async () => {
            await prices.refresh();
            return prices.book;
          },
          config: () => ctx.config(),
          nowMs: () => ctx.clock.nowMs(),
        }),
      jobs: [
        {
          name: 'refresh-recommend-prices',
          scope: 'node',
          everyMs: 5_000,
          async run() {
            await prices.refresh();
          },
        },
      ],
    };
  },
});
