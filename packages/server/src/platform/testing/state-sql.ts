/**
 * Runs a state repository's tests on both state databases: DuckDB in memory in `npm test`
 * (`x.test.ts`) and PostgreSQL on loopback in the cluster suite (`x.cluster.test.ts`), each
 * test on a fresh database (PostgreSQL: a unique schema, dropped afterwards) migrated with the
 * platform tables and the given modules' migrations.
 *
 *   // budgets/budget-repo.contract.ts
 *   export function budgetRepoContract(db: () => SqlDatabase): void {
 *     it('stores a budget', async () => { … await new BudgetRepo(db()).save(…) … });
 *   }
 *   // budgets/budget-repo.test.ts
 *   describeStateSql('BudgetRepo', { backend: 'duckdb', modules: [budgetsModule] }, budgetRepoContract);
 *   // budgets/budget-repo.cluster.test.ts
 *   describeStateSql('BudgetRepo', { backend: 'postgres', modules: [budgetsModule] }, budgetRepoContract);
 */
import { randomHex } from '@reskpoints/core';
import { afterEach, beforeEach, describe } from 'vitest';
import { DuckDbDatabase } from '../../store/duckdb/duckdb-database.js';
import { DuckDbSqlDatabase } from '../../store/duckdb/duckdb-sql.js';
import { PgSqlDatabase } from '../../store/postgres/pg-sql.js';
import { PLATFORM_MIGRATIONS, PLATFORM_MODULE_NAME } from '../platform-state.js';
import type { SqlDatabase } from '../sql.js';
import { migrateModuleState, type StateMigration } from '../state-migrations.js';

export type StateSqlBackend = 'duckdb' | 'postgres';

/** PostgreSQL of the cluster suites (scripts/cluster-services.sh). */
export const TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface OpenedStateSql {
  db: SqlDatabase;
  close(): Promise<void>;
}

/** A fresh, empty state database (no migrations applied). */
export async function openStateSql(backend: StateSqlBackend): Promise<OpenedStateSql> {
  if (backend === 'duckdb') {
    const raw = await DuckDbDatabase.open({ path: ':memory:', readers: 2 });
    return { db: new DuckDbSqlDatabase(raw), close: () => raw.close() };
  }
  const db = new PgSqlDatabase({ url: TEST_POSTGRES_URL, schema: `rp_sql_${randomHex(6)}`, maxConnections: 4 });
  return {
    db,
    async close() {
      await db.dropSchema();
      await db.close();
    },
  };
}

/** What a test database is migrated with: anything with a name and state migrations (a module definition). */
export interface MigratedModule {
  name: string;
  stateMigrations?: readonly StateMigration[];
}

/** Applies the platform tables and then each module's migrations. */
export async function migrateForTest(db: SqlDatabase, modules: readonly MigratedModule[], nowMs = 0): Promise<void> {
  await migrateModuleState(db, PLATFORM_MODULE_NAME, PLATFORM_MIGRATIONS, nowMs);
  for (const m of modules) await migrateModuleState(db, m.name, m.stateMigrations ?? [], nowMs);
}

export function describeStateSql(
  title: string,
  options: { backend: StateSqlBackend; modules?: readonly MigratedModule[] },
  body: (db: () => SqlDatabase) => void,
): void {
  describe(`${title} on ${options.backend === 'duckdb' ? 'DuckDB (memory)' : 'PostgreSQL'}`, () => {
    let opened: OpenedStateSql | null = null;
    beforeEach(async () => {
      opened = await openStateSql(options.backend);
      await migrateForTest(opened.db, options.modules ?? []);
    });
    afterEach(async () => {
      await opened?.close();
      opened = null;
    });
    body(() => {
      if (!opened) throw new Error('the state database is only open inside a test');
      return opened.db;
    });
  });
}
