/**
 * The platform's own state tables, migrated like a module's (module name `platform`):
 * - `rp_fences`: the newest fencing token seen per lease (see `fencing.ts`);
 * - `rp_job_runs`: when each leader job last ran, so its cadence survives restarts and
 *   leader changes;
 * - `rp_cursors`: how far each derived processor has read the telemetry store.
 */
import type { StateMigration } from './state-migrations.js';

export const PLATFORM_MODULE_NAME = 'platform';

export const PLATFORM_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    name: 'fences, job runs, derived-processing cursors',
    steps: [
      `CREATE TABLE rp_fences (
        name TEXT NOT NULL PRIMARY KEY,
        token BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      )`,
      `CREATE TABLE rp_job_runs (
        name TEXT NOT NULL PRIMARY KEY,
        last_started_ms BIGINT NOT NULL,
        last_finished_ms BIGINT,
        last_error TEXT
      )`,
      `CREATE TABLE rp_cursors (
        name TEXT NOT NULL PRIMARY KEY,
        position TEXT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      )`,
    ],
  },
];
