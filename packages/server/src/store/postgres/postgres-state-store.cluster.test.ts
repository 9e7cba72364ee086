/**
 * PostgresStateStore against the PostgreSQL on loopback (scripts/cluster-services.sh).
 * Every opened store gets its own schema in the `test` database, dropped afterwards.
 */
import { randomHex } from '@reskpoints/core';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStateStoreContract } from '../contract/state-store.contract.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { PostgresStateStore } from './postgres-state-store.js';

const URL = 'postgres://postgres@127.0.0.1:5432/test';

describeStateStoreContract('PostgresStateStore', async () => {
  const store = new PostgresStateStore({ url: URL, schema: `rp_test_${randomHex(6)}` });
  return {
    store,
    close: async () => {
      await store.dropSchema();
      await store.close();
    },
  };
});

describe('PostgresStateStore specifics', () => {
  const opened: PostgresStateStore[] = [];
  const open = (schema: string) => {
    const s = new PostgresStateStore({ url: URL, schema, maxConnections: 3 });
    opened.push(s);
    return s;
  };
  afterAll(async () => {
    await opened[0]?.dropSchema();
    for (const s of opened) await s.close();
  });

  it('nodes migrating at once apply each migration once and all succeed', async () => {
    const schema = `rp_test_${randomHex(6)}`;
    const nodes = [1, 2, 3, 4, 5, 6].map(() => open(schema));
    expect(await nodes[0]!.schemaVersion()).toBe(0);
    await Promise.all(nodes.map((n) => n.migrate()));
    const latest = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;
    for (const n of nodes) expect(await n.schemaVersion()).toBe(latest);
    // Every node sees the same tables.
    expect(await nodes[3]!.createProject({ id: 'p', name: 'P', createdAtMs: 1 })).toBe(true);
    expect(await nodes[5]!.getProject('p')).toEqual({ id: 'p', name: 'P', createdAtMs: 1 });
  });

  it('refuses schema names that would need quoting', () => {
    expect(() => new PostgresStateStore({ url: URL, schema: 'Bad"Name' })).toThrow(/identifier/);
  });
});
