/**
 * StateStore on PostgreSQL (`pg`), for cluster mode: every node shares projects, keys and
 * settings. Tables live in one schema (default `public`), so several installations or test
 * runs can share a database.
 */
import pg from 'pg';
import type { ApiKeyRecord, Project, StateStore } from '../ports.js';
import { MIGRATIONS_TABLE, POSTGRES_MIGRATIONS } from './migrations.js';
import { advisoryKey, pgIdentifier, pgNumber } from './pg-util.js';

export interface PostgresStateStoreOptions {
  /** e.g. `postgres://postgres@127.0.0.1:5432/reskpoints`. */
  url: string;
  /** Schema holding the tables; created by `migrate()`. Lower-case identifier. Default `public`. */
  schema?: string;
  /** Pool size. Default 10. */
  maxConnections?: number;
  /** How long to wait for a connection, in milliseconds. Default 10_000. */
  connectTimeoutMs?: number;
}

interface ProjectRow {
  id: string;
  name: string;
  created_at_ms: string;
}

interface ApiKeyRow {
  id: string;
  project_id: string;
  name: string;
  key_hash: string;
  prefix: string;
  created_at_ms: string;
  revoked_at_ms: string | null;
}

export class PostgresStateStore implements StateStore {
  private readonly pool: pg.Pool;
  private readonly schemaName: string;
  private readonly s: string;

  constructor(options: PostgresStateStoreOptions) {
    this.schemaName = options.schema ?? 'public';
    this.s = pgIdentifier(this.schemaName);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      application_name: 'reskpoints',
    });
    // An idle client whose server went away emits 'error' on the pool; without a listener
    // Node would crash the process. The next query gets a fresh connection.
    this.pool.on('error', () => undefined);
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Serialises migrations of this schema across every node; released at COMMIT.
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [
        advisoryKey(`reskpoints.migrate.${this.schemaName}`),
      ]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.s}.${MIGRATIONS_TABLE} (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`,
      );
      const applied = await client.query<{ version: number }>(`SELECT version FROM ${this.s}.${MIGRATIONS_TABLE}`);
      const done = new Set(applied.rows.map((r) => r.version));
      for (const m of POSTGRES_MIGRATIONS) {
        if (done.has(m.version)) continue;
        for (const statement of m.statements(this.s)) await client.query(statement);
        await client.query(`INSERT INTO ${this.s}.${MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)`, [
          m.version,
          m.name,
        ]);
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** Highest applied migration version, 0 before the first. */
  async schemaVersion(): Promise<number> {
    const exists = await this.pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
      `${this.s}.${MIGRATIONS_TABLE}`,
    ]);
    if (exists.rows[0]?.t == null) return 0;
    const res = await this.pool.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${this.s}.${MIGRATIONS_TABLE}`,
    );
    return res.rows[0]?.v ?? 0;
  }

  async createProject(project: Project): Promise<boolean> {
    const res = await this.pool.query(
      `INSERT INTO ${this.s}.projects (id, name, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
      [project.id, project.name, project.createdAtMs],
    );
    return res.rowCount === 1;
  }

  async getProject(id: string): Promise<Project | null> {
    const res = await this.pool.query<ProjectRow>(
      `SELECT id, name, created_at_ms FROM ${this.s}.projects WHERE id = $1`,
      [id],
    );
    const row = res.rows[0];
    return row ? toProject(row) : null;
  }

  async listProjects(): Promise<Project[]> {
    const res = await this.pool.query<ProjectRow>(
      `SELECT id, name, created_at_ms FROM ${this.s}.projects ORDER BY created_at_ms, id`,
    );
    return res.rows.map(toProject);
  }

  async createApiKey(key: ApiKeyRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.s}.api_keys (id, project_id, name, key_hash, prefix, created_at_ms, revoked_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [key.id, key.projectId, key.name, key.keyHash, key.prefix, key.createdAtMs, key.revokedAtMs],
    );
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const res = await this.pool.query<ApiKeyRow>(
      `SELECT * FROM ${this.s}.api_keys WHERE key_hash = $1 AND revoked_at_ms IS NULL`,
      [keyHash],
    );
    const row = res.rows[0];
    return row ? toApiKey(row) : null;
  }

  async listApiKeys(projectId: string): Promise<ApiKeyRecord[]> {
    const res = await this.pool.query<ApiKeyRow>(
      `SELECT * FROM ${this.s}.api_keys WHERE project_id = $1 ORDER BY created_at_ms, id`,
      [projectId],
    );
    return res.rows.map(toApiKey);
  }

  async revokeApiKey(id: string, atMs: number): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE ${this.s}.api_keys SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL`,
      [id, atMs],
    );
    return res.rowCount === 1;
  }

  async getSetting(key: string): Promise<string | null> {
    const res = await this.pool.query<{ value: string }>(`SELECT value FROM ${this.s}.settings WHERE key = $1`, [key]);
    return res.rows[0]?.value ?? null;
  }

  async setSettingIfAbsent(key: string, value: string): Promise<string> {
    // ON CONFLICT waits for a concurrent inserter to commit; the follow-up SELECT runs with a
    // fresh snapshot (READ COMMITTED) and so sees whichever writer won.
    await this.pool.query(`INSERT INTO ${this.s}.settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [
      key,
      value,
    ]);
    const stored = await this.getSetting(key);
    if (stored === null) throw new Error(`setting ${key} vanished right after it was written`);
    return stored;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.s}.settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [key, value],
    );
  }

  async listSettings(prefix: string, limit: number, afterKey = ''): Promise<Array<{ key: string; value: string }>> {
    const res = await this.pool.query<{ key: string; value: string }>(
      `SELECT key, value FROM ${this.s}.settings WHERE starts_with(key, $1) AND key COLLATE "C" > $2 ORDER BY key COLLATE "C" LIMIT $3`,
      [prefix, afterKey, limit],
    );
    return res.rows;
  }

  async deleteSettings(keys: string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const res = await this.pool.query(`DELETE FROM ${this.s}.settings WHERE key = ANY($1::text[])`, [keys]);
    return res.rowCount ?? 0;
  }

  /** Drops the schema and everything in it; for tests and for tearing down a deployment. */
  async dropSchema(): Promise<void> {
    if (this.schemaName === 'public') throw new Error('refusing to drop the public schema');
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.s} CASCADE`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export function createPostgresStateStore(options: PostgresStateStoreOptions): PostgresStateStore {
  return new PostgresStateStore(options);
}

function toProject(r: ProjectRow): Project {
  return { id: r.id, name: r.name, createdAtMs: pgNumber(r.created_at_ms) };
}

function toApiKey(r: ApiKeyRow): ApiKeyRecord {
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    keyHash: r.key_hash,
    prefix: r.prefix,
    createdAtMs: pgNumber(r.created_at_ms),
    revokedAtMs: r.revoked_at_ms === null ? null : pgNumber(r.revoked_at_ms),
  };
}
