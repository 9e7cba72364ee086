/**
 * The state SQL port: module repositories are written once against it and run on the
 * embedded DuckDB state database and on PostgreSQL in cluster mode.
 *
 * The common SQL both serve (keep to it, and the contract suite runs every repository on both):
 * - positional parameters `$1, $2, …`; a parameter whose type the statement does not fix
 *   (`SELECT $1`) needs a cast, `CAST($1 AS BIGINT)`, because PostgreSQL must infer it;
 * - column types BIGINT (epoch ms, counters), DOUBLE PRECISION (money, rates), TEXT,
 *   BOOLEAN, and JSON kept as TEXT (parse it in the repository); no TIMESTAMP, DECIMAL or
 *   arrays — times are epoch milliseconds in BIGINT columns, like everywhere else;
 * - `INSERT … ON CONFLICT (key) DO NOTHING | DO UPDATE SET c = excluded.c [WHERE …]`,
 *   `RETURNING`, `GREATEST`/`LEAST`, `COALESCE`, `||`, window functions, CTEs;
 * - no `SELECT … FOR UPDATE` (DuckDB has no row locks; its writes are serialised instead):
 *   express check-and-set as one `UPDATE … WHERE` or upsert and look at the rows it touched;
 * - integer division differs (`7/2` is 3 on PostgreSQL, 3.5 on DuckDB): cast one side to
 *   DOUBLE PRECISION when a fraction is meant, or use `floor()`.
 * Where the two really differ, branch on `dialect.name` or add a helper to `SqlDialect`.
 *
 * Results are normalised by the adapters: BIGINT, HUGEINT and NUMERIC come back as JS
 * numbers (exact up to 2^53 — epoch ms and counters fit), BOOLEAN as boolean, NULL as null.
 */

/** A bound parameter. `bigint` is accepted for values beyond 2^53. */
export type SqlValue = string | number | boolean | bigint | null;

/** One result row, column name → value (see the normalisation rules above). */
export type SqlRow = Record<string, unknown>;

export interface SqlDialect {
  readonly name: 'duckdb' | 'postgres';
  /**
   * A statement that, run first inside a transaction, serialises that transaction against
   * every other one taking the same key (PostgreSQL advisory transaction lock), or null where
   * writes are already serialised (DuckDB: one writer connection per process).
   */
  transactionLock(key: string): { sql: string; params: SqlValue[] } | null;
}

/** Runs statements; inside `transaction` the same interface runs them in that transaction. */
export interface SqlExecutor {
  readonly dialect: SqlDialect;
  /** Rows of a statement (SELECT, or a write with RETURNING). */
  query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** Runs a statement; resolves with the number of rows it inserted, updated or deleted. */
  exec(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** The state database: statements run on their own (autocommit) or together in `transaction`. */
export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws (the
   * error is rethrown). Nested calls on the executor `fn` receives are not supported.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

/** bigint results become numbers; everything else is returned as the driver gave it. */
export function normaliseSqlValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  return v;
}

/** Reads a BIGINT/DOUBLE column as a number; null stays null. */
export function sqlNumberOrNull(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Number(v);
  throw new Error(`expected a number from SQL, got ${JSON.stringify(v)}`);
}

/** Reads a NOT NULL BIGINT/DOUBLE column as a number. */
export function sqlNumber(v: unknown): number {
  const n = sqlNumberOrNull(v);
  if (n === null) throw new Error('expected a number from SQL, got null');
  return n;
}

const WRITE_HEAD = /^\s*(?:insert|update|delete|create|alter|drop|merge|upsert)\b/i;

/** True when a statement may change data (decides which connection an adapter uses). */
export function isWriteStatement(sql: string): boolean {
  return WRITE_HEAD.test(sql) || /\breturning\b/i.test(sql);
}
