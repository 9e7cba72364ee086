/**
 * The logs module: pattern ids on ingested logs (the enrichment step), log search, pattern
 * statistics, and sampling policies (versions, history, comparison, generation with projected
 * savings) served to the logging SDK. See docs/logs.md.
 */
import { z } from 'zod';
import { defineModule } from '../platform/module.js';
import { LOG_MIGRATIONS } from './log-repo.js';

export const logsConfigSchema = z.object({
  targetPerMinute: z
    .number()
    .positive()
    .default(60)
    .describe('Generated policies sample each noisy pattern down to about this many lines per minute'),
  minRate: z.number().min(0).max(1).default(0.001).describe('The lowest keep rate a policy rule may set'),
  costModel: z
    .object({
      ingestUsdPerGb: z
        .number()
        .min(0)
        .default(0.4)
        .describe('USD per GB of logs ingested (Grafana Cloud Logs list price)'),
      retainUsdPerGbMonth: z.number().min(0).default(0.1).describe('USD per GB per 30 days kept'),
      retentionMonths: z.number().min(0).default(1).describe('Months (30 days) logs are kept'),
    })
    .default({ ingestUsdPerGb: 0.4, retainUsdPerGbMonth: 0.1, retentionMonths: 1 })
    .describe('Prices used to project the savings of a sampling policy'),
  maxMiners: z
    .number()
    .int()
    .min(1)
    .default(2_000)
    .describe('Template miners (one per project and service) kept in memory'),
  saveIntervalMs: z
    .number()
    .int()
    .min(1_000)
    .default(30_000)
    .describe('How often changed miners are saved to the state database'),
  genAiWaitMs: z
    .number()
    .int()
    .min(0)
    .default(3_600_000)
    .describe('How long the content of GenAI events (sent as logs) waits for its LLM call to be stored, ms'),
});

export type LogsConfig = z.infer<typeof logsConfigSchema>;

export const logsModule = defineModule<LogsConfig>({
  name: 'logs',
  config: {
    schema: logsConfigSchema,
    hotReloadable: [
      'targetPerMinute',
      'minRate',
      'costModel.ingestUsdPerGb',
      'costModel.retainUsdPerGbMonth',
      'costModel.retentionMonths',
    ],
  },
  stateMigrations: LOG_MIGRATIONS,
  async create(ctx) {
    const [{ LogRepo }, { PatternService }, { registerLogRoutes }, { attachInBatch }, { GenAiExcerpts }] =
      await Promise.all([
        import('./log-repo.js'),
        import('./pattern-service.js'),
        import('./routes.js'),
        import('./genai-events.js'),
        import('./genai-excerpts.js'),
      ]);
    const repo = new LogRepo(ctx.state);
    const patterns = new PatternService({
      repo,
      nowMs: () => ctx.clock.nowMs(),
      maxMiners: ctx.config().maxMiners,
    });
    await patterns.load();
    const telemetry = ctx.telemetry;
    const genAi = telemetry
      ? new GenAiExcerpts({
          repo,
          telemetry,
          nowMs: () => ctx.clock.nowMs(),
          excerptMaxChars: () => ctx.platformConfig().ingest.excerptMaxChars,
          waitMs: () => ctx.config().genAiWaitMs,
        })
      : null;
    const unsubscribe = ctx.commits.subscribe((n) => {
      if (n.llmCallsInserted > 0 && genAi) {
        genAi.callsCommitted(n.atMs);
        ctx.wake('genai-excerpts');
      }
    });
    return {
      routes: (api, helpers) =>
        registerLogRoutes(api, helpers, {
          telemetry: ctx.telemetry,
          repo,
          patterns,
          config: () => ctx.config(),
          maxRangeDays: () => ctx.platformConfig().query.maxRangeDays,
          nowMs: () => ctx.clock.nowMs(),
        }),
      enrichers: [
        {
          // Before pricing (200): a call without reported usage is priced from its excerpts.
          name: 'genai-excerpts',
          order: 150,
          async enrich(batch, ectx) {
            const waiting = attachInBatch(batch, ectx.excerptMaxChars);
            if (waiting.length === 0 || ectx.excerptMaxChars <= 0) return;
            await repo.addGenAiParts(waiting, ectx.excerptMaxChars, ectx.receivedAtMs);
            ctx.wake('genai-excerpts');
          },
        },
        { name: 'log-patterns', order: 300, enrich: (batch) => patterns.enrich(batch) },
      ],
      jobs: [
        {
          name: 'save-miners',
          scope: 'node',
          everyMs: ctx.config().saveIntervalMs,
          async run() {
            await patterns.save();
          },
        },
        ...(genAi
          ? [
              {
                name: 'genai-excerpts',
                scope: 'leader' as const,
                everyMs: 5_000,
                async run() {
                  await genAi.run();
                },
              },
            ]
          : []),
      ],
      async stop() {
        unsubscribe();
        await patterns.save().catch((e: unknown) => ctx.logger.warn({ err: e }, 'saving log miners failed'));
      },
    };
  },
});
