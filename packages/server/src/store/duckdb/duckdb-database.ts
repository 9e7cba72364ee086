/**
 * One DuckDB database file with one writer connection (every write goes through a promise
 * chain, so writes never interleave) and a small pool of reader connections (reads run
 * next to writes and see only committed data).
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Clock } from '@reskpoints/core';
import { type Migration, pendingMigrations } from '../migrations.js';

export interface DuckDbOptions {
  /** Database file, or ':memory:' for a private in-memory database. */
  path: string;
  /** Used for `schema_migrations.applied_at_ms` and similar stamps. Default: system clock. */
  clock?: Clock;
  /** Reader connections; default 2. */
  readers?: number;
  /** DuckDB `memory_limit`, e.g. '2GB'; default DuckDB's own (80% of RAM). */
  memoryLimit?: string;
  /** DuckDB `threads`; default DuckDB's own (one per core). */
  threads?: number;
  /**
   * Write-ahead-log size in MB that triggers a checkpoint (DuckDB's `checkpoint_threshold`).
   * Default 128. DuckDB's own 16 MB makes every few appends of a busy ingest rewrite and
   * recompress the table's last row group; a larger log amortises that (measured: sustained
   * appends ~1.3x faster) at the cost of a longer log replay after a crash.
   */
  checkpointThresholdMb?: number;
}

export type SqlRow = Record<string, unknown>;

export class DuckDbDatabase {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly idle: DuckDBConnection[];
  private readonly waiting: Array<(c: DuckDBConnection) => void> = [];
  private closed = false;
  private activeReads = 0;
  private readsDrained: (() => void) | null = null;

  private constructor(
    private readonly instance: DuckDBInstance,
    readonly writer: DuckDBConnection,
    private readonly readers: DuckDBConnection[],
  ) {
    this.idle = [...readers];
  }

  static async open(options: DuckDbOptions): Promise<DuckDbDatabase> {
    const config: Record<string, string> = {};
    if (options.memoryLimit) config['memory_limit'] = options.memoryLimit;
    if (options.threads) config['threads'] = String(options.threads);
    config['checkpoint_threshold'] = `${options.checkpointThresholdMb ?? 128}MB`;
    const instance = await DuckDBInstance.create(options.path, config);
    const writer = await instance.connect();
    const readers: DuckDBConnection[] = [];
    for (let i = 0; i < (options.readers ?? 2); i++) readers.push(await instance.connect());
    return new DuckDbDatabase(instance, writer, readers);
  }

  /** Runs `fn` with the writer connection once every earlier write has finished. */
  write<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('database is closed'));
    const run = this.chain.then(() => fn(this.writer));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` in one transaction on the writer connection; rolls back when it throws. */
  transaction<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.write(async (c) => {
      await c.run('BEGIN TRANSACTION');
      try {
        const result = await fn(c);
        await c.run('COMMIT');
        return result;
      } catch (e) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  /** Runs `fn` with a reader connection. */
  async read<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('database is closed');
    this.activeReads++;
    try {
      const c = this.idle.pop() ?? (await new Promise<DuckDBConnection>((resolve) => this.waiting.push(resolve)));
      try {
        return await fn(c);
      } finally {
        const next = this.waiting.shift();
        if (next) next(c);
        else this.idle.push(c);
      }
    } finally {
      this.activeReads--;
      if (this.activeReads === 0) this.readsDrained?.();
    }
  }

  /** Rows of a read query as plain objects (BIGINT comes back as bigint: cast in SQL or convert). */
  async query(sql: string, params?: unknown[]): Promise<SqlRow[]> {
    return this.read(async (c) => {
      const reader = await c.runAndReadAll(sql, params as never);
      return reader.getRowObjectsJS() as SqlRow[];
    });
  }

  /** Applies pending migrations in one transaction; a second call is a no-op. */
  migrate(migrations: readonly Migration[], nowMs: number): Promise<number> {
    return this.transaction(async (c) => {
      await c.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER NOT NULL PRIMARY KEY,
        name VARCHAR NOT NULL,
        applied_at_ms BIGINT NOT NULL
      )`);
      const applied = (await c.runAndReadAll('SELECT version FROM schema_migrations')).getRowObjectsJS();
      const pending = pendingMigrations(
        migrations,
        applied.map((r) => Number(r['version'])),
      );
      for (const m of pending) {
        for (const step of m.steps) await c.run(step);
        await c.run('INSERT INTO schema_migrations VALUES ($1, $2, $3)', [m.version, m.name, BigInt(nowMs)]);
      }
      return pending.length;
    });
  }

  /** Waits for queued writes and running reads, then closes; later calls are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    if (this.activeReads > 0) await new Promise<void>((resolve) => (this.readsDrained = resolve));
    for (const c of [this.writer, ...this.readers]) c.closeSync();
    this.instance.closeSync();
  }
}

/** BIGINT/HUGEINT results arrive as bigint; everything the stores return is a number. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v === null || v === undefined) return 0;
  return Number(v);
}

export function toNumberOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : toNumber(v);
}

/** Quotes a string as a SQL literal; for values built into SQL text (lists of filter values). */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
