import { type AppError, err, type FieldIssue, ok, type Result, validationError } from '@reskpoints/core';
import type { Config } from './config/schema.js';

/**
 * Checks that a role has the services it needs. Embedded (`all`) needs nothing; cluster
 * roles share state through PostgreSQL and the ingest log through NATS JetStream, and
 * workers and API nodes read and write telemetry in ClickHouse.
 */
export function checkRoleConfig(config: Config): Result<Config, AppError> {
  const issues: FieldIssue[] = [];
  const need = (ok: unknown, path: string, why: string) => {
    if (!ok) issues.push({ path, message: `required for role ${config.role}: ${why}` });
  };
  if (config.role !== 'all') {
    need(config.postgres.url, 'postgres.url', 'nodes share projects and keys through PostgreSQL');
    if (config.role !== 'api')
      need(config.nats.url, 'nats.url', 'ingest nodes and workers meet at the JetStream ingest log');
    if (config.role !== 'ingest') need(config.clickhouse.url, 'clickhouse.url', 'telemetry lives in ClickHouse');
  }
  if (issues.length === 0) return ok(config);
  const e = validationError(issues, 'invalid cluster configuration');
  return err({ ...e, code: 'RP_CONFIG_INVALID' });
}
