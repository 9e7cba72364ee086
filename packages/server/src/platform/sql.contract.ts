/**
 * The contract of the state SQL port (`sql.ts`): the common SQL that module repositories may
 * rely on behaves the same on DuckDB and PostgreSQL. Run by `sql.test.ts` (DuckDB) and
 * `sql.cluster.test.ts` (PostgreSQL).
 */
import { expect, it } from 'vitest';
import { checkFence, fencedTransaction, StaleFenceError } from './fencing.js';
import type { SqlDatabase } from './sql.js';
import { migrateModuleState, moduleStateVersion } from './state-migrations.js';

const CREATE_ITEMS = `CREATE TABLE items (
  id TEXT NOT NULL PRIMARY KEY,
  n BIGINT NOT NULL,
  x DOUBLE PRECISION,
  ok BOOLEAN NOT NULL,
  doc TEXT
)`;

export function sqlPortContract(db: () => SqlDatabase): void {
  it('round-trips BIGINT, DOUBLE PRECISION, TEXT, BOOLEAN and NULL; aggregates come back as numbers', async () => {
    await db().exec(CREATE_ITEMS);
    const big = Date.UTC(2026, 10, 30, 12, 0, 0, 123);
    expect(
      await db().exec('INSERT INTO items (id, n, x, ok, doc) VALUES ($1, $2, $3, $4, $5)', [
        'a',
        big,
        0.1 + 0.2,
        true,
        JSON.stringify({ k: 'ü "q"' }),
      ]),
    ).toBe(1);
    await db().exec('INSERT INTO items (id, n, x, ok, doc) VALUES ($1, $2, $3, $4, $5)', ['b', 7, null, false, null]);
    const rows = await db().query('SELECT id, n, x, ok, doc FROM items ORDER BY id');
    expect(rows).toEqual([
      { id: 'a', n: big, x: 0.1 + 0.2, ok: true, doc: '{"k":"ü \\"q\\""}' },
      { id: 'b', n: 7, x: null, ok: false, doc: null },
    ]);
    const agg = await db().query('SELECT count(*) AS c, sum(n) AS s, max(x) AS m FROM items WHERE n >= $1', [7]);
    expect(agg).toEqual([{ c: 2, s: big + 7, m: 0.1 + 0.2 }]);
    const cast = await db().query('SELECT CAST($1 AS BIGINT) AS v, CAST($2 AS TEXT) AS t', [42, 'z']);
    expect(cast).toEqual([{ v: 42, t: 'z' }]);
  });

  it('upserts with ON CONFLICT, conditional updates and RETURNING; exec counts the rows it changed', async () => {
    await db().exec(CREATE_ITEMS);
    const upsert = `INSERT INTO items (id, n, x, ok) VALUES ($1, $2, $3, true)
      ON CONFLICT (id) DO UPDATE SET n = items.n + excluded.n WHERE items.n < $4 RETURNING n`;
    expect(await db().query(upsert, ['a', 5, 1.5, 100])).toEqual([{ n: 5 }]);
    expect(await db().query(upsert, ['a', 5, 1.5, 100])).toEqual([{ n: 10 }]);
    // The WHERE of DO UPDATE refuses: nothing returned, nothing changed.
    expect(await db().query(upsert, ['a', 5, 1.5, 10])).toEqual([]);
    expect(
      await db().exec('INSERT INTO items (id, n, ok) VALUES ($1, $2, true) ON CONFLICT DO NOTHING', ['a', 1]),
    ).toBe(0);
    await db().exec('INSERT INTO items (id, n, ok) VALUES ($1, 1, true), ($2, 2, true)', ['b', 'c']);
    expect(await db().exec('UPDATE items SET ok = false WHERE n < $1', [5])).toBe(2);
    expect(await db().exec('DELETE FROM items WHERE ok = $1', [false])).toBe(2);
    expect(await db().query('SELECT id, n FROM items')).toEqual([{ id: 'a', n: 10 }]);
  });

  it('commits a transaction as a whole and rolls it back when it throws', async () => {
    await db().exec(CREATE_ITEMS);
    const n = await db().transaction(async (tx) => {
      await tx.exec("INSERT INTO items (id, n, ok) VALUES ('a', 1, true)");
      await tx.exec("INSERT INTO items (id, n, ok) VALUES ('b', 2, true)");
      // The transaction sees its own writes.
      return (await tx.query<{ c: number }>('SELECT count(*) AS c FROM items'))[0]?.c;
    });
    expect(n).toBe(2);
    await expect(
      db().transaction(async (tx) => {
        await tx.exec("INSERT INTO items (id, n, ok) VALUES ('c', 3, true)");
        await tx.exec("UPDATE items SET n = 100 WHERE id = 'a'");
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await db().query('SELECT id, n FROM items ORDER BY id')).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);
    // A failing statement fails the transaction; nothing of it stays.
    await expect(
      db().transaction(async (tx) => {
        await tx.exec("INSERT INTO items (id, n, ok) VALUES ('d', 4, true)");
        await tx.exec("INSERT INTO items (id, n, ok) VALUES ('a', 5, true)");
      }),
    ).rejects.toThrow();
    expect(await db().query<{ c: number }>('SELECT count(*) AS c FROM items')).toEqual([{ c: 2 }]);
  });

  it('concurrent check-and-set increments lose no update', async () => {
    await db().exec(CREATE_ITEMS);
    await db().exec("INSERT INTO items (id, n, ok) VALUES ('counter', 0, true)");
    await Promise.all(Array.from({ length: 40 }, () => db().exec("UPDATE items SET n = n + 1 WHERE id = 'counter'")));
    await Promise.all(
      Array.from({ length: 10 }, () =>
        db().transaction(async (tx) => {
          await tx.exec("UPDATE items SET n = n + 10 WHERE id = 'counter'");
        }),
      ),
    );
    expect(await db().query("SELECT n FROM items WHERE id = 'counter'")).toEqual([{ n: 140 }]);
  });

  it('migrates each module on its own version line, once; a failing migration leaves nothing behind', async () => {
    const alpha = [
      { version: 1, name: 'a table', steps: ['CREATE TABLE alpha_things (id TEXT PRIMARY KEY)'] },
      { version: 2, name: 'a column', steps: ['ALTER TABLE alpha_things ADD COLUMN size BIGINT'] },
    ];
    const beta = [
      { version: 1, name: 'b table', steps: (d: { name: string }) => [`CREATE TABLE beta_${d.name} (id TEXT)`] },
    ];
    expect(await migrateModuleState(db(), 'alpha', alpha, 1)).toBe(2);
    expect(await migrateModuleState(db(), 'beta', beta, 1)).toBe(1);
    expect(await migrateModuleState(db(), 'alpha', alpha, 2)).toBe(0);
    expect(await moduleStateVersion(db(), 'alpha')).toBe(2);
    expect(await moduleStateVersion(db(), 'beta')).toBe(1);
    expect(await moduleStateVersion(db(), 'gamma')).toBe(0);
    await db().exec("INSERT INTO alpha_things (id, size) VALUES ('x', 3)");
    await db().query(`SELECT id FROM beta_${db().dialect.name}`);

    const broken = [
      ...alpha,
      {
        version: 3,
        name: 'ok step then a bad one',
        steps: ['CREATE TABLE alpha_more (id TEXT)', 'CREATE TABLE nope ('],
      },
    ];
    await expect(migrateModuleState(db(), 'alpha', broken, 3)).rejects.toThrow();
    expect(await moduleStateVersion(db(), 'alpha')).toBe(2);
    await expect(db().query('SELECT id FROM alpha_more')).rejects.toThrow();
    await expect(migrateModuleState(db(), 'Bad Name', alpha, 1)).rejects.toThrow(/kebab/);
    await expect(migrateModuleState(db(), 'alpha', [alpha[1]!, alpha[0]!], 1)).rejects.toThrow(/increase strictly/);
  });

  it('fenced writes: a newer token wins, an older one is refused and its transaction rolled back', async () => {
    await db().exec(CREATE_ITEMS);
    const write = (token: number, id: string) =>
      fencedTransaction(db(), { name: 'leader', token }, 1000, async (tx) => {
        await tx.exec('INSERT INTO items (id, n, ok) VALUES ($1, $2, true)', [id, token]);
      });
    await write(3, 'first');
    await write(3, 'same-token-again');
    await write(5, 'newer');
    const stale = write(4, 'stale').catch((e: unknown) => e);
    const e = await stale;
    expect(e).toBeInstanceOf(StaleFenceError);
    expect((e as StaleFenceError).currentToken).toBe(5);
    expect((await db().query('SELECT id FROM items ORDER BY n, id')).map((r) => r['id'])).toEqual([
      'first',
      'same-token-again',
      'newer',
    ]);
    // Another fence name has its own token line.
    await db().transaction((tx) => checkFence(tx, { name: 'other', token: 1 }, 1000));
  });
}
