/**
 * Builds the storage adapters the configuration asks for: DuckDB files by default,
 * ClickHouse / PostgreSQL when their URLs are set. Part of the composition root.
 */
import { join } from 'node:path';
import type { Clock } from '@reskpoints/core';
import type { Config } from './config/schema.js';
import type { SqlDatabase } from './platform/sql.js';
import { createClickHouseTelemetryStore } from './store/clickhouse/clickhouse-telemetry-store.js';
import { DuckDbStateStore } from './store/duckdb/duckdb-state-store.js';
import { DuckDbTelemetryStore } from './store/duckdb/duckdb-telemetry-store.js';
import type { StateStore, TelemetryStore } from './store/ports.js';
import { PgSqlDatabase } from './store/postgres/pg-sql.js';
import { createPgWriteLock } from './store/postgres/pg-write-lock.js';
import { createPostgresStateStore } from './store/postgres/postgres-state-store.js';

export interface Stores {
  /** Null when the role does not need telemetry (ingest nodes only publish to the bus). */
  telemetry: TelemetryStore | null;
  state: StateStore;
  /** The state database as the SQL port, for module repositories (same database as `state`). */
  stateSql: SqlDatabase;
  /** Which adapters were chosen, for the start-up log. */
  describe: { telemetry: 'duckdb' | 'clickhouse'; state: 'duckdb' | 'postgres' };
  close(): Promise<void>;
}

export async function openStores(config: Config, clock: Clock, want = { telemetry: true }): Promise<Stores> {
  const telemetry: TelemetryStore | null = !want.telemetry
    ? null
    : config.clickhouse.url
      ? createClickHouseTelemetryStore({
          url: config.clickhouse.url,
          database: config.clickhouse.database,
          username: config.clickhouse.username,
          password: config.clickhouse.password,
          nowMs: () => clock.nowMs(),
          // Several workers append to one database: the write lock keeps any two of them from
          // storing the same event (docs/cluster.md, "Idempotency and exactly-once").
          ...(config.postgres.url ? { writeLock: createPgWriteLock({ url: config.postgres.url }) } : {}),
        })
      : await DuckDbTelemetryStore.open({ path: join(config.dataDir, 'telemetry.duckdb'), clock });
  let state: StateStore;
  let stateSql: SqlDatabase;
  let closeSql = async () => {};
  try {
    if (config.postgres.url) {
      state = createPostgresStateStore({ url: config.postgres.url });
      const pgSql = new PgSqlDatabase({ url: config.postgres.url });
      stateSql = pgSql;
      closeSql = () => pgSql.close();
    } else {
      const duck = await DuckDbStateStore.open({ path: join(config.dataDir, 'state.duckdb'), clock });
      state = duck;
      stateSql = duck.sql;
    }
  } catch (e) {
    await telemetry?.close();
    throw e;
  }
  return {
    telemetry,
    state,
    stateSql,
    describe: {
      telemetry: config.clickhouse.url ? 'clickhouse' : 'duckdb',
      state: config.postgres.url ? 'postgres' : 'duckdb',
    },
    async close() {
      await Promise.allSettled([telemetry?.close(), closeSql().then(() => state.close())]);
    },
  };
}
