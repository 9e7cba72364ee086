/**
 * The cost module: the price book (catalogue + user entries and aliases in state tables), its
 * HTTP API, the pricing step of the ingest path, a node job that picks up price changes made
 * on other nodes, and two leader jobs: re-costing jobs queued through the API, and cost
 * reports made on a schedule. See docs/cost.md.
 */
import { z } from 'zod';
import { defineModule } from '../platform/module.js';
import type { JobContext } from '../platform/scheduler.js';
import { COST_MIGRATIONS } from './price-repo.js';

export const costConfigSchema = z.object({
  modelAliases: z
    .record(z.string().min(1).max(256), z.string().min(1).max(256))
    .default({})
    .describe(
      'Global model aliases, name → model it serves, e.g. Azure deployments {"prod-chat": "gpt-4o-2024-11-20"}; aliases set through the API (global or per project) take precedence',
    ),
  projectModelAliases: z
    .record(z.string().min(1).max(128), z.record(z.string().min(1).max(256), z.string().min(1).max(256)))
    .default({})
    .describe('Per-project model aliases, project id → {name → model}; they take precedence over global ones'),
  priceAtIngest: z
    .boolean()
    .default(true)
    .describe(
      'Price every call on the ingest path; false stores calls unpriced (cost null) and leaves pricing to a re-costing job (POST /api/v1/cost/recost)',
    ),
  refreshIntervalMs: z
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(5_000)
    .describe('How often a node checks the state database for price changes made on other nodes'),
  recostPollMs: z
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(2_000)
    .describe(
      'How often the leader looks for queued re-costing jobs (a job queued on the leader itself starts at once)',
    ),
  reports: z
    .object({
      periods: z
        .array(z.enum(['day', 'week', 'month']))
        .default(['day', 'week', 'month'])
        .describe('Which cost reports are made on a schedule, for all projects; [] makes none'),
      delayMinutes: z
        .number()
        .int()
        .min(0)
        .max(7 * 24 * 60)
        .default(30)
        .describe("A period's report is made this long after the period ends (UTC), so calls arriving late are in it"),
      keep: z.number().int().min(1).max(10_000).default(100).describe('Stored reports kept per period'),
      groupsPerSection: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(50)
        .describe('Groups per section (models, projects, users, drivers) of a stored report'),
      checkEveryMs: z
        .number()
        .int()
        .min(1000)
        .max(86_400_000)
        .default(60_000)
        .describe('How often the leader checks whether a report is due'),
    })
    .prefault({})
    .describe('Cost reports made on a schedule by the leader and kept in the state database'),
});

export type CostConfig = z.infer<typeof costConfigSchema>;

export const costModule = defineModule<CostConfig>({
  name: 'cost',
  config: { schema: costConfigSchema, hotReloadable: ['modelAliases', 'projectModelAliases', 'priceAtIngest'] },
  stateMigrations: COST_MIGRATIONS,
  async create(ctx) {
    const [{ loadCatalogue }, { PriceRepo }, { PriceService }, { registerPriceRoutes }] = await Promise.all([
      import('./catalogue.js'),
      import('./price-repo.js'),
      import('./price-service.js'),
      import('./routes.js'),
    ]);
    const configAliases = () => [
      ...Object.entries(ctx.config().modelAliases).map(([name, model]) => ({ projectId: null, name, model })),
      ...Object.entries(ctx.config().projectModelAliases).flatMap(([projectId, map]) =>
        Object.entries(map).map(([name, model]) => ({ projectId, name, model })),
      ),
    ];
    const service = await PriceService.open({
      repo: new PriceRepo(ctx.state),
      catalogue: loadCatalogue(),
      clock: ctx.clock,
      configAliases,
    });
    ctx.onConfigChange(() => {
      service.refresh(true).catch((e: unknown) => ctx.logger.warn({ err: e }, 'price book rebuild failed'));
    });
    const [{ pricingStep }, { registerCostJobRoutes }, { runRecostJobs, runScheduledReports }] = await Promise.all([
      import('./price-calls.js'),
      import('./job-routes.js'),
      import('./recost-jobs.js'),
    ]);
    const telemetry = ctx.telemetry;
    const jobDeps = telemetry
      ? { state: ctx.state, telemetry, book: () => service.book, clock: ctx.clock, logger: ctx.logger }
      : null;
    return {
      routes: async (api, helpers) => {
        registerPriceRoutes(api, helpers, service, () => ctx.clock.nowMs());
        registerCostJobRoutes(api, helpers, {
          state: ctx.state,
          nowMs: () => ctx.clock.nowMs(),
          rangeLimits: () => ctx.platformConfig().query,
          queued: () => ctx.wake('recost'),
        });
      },
      // Calls are priced at ingest with the whole price book: catalogue, user entries, aliases.
      // `priceAtIngest: false` keeps the step (so no other pricing is added) but it prices nothing.
      enrichers: [
        pricingStep(
          () => service.book,
          () => ctx.config().priceAtIngest,
        ),
      ],
      jobs: [
        {
          name: 'refresh-prices',
          scope: 'node',
          everyMs: ctx.config().refreshIntervalMs,
          async run() {
            await service.refresh();
          },
        },
        ...(jobDeps
          ? [
              {
                name: 'recost',
                scope: 'leader' as const,
                everyMs: ctx.config().recostPollMs,
                async run({ fence, signal }: JobContext) {
                  if (!fence) return;
                  // Re-cost with the newest prices, also those set on another node a moment ago.
                  await service.refresh();
                  await runRecostJobs(jobDeps, fence, {
                    signal,
                    reportGroupsPerSection: ctx.config().reports.groupsPerSection,
                  });
                },
              },
              {
                name: 'reports',
                scope: 'leader' as const,
                everyMs: ctx.config().reports.checkEveryMs,
                async run({ fence, signal }: JobContext) {
                  const r = ctx.config().reports;
                  if (!fence || r.periods.length === 0) return;
                  const made = await runScheduledReports(
                    jobDeps,
                    {
                      periods: r.periods,
                      delayMs: r.delayMinutes * 60_000,
                      keep: r.keep,
                      groupsPerSection: r.groupsPerSection,
                    },
                    fence,
                    signal,
                  );
                  if (made.length > 0) ctx.logger.info({ reports: made }, 'cost reports made');
                },
              },
            ]
          : []),
      ],
    };
  },
});
