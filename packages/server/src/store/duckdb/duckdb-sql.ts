/**
 * The state SQL port (`platform/sql.ts`) on a DuckDB database. Reads run on the reader pool,
 * writes and transactions on the single writer connection, one after the other — which is
 * what makes check-and-set statements (`UPDATE … WHERE`, upserts) atomic here without row locks.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  isWriteStatement,
  normaliseSqlValue,
  type SqlDatabase,
  type SqlDialect,
  type SqlExecutor,
  type SqlRow,
  type SqlValue,
} from '../../platform/sql.js';
import type { DuckDbDatabase } from './duckdb-database.js';

export const DUCKDB_DIALECT: SqlDialect = {
  name: 'duckdb',
  transactionLock: () => null,
};

function rowsOf(reader: { getRowObjectsJS(): Record<string, unknown>[] }): SqlRow[] {
  const rows = reader.getRowObjectsJS();
  for (const row of rows) for (const k of Object.keys(row)) row[k] = normaliseSqlValue(row[k]);
  return rows as SqlRow[];
}

// Integers are bound as BIGINT so that comparisons with BIGINT columns stay exact.
function bind(params: readonly SqlValue[] | undefined): never {
  return (params ?? []).map((p) => (typeof p === 'number' && Number.isSafeInteger(p) ? BigInt(p) : p)) as never;
}

class DuckDbConnectionExecutor implements SqlExecutor {
  readonly dialect = DUCKDB_DIALECT;
  constructor(private readonly c: DuckDBConnection) {}

  async query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return rowsOf(await this.c.runAndReadAll(sql, bind(params))) as R[];
  }

  async exec(sql: string, params?: readonly SqlValue[]): Promise<number> {
    const r = await this.c.run(sql, bind(params));
    return Number(r.rowsChanged);
  }
}

export class DuckDbSqlDatabase implements SqlDatabase {
  readonly dialect = DUCKDB_DIALECT;
  constructor(private readonly db: DuckDbDatabase) {}

  query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    if (isWriteStatement(sql)) return this.db.write((c) => new DuckDbConnectionExecutor(c).query<R>(sql, params));
    return this.db.read((c) => new DuckDbConnectionExecutor(c).query<R>(sql, params));
  }

  exec(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.db.write((c) => new DuckDbConnectionExecutor(c).exec(sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction((c) => fn(new DuckDbConnectionExecutor(c)));
  }
}
