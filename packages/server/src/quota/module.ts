/**
 * The quota module: request, token and cost limits per fixed or sliding window, enforced by
 * reserve-before-call and settle-after (docs/spend-control.md). Accounting is in process when
 * embedded and in Redis (atomic Lua scripts) when `redis.url` is set, so every node shares it.
 * Definitions live in the module's state table. List it after the cost module: cost quotas price
 * a call's worst case with the price book.
 */
import { z } from 'zod';
import { defineModule } from '../platform/module.js';
import { QUOTA_MIGRATIONS } from './quota-repo.js';

export const quotaConfigSchema = z.object({
  accounting: z
    .enum(['auto', 'memory', 'redis'])
    .default('auto')
    .describe('Where reservations are counted: auto = Redis when redis.url is set, else in this process'),
  reservationTtlMs: z
    .number()
    .int()
    .min(1_000)
    .max(3_600_000)
    .default(300_000)
    .describe('How long an unsettled reservation holds its worst case; then it expires and is charged in full'),
  refreshIntervalMs: z
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(2_000)
    .describe('How often a node reloads quota definitions changed on other nodes'),
  redisKeyPrefix: z
    .string()
    .min(1)
    .max(64)
    .default('reskpoints-quota')
    .describe('Namespace of the quota keys in Redis'),
});

export type QuotaConfig = z.infer<typeof quotaConfigSchema>;

export const quotaModule = defineModule<QuotaConfig>({
  name: 'quota',
  config: { schema: quotaConfigSchema, hotReloadable: ['reservationTtlMs'] },
  stateMigrations: QUOTA_MIGRATIONS,
  async create(ctx) {
    const [
      { loadCatalogue },
      { PriceRepo },
      { PriceService },
      { QuotaRepo },
      { QuotaService },
      { registerQuotaRoutes },
    ] = await Promise.all([
      import('../cost/catalogue.js'),
      import('../cost/price-repo.js'),
      import('../cost/price-service.js'),
      import('./quota-repo.js'),
      import('./quota-service.js'),
      import('./routes.js'),
    ]);
    const cfg = ctx.config();
    const redisUrl = ctx.platformConfig().redis.url;
    if (cfg.accounting === 'redis' && redisUrl == null)
      throw new Error('quota.accounting is "redis" but redis.url is not set');
    const useRedis = cfg.accounting === 'redis' || (cfg.accounting === 'auto' && redisUrl != null);
    const limiter = useRedis
      ? new (await import('./redis-limiter.js')).RedisQuotaLimiter({
          url: redisUrl as string,
          prefix: cfg.redisKeyPrefix,
        })
      : new (await import('./memory-limiter.js')).MemoryQuotaLimiter();
    const prices = await PriceService.open({
      repo: new PriceRepo(ctx.state),
      catalogue: loadCatalogue(),
      clock: ctx.clock,
    });
    const service = new QuotaService({
      limiter,
      repo: new QuotaRepo(ctx.state),
      prices: () => prices.book,
      clock: ctx.clock,
      defaultTtlMs: () => ctx.config().reservationTtlMs,
    });
    await service.refresh();
    ctx.logger.info({ accounting: useRedis ? 'redis' : 'memory' }, 'quota accounting');
    return {
      routes: (api, helpers) => registerQuotaRoutes(api, helpers, service),
      jobs: [
        {
          name: 'refresh-quotas',
          scope: 'node',
          everyMs: cfg.refreshIntervalMs,
          async run() {
            await Promise.all([service.refresh(), prices.refresh()]);
          },
        },
        {
          // Expired reservations are also swept by every reserve; this covers quiet periods.
          name: 'expire-reservations',
          scope: 'node',
          everyMs: 1_000,
          async run({ nowMs }) {
            await limiter.expire(nowMs);
          },
        },
      ],
      async stop() {
        await limiter.close();
      },
    };
  },
});
