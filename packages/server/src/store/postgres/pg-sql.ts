/**
 * The state SQL port (`platform/sql.ts`) on PostgreSQL. Every connection of the pool has its
 * `search_path` set to the configured schema, so module SQL names its tables unqualified and
 * one database can hold several installations (or test runs) side by side.
 */
import pg from 'pg';
import type { SqlDatabase, SqlDialect, SqlExecutor, SqlRow, SqlValue } from '../../platform/sql.js';
import { advisoryKey, pgIdentifier } from './pg-util.js';

export const POSTGRES_DIALECT: SqlDialect = {
  name: 'postgres',
  transactionLock: (key) => ({ sql: 'SELECT pg_advisory_xact_lock(CAST($1 AS BIGINT))', params: [advisoryKey(key)] }),
};

// BIGINT (int8) and NUMERIC (sums of BIGINT) arrive as strings by default; the port promises numbers.
const INT8 = 20;
const NUMERIC = 1700;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PgSqlDatabaseOptions {
  /** e.g. `postgres://postgres@127.0.0.1:5432/reskpoints`. */
  url: string;
  /** Schema for unqualified table names; created when missing. Lower-case identifier. Default `public`. */
  schema?: string;
  /** Pool size. Default 5. */
  maxConnections?: number;
  /** How long to wait for a connection, in milliseconds. Default 10_000. */
  connectTimeoutMs?: number;
}

function toParams(params: readonly SqlValue[] | undefined): unknown[] {
  return (params ?? []).map((p) => (typeof p === 'bigint' ? p.toString() : p));
}

class PgClientExecutor implements SqlExecutor {
  readonly dialect = POSTGRES_DIALECT;
  constructor(private readonly c: pg.Pool | pg.PoolClient) {}

  async query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    const res = await this.c.query({ text: sql, values: toParams(params), types });
    return res.rows as R[];
  }

  async exec(sql: string, params?: readonly SqlValue[]): Promise<number> {
    const res = await this.c.query({ text: sql, values: toParams(params), types });
    return res.rowCount ?? 0;
  }
}

export class PgSqlDatabase implements SqlDatabase {
  readonly dialect = POSTGRES_DIALECT;
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly direct: PgClientExecutor;
  private schemaReady: Promise<void> | null = null;

  constructor(options: PgSqlDatabaseOptions) {
    this.schema = options.schema ?? 'public';
    const quoted = pgIdentifier(this.schema);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 5,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      application_name: 'reskpoints-state',
      options: `-c search_path=${quoted}`,
    });
    // An idle client whose server went away emits 'error' on the pool; without a listener
    // Node would crash the process. The next statement gets a fresh connection.
    this.pool.on('error', () => undefined);
    this.direct = new PgClientExecutor(this.pool);
  }

  /** Creates the schema once (before the first statement), so a fresh schema works at once. */
  private ready(): Promise<void> {
    this.schemaReady ??= this.pool
      .query(`CREATE SCHEMA IF NOT EXISTS ${pgIdentifier(this.schema)}`)
      .then(() => undefined)
      .catch((e: { code?: string }) => {
        // Two nodes creating the schema at once: the loser sees a unique violation; it exists now.
        if (e.code === '23505' || e.code === '42P06') return;
        this.schemaReady = null;
        throw e;
      });
    return this.schemaReady;
  }

  async query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    await this.ready();
    return this.direct.query<R>(sql, params);
  }

  async exec(sql: string, params?: readonly SqlValue[]): Promise<number> {
    await this.ready();
    return this.direct.exec(sql, params);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    await this.ready();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(new PgClientExecutor(client));
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** Drops the schema and everything in it; for tests. Refuses `public`. */
  async dropSchema(): Promise<void> {
    if (this.schema === 'public') throw new Error('refusing to drop the public schema');
    await this.pool.query(`DROP SCHEMA IF EXISTS ${pgIdentifier(this.schema)} CASCADE`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
