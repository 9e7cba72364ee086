import { randomHex } from '@reskpoints/core';
import { afterAll, describe, expect, it } from 'vitest';
import { PgSqlDatabase } from '../store/postgres/pg-sql.js';
import { sqlPortContract } from './sql.contract.js';
import { migrateModuleState, moduleStateVersion } from './state-migrations.js';
import { describeStateSql, TEST_POSTGRES_URL } from './testing/state-sql.js';

describeStateSql('SQL port', { backend: 'postgres' }, sqlPortContract);

describe('module migrations on PostgreSQL', () => {
  const opened: PgSqlDatabase[] = [];
  afterAll(async () => {
    await opened[0]?.dropSchema();
    for (const db of opened) await db.close();
  });

  it('nodes migrating at once apply each step exactly once and all succeed', async () => {
    const schema = `rp_sqlmig_${randomHex(6)}`;
    const nodes = Array.from({ length: 5 }, () => {
      const db = new PgSqlDatabase({ url: TEST_POSTGRES_URL, schema, maxConnections: 2 });
      opened.push(db);
      return db;
    });
    const migrations = [
      { version: 1, name: 'table', steps: ['CREATE TABLE once_only (id TEXT PRIMARY KEY)'] },
      // Not idempotent: a second application would fail on the duplicate key.
      { version: 2, name: 'seed', steps: ["INSERT INTO once_only (id) VALUES ('seed')"] },
    ];
    const applied = await Promise.all(nodes.map((db) => migrateModuleState(db, 'once', migrations, 1)));
    expect(applied.reduce((a, b) => a + b, 0)).toBe(2);
    for (const db of nodes) expect(await moduleStateVersion(db, 'once')).toBe(2);
    expect(await nodes[3]!.query('SELECT id FROM once_only')).toEqual([{ id: 'seed' }]);
  });
});
