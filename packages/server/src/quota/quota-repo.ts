/**
 * Quota definitions in the quota module's state table (DuckDB embedded, PostgreSQL in cluster
 * mode). Only definitions live here: the accounting is in memory or Redis, so a quota answer
 * never waits on a database.
 */
import type { SqlExecutor } from '../platform/sql.js';
import type { StateMigration } from '../platform/state-migrations.js';
import type { QuotaMetric, QuotaRule, QuotaWindow } from './quota-core.js';

export const QUOTA_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    name: 'quota rules',
    steps: [
      `CREATE TABLE quota_rules (
        id TEXT NOT NULL PRIMARY KEY,
        description TEXT NOT NULL,
        scope_json TEXT NOT NULL,
        metric TEXT NOT NULL,
        limit_value DOUBLE PRECISION NOT NULL,
        window_ms BIGINT NOT NULL,
        window_kind TEXT NOT NULL,
        enabled BOOLEAN NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'rules that end (a budget action ends with its period)',
    steps: ['ALTER TABLE quota_rules ADD COLUMN expires_at_ms BIGINT'],
  },
];

type Row = {
  id: string;
  description: string;
  scope_json: string;
  metric: string;
  limit_value: number;
  window_ms: number;
  window_kind: string;
  enabled: boolean;
  created_at_ms: number;
  updated_at_ms: number;
  expires_at_ms: number | null;
};

export interface StoredQuotaRule extends QuotaRule {
  createdAtMs: number;
  updatedAtMs: number;
  expiresAtMs: number | null;
}

const fromRow = (r: Row): StoredQuotaRule => ({
  id: r.id,
  description: r.description,
  scope: JSON.parse(r.scope_json) as QuotaRule['scope'],
  metric: r.metric as QuotaMetric,
  limit: r.limit_value,
  windowMs: r.window_ms,
  window: r.window_kind as QuotaWindow,
  enabled: r.enabled,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
  expiresAtMs: r.expires_at_ms ?? null,
});

export class QuotaRepo {
  constructor(private readonly db: SqlExecutor) {}

  async list(): Promise<StoredQuotaRule[]> {
    const rows = await this.db.query<Row>('SELECT * FROM quota_rules ORDER BY id');
    return rows.map(fromRow);
  }

  async get(id: string): Promise<StoredQuotaRule | null> {
    const rows = await this.db.query<Row>('SELECT * FROM quota_rules WHERE id = $1', [id]);
    return rows[0] == null ? null : fromRow(rows[0]);
  }

  /** Creates or replaces a rule; keeps the first creation time. */
  async put(rule: QuotaRule, nowMs: number): Promise<StoredQuotaRule> {
    const rows = await this.db.query<Row>(
      `INSERT INTO quota_rules (id, description, scope_json, metric, limit_value, window_ms, window_kind, enabled, created_at_ms, updated_at_ms, expires_at_ms)
       VALUES ($1, $2, $3, $4, $5, CAST($6 AS BIGINT), $7, $8, CAST($9 AS BIGINT), CAST($9 AS BIGINT), CAST($10 AS BIGINT))
       ON CONFLICT (id) DO UPDATE SET description = excluded.description, scope_json = excluded.scope_json,
         metric = excluded.metric, limit_value = excluded.limit_value, window_ms = excluded.window_ms,
         window_kind = excluded.window_kind, enabled = excluded.enabled, updated_at_ms = excluded.updated_at_ms,
         expires_at_ms = excluded.expires_at_ms
       RETURNING *`,
      [
        rule.id,
        rule.description,
        JSON.stringify(rule.scope),
        rule.metric,
        rule.limit,
        rule.windowMs,
        rule.window,
        rule.enabled,
        nowMs,
        rule.expiresAtMs ?? null,
      ],
    );
    return fromRow(rows[0] as Row);
  }

  /** Deletes the rules whose id starts with `prefix` and that ended by `nowMs`; returns their ids. */
  async deleteExpired(prefix: string, nowMs: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `DELETE FROM quota_rules WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= CAST($1 AS BIGINT)
         AND substr(id, 1, length($2)) = $2 RETURNING id`,
      [nowMs, prefix],
    );
    return rows.map((r) => r.id).sort();
  }

  /** Deletes every rule whose id starts with `prefix`. */
  async deletePrefix(prefix: string): Promise<number> {
    return this.db.exec('DELETE FROM quota_rules WHERE substr(id, 1, length($1)) = $1', [prefix]);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.exec('DELETE FROM quota_rules WHERE id = $1', [id])) > 0;
  }
}
