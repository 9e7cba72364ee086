/**
 * StateStore on an embedded DuckDB file (`<dataDir>/state.duckdb` in the app). Writes go
 * through the single writer connection one at a time, which is what makes "first writer
 * wins" and "exactly one create succeeds" hold within the process.
 */
import { type Clock, systemClock } from '@reskpoints/core';
import type { SqlDatabase } from '../../platform/sql.js';
import type { ApiKeyRecord, Project, StateStore } from '../ports.js';
import { DuckDbDatabase, type DuckDbOptions, type SqlRow, toNumber, toNumberOrNull } from './duckdb-database.js';
import { DuckDbSqlDatabase } from './duckdb-sql.js';
import { STATE_MIGRATIONS } from './state-migrations.js';

export type DuckDbStateStoreOptions = DuckDbOptions;

const KEY_SELECT =
  'SELECT id, project_id, name, key_hash, prefix, created_at_ms::DOUBLE AS created_at_ms, revoked_at_ms::DOUBLE AS revoked_at_ms FROM api_keys';

export class DuckDbStateStore implements StateStore {
  private readonly clock: Clock;

  private constructor(
    private readonly db: DuckDbDatabase,
    options: DuckDbStateStoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.sql = new DuckDbSqlDatabase(db);
  }

  /** Opens (creating if needed) the database; call `migrate()` before use. */
  static async open(options: DuckDbStateStoreOptions): Promise<DuckDbStateStore> {
    return new DuckDbStateStore(await DuckDbDatabase.open({ readers: 1, ...options }), options);
  }

  /** The state SQL port on the same database, for module repositories. */
  readonly sql: SqlDatabase;

  async migrate(): Promise<void> {
    await this.db.migrate(STATE_MIGRATIONS, this.clock.nowMs());
  }

  createProject(project: Project): Promise<boolean> {
    return this.db.write(async (c) => {
      const r = await c.runAndReadAll('INSERT INTO projects VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING id', [
        project.id,
        project.name,
        BigInt(project.createdAtMs),
      ]);
      return r.currentRowCount > 0;
    });
  }

  async getProject(id: string): Promise<Project | null> {
    const rows = await this.db.query(
      'SELECT id, name, created_at_ms::DOUBLE AS created_at_ms FROM projects WHERE id = $1',
      [id],
    );
    return rows[0] ? rowToProject(rows[0]) : null;
  }

  async listProjects(): Promise<Project[]> {
    const rows = await this.db.query(
      'SELECT id, name, created_at_ms::DOUBLE AS created_at_ms FROM projects ORDER BY created_at_ms, id',
    );
    return rows.map(rowToProject);
  }

  createApiKey(key: ApiKeyRecord): Promise<void> {
    return this.db.write(async (c) => {
      await c.run('INSERT INTO api_keys VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        key.id,
        key.projectId,
        key.name,
        key.keyHash,
        key.prefix,
        BigInt(key.createdAtMs),
        key.revokedAtMs === null ? null : BigInt(key.revokedAtMs),
      ]);
    });
  }

  async findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const rows = await this.db.query(`${KEY_SELECT} WHERE key_hash = $1 AND revoked_at_ms IS NULL`, [keyHash]);
    return rows[0] ? rowToKey(rows[0]) : null;
  }

  async listApiKeys(projectId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.db.query(`${KEY_SELECT} WHERE project_id = $1 ORDER BY created_at_ms, id`, [projectId]);
    return rows.map(rowToKey);
  }

  revokeApiKey(id: string, atMs: number): Promise<boolean> {
    return this.db.write(async (c) => {
      const r = await c.runAndReadAll(
        'UPDATE api_keys SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL RETURNING id',
        [BigInt(atMs), id],
      );
      return r.currentRowCount > 0;
    });
  }

  async getSetting(key: string): Promise<string | null> {
    const rows = await this.db.query('SELECT value FROM settings WHERE key = $1', [key]);
    return rows[0] ? (rows[0]['value'] as string) : null;
  }

  setSettingIfAbsent(key: string, value: string): Promise<string> {
    return this.db.write(async (c) => {
      await c.run('INSERT INTO settings VALUES ($1, $2) ON CONFLICT DO NOTHING', [key, value]);
      const r = await c.runAndReadAll('SELECT value FROM settings WHERE key = $1', [key]);
      return r.getRows()[0]?.[0] as string;
    });
  }

  setSetting(key: string, value: string): Promise<void> {
    return this.db.write(async (c) => {
      await c.run('INSERT INTO settings VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [
        key,
        value,
      ]);
    });
  }

  async listSettings(prefix: string, limit: number, afterKey = ''): Promise<Array<{ key: string; value: string }>> {
    const rows = await this.db.query(
      'SELECT key, value FROM settings WHERE starts_with(key, $1) AND key > $2 ORDER BY key LIMIT $3',
      [prefix, afterKey, limit],
    );
    return rows.map((r) => ({ key: r['key'] as string, value: r['value'] as string }));
  }

  deleteSettings(keys: string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    return this.db.write(async (c) => {
      let n = 0;
      for (const key of keys) {
        const r = await c.runAndReadAll('DELETE FROM settings WHERE key = $1 RETURNING key', [key]);
        n += r.currentRowCount;
      }
      return n;
    });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function rowToProject(r: SqlRow): Project {
  return { id: r['id'] as string, name: r['name'] as string, createdAtMs: toNumber(r['created_at_ms']) };
}

function rowToKey(r: SqlRow): ApiKeyRecord {
  return {
    id: r['id'] as string,
    projectId: r['project_id'] as string,
    name: r['name'] as string,
    keyHash: r['key_hash'] as string,
    prefix: r['prefix'] as string,
    createdAtMs: toNumber(r['created_at_ms']),
    revokedAtMs: toNumberOrNull(r['revoked_at_ms']),
  };
}
