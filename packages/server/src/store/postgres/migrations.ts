/**
 * Versioned PostgreSQL schema of the StateStore. Applied in one transaction that first
 * takes `pg_advisory_xact_lock` on a key derived from the schema name, so nodes starting
 * together apply each migration exactly once and the others wait and then find it done.
 * Migrations are append-only: never edit one that has shipped, add the next version.
 */

export interface PostgresMigration {
  version: number;
  name: string;
  /** Statements run in order, inside the migration transaction; `s` is the quoted schema. */
  statements: (s: string) => string[];
}

export const MIGRATIONS_TABLE = 'rp_schema_migrations';

export const POSTGRES_MIGRATIONS: PostgresMigration[] = [
  {
    version: 1,
    name: 'projects, api keys, settings',
    statements: (s) => [
      `CREATE TABLE ${s}.projects (
        id text PRIMARY KEY,
        name text NOT NULL,
        created_at_ms bigint NOT NULL
      )`,
      `CREATE TABLE ${s}.api_keys (
        id text PRIMARY KEY,
        project_id text NOT NULL,
        name text NOT NULL,
        key_hash text NOT NULL,
        prefix text NOT NULL,
        created_at_ms bigint NOT NULL,
        revoked_at_ms bigint
      )`,
      // Lookups by hash are the hot path of every authenticated request.
      `CREATE UNIQUE INDEX api_keys_key_hash ON ${s}.api_keys (key_hash)`,
      `CREATE INDEX api_keys_project ON ${s}.api_keys (project_id, created_at_ms)`,
      `CREATE TABLE ${s}.settings (
        key text PRIMARY KEY,
        value text NOT NULL
      )`,
    ],
  },
];
