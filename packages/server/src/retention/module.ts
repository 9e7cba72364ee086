/**
 * Retention: deletes telemetry older than `retentionDays` (a platform setting, hot-reloadable),
 * once per cluster, hourly.
 */
import { defineModule } from '../platform/module.js';

export const RETENTION_INTERVAL_MS = 3_600_000;

export const retentionModule = defineModule({
  name: 'retention',
  create(ctx) {
    const telemetry = ctx.telemetry;
    if (!telemetry) return {};
    return {
      jobs: [
        {
          name: 'delete-old-telemetry',
          scope: 'leader',
          everyMs: RETENTION_INTERVAL_MS,
          // Not at start: a restart loop must not turn into a deletion loop, and tests that
          // store old fixture data are not surprised.
          initialDelayMs: RETENTION_INTERVAL_MS,
          async run({ nowMs, fence }) {
            const beforeMs = nowMs - ctx.platformConfig().retentionDays * 86_400_000;
            const deleted = await telemetry.deleteBefore(beforeMs);
            if (deleted > 0)
              ctx.logger.info({ deleted, beforeMs, token: fence?.token }, 'retention removed old telemetry');
          },
        },
      ],
    };
  },
});
