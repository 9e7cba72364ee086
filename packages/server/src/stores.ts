/**
 * Builds the storage adapters the configuration asks for: DuckDB files by default,
 * ClickHouse / PostgreSQL when their URLs are set. Part of the composition root.
 */
import { join } from 'node:path';
import type { Clock } from '@reskpoints/core';
import type { Config } from './config/schema.js';
import { createClickHouseTelemetryStore } from './store/clickhouse/clickhouse-telemetry-store.js';
import { DuckDbStateStore } from './store/duckdb/duckdb-state-store.js';
import { DuckDbTelemetryStore } from './store/duckdb/duckdb-telemetry-store.js';
import type { StateStore, TelemetryStore } from './store/ports.js';
import { createPostgresStateStore } from './store/postgres/postgres-state-store.js';

export interface Stores {
  /** Null when the role does not need telemetry (ingest nodes only publish to the bus). */
  telemetry: TelemetryStore | null;
  state: StateStore;
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
        })
      : await DuckDbTelemetryStore.open({ path: join(config.dataDir, 'telemetry.duckdb'), clock });
  let state: StateStore;
  try {
    state = config.postgres.url
      ? createPostgresStateStore({ url: config.postgres.url })
      : await DuckDbStateStore.open({ path: join(config.dataDir, 'state.duckdb'), clock });
  } catch (e) {
    await telemetry?.close();
    throw e;
  }
  return {
    telemetry,
    state,
    describe: {
      telemetry: config.clickhouse.url ? 'clickhouse' : 'duckdb',
      state: config.postgres.url ? 'postgres' : 'duckdb',
    },
    async close() {
      await Promise.allSettled([telemetry?.close(), state.close()]);
    },
  };
}
