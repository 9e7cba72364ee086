/**
 * Langfuse compatibility as a module: the pull connector's periodic job. (The ingestion and
 * read endpoints are registered with the API; held observations are stored by the ingest
 * node's flusher, which needs the ingest pipeline.)
 */
import { defineModule } from '../platform/module.js';

/** How often every configured Langfuse instance is read. */
export const LANGFUSE_PULL_INTERVAL_MS = 3_600_000;

export const langfuseModule = defineModule({
  name: 'langfuse',
  async create(ctx) {
    const { createLangfusePuller } = await import('./connector-routes.js');
    const puller = createLangfusePuller({ state: ctx.stateStore, clock: ctx.clock, logger: ctx.logger });
    return {
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
