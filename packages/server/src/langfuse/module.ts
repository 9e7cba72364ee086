/**
 * Langfuse compatibility as a module: the pull connector (its tables, routes and periodic job).
 * The ingestion and daily-metrics endpoints are registered with the API, since ingestion needs
 * the ingest pipeline; held observations are stored by the ingest node's flusher.
 */
import { defineModule } from '../platform/module.js';
import { LANGFUSE_CONNECTOR_MIGRATIONS } from './connector/langfuse-connector.js';

/** How often every configured Langfuse instance is read. */
export const LANGFUSE_PULL_INTERVAL_MS = 3_600_000;

export const langfuseModule = defineModule({
  name: 'langfuse',
  stateMigrations: LANGFUSE_CONNECTOR_MIGRATIONS,
  async create(ctx) {
    const { createLangfusePuller, registerLangfuseConnectorRoutes } = await import('./connector-routes.js');
    const { LangfuseConnectorRepository } = await import('./connector/langfuse-connector.js');
    const puller = createLangfusePuller({ db: ctx.state, clock: ctx.clock, logger: ctx.logger });
    const repository = new LangfuseConnectorRepository(ctx.state);
    return {
      routes(api, helpers) {
        registerLangfuseConnectorRoutes(api, {
          repository,
          puller,
          state: ctx.stateStore,
          clock: ctx.clock,
          helpers,
        });
      },
      jobs: [
        {
          name: 'pull-metrics',
          scope: 'leader',
          everyMs: LANGFUSE_PULL_INTERVAL_MS,
          // Soon after start, so a configured connector has data without waiting an hour.
          initialDelayMs: 60_000,
          async run() {
            const r = await puller.runOnce();
            if (r.pulled + r.failed > 0) ctx.logger.info(r, 'Langfuse metrics pulled');
          },
        },
      ],
    };
  },
});
