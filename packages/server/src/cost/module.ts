/**
 * The cost module: the price book (catalogue + user entries and aliases in state tables), its
 * HTTP API, the pricing step of the ingest path, and a node job that picks up price changes
 * made on other nodes. See docs/cost.md.
 */
import { z } from 'zod';
import { defineModule } from '../platform/module.js';
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
    const { pricingStep } = await import('./price-calls.js');
    return {
      routes: (api, helpers) => registerPriceRoutes(api, helpers, service, () => ctx.clock.nowMs()),
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
      ],
    };
  },
});
