/**
 * Per-module state migrations on the SQL port. Each module owns a list of versioned steps;
 * applied versions are recorded per module in `rp_module_migrations`, so modules migrate
 * independently and adding or removing one never renumbers another's. All pending
 * migrations of one module apply in one transaction, serialised across nodes by the dialect's
 * transaction lock, so nodes starting together apply each step exactly once.
 */
import type { SqlDatabase, SqlDialect, SqlExecutor } from './sql.js';

export interface StateMigration {
  /** Strictly increasing within the module, starting at 1; never reused once released. */
  version: number;
  /** Short description, e.g. 'create budgets'. */
  name: string;
  /**
   * Statements, in order. A function when the dialects differ (rare: see `platform/sql.ts`).
   * Migrations are append-only: never edit one that has shipped, add the next version.
   */
  steps: readonly string[] | ((dialect: SqlDialect) => readonly string[]);
}

export const MODULE_MIGRATIONS_TABLE = 'rp_module_migrations';

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** Throws when a module name or its migration list is malformed: that is a bug, not input. */
export function assertModuleMigrations(moduleName: string, migrations: readonly StateMigration[]): void {
  if (!NAME.test(moduleName)) throw new Error(`module name must be lower-case kebab: ${JSON.stringify(moduleName)}`);
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= previous)
      throw new Error(
        `module ${moduleName}: migration versions must increase strictly: ${m.version} after ${previous} (${m.name})`,
      );
    previous = m.version;
  }
}

/** Takes the migration lock (cluster-wide on PostgreSQL) and creates the table when missing. */
async function lockedTable(tx: SqlExecutor): Promise<void> {
  const lock = tx.dialect.transactionLock('reskpoints.module-migrate');
  if (lock) await tx.query(lock.sql, lock.params);
  await tx.exec(`CREATE TABLE IF NOT EXISTS ${MODULE_MIGRATIONS_TABLE} (
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL,
    PRIMARY KEY (module, version)
  )`);
}

/** Applies the module's pending migrations; returns how many were applied (0 when up to date). */
export async function migrateModuleState(
  db: SqlDatabase,
  moduleName: string,
  migrations: readonly StateMigration[],
  nowMs: number,
): Promise<number> {
  assertModuleMigrations(moduleName, migrations);
  if (migrations.length === 0) return 0;
  return db.transaction(async (tx) => {
    await lockedTable(tx);
    const applied = await tx.query<{ version: number }>(
      `SELECT version FROM ${MODULE_MIGRATIONS_TABLE} WHERE module = $1`,
      [moduleName],
    );
    const done = new Set(applied.map((r) => Number(r.version)));
    let count = 0;
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      const steps = typeof m.steps === 'function' ? m.steps(tx.dialect) : m.steps;
      for (const step of steps) await tx.exec(step);
      await tx.exec(
        `INSERT INTO ${MODULE_MIGRATIONS_TABLE} (module, version, name, applied_at_ms) VALUES ($1, $2, $3, $4)`,
        [moduleName, m.version, m.name, nowMs],
      );
      count++;
    }
    return count;
  });
}

/** Highest applied version of a module's migrations, 0 before the first. */
export async function moduleStateVersion(db: SqlDatabase, moduleName: string): Promise<number> {
  await db.transaction(lockedTable);
  const rows = await db.query<{ v: number | null }>(
    `SELECT max(version) AS v FROM ${MODULE_MIGRATIONS_TABLE} WHERE module = $1`,
    [moduleName],
  );
  return Number(rows[0]?.v ?? 0);
}
