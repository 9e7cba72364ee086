import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { appendColumnar, type Column, INLINE_STRINGS } from './columnar-append.js';

interface Row {
  s: string | null;
  d: number | null;
  b: number | null;
  i: number;
  t: string[];
  f: boolean;
}

const columns: Column<Row>[] = [
  { name: 's', kind: 'varchar', get: (r) => r.s },
  { name: 'd', kind: 'double', get: (r) => r.d },
  { name: 'b', kind: 'bigint', get: (r) => r.b },
  { name: 'i', kind: 'integer', get: (r) => r.i },
  { name: 't', kind: 'varchar_list', get: (r) => r.t },
  { name: 'f', kind: 'boolean', get: (r) => r.f },
];

describe('appendColumnar', () => {
  it('uses the direct path for short strings on this DuckDB build', () => {
    expect(INLINE_STRINGS).toBe(true);
  });

  it('round-trips strings, numbers, lists and nulls across chunk boundaries', async () => {
    const strings = ['', 'a', 'abcdefghijkl', 'abcdefghijklm', 'ü', 'naïve café', '🚀', 'x'.repeat(300), null, "it's"];
    const bigints = [0, 1, -1, 2 ** 32, -(2 ** 32) - 5, 2 ** 53 - 1, -(2 ** 53) + 1, 1_767_571_200_000, null];
    const rows: Row[] = [];
    for (let k = 0; k < 5000; k++) {
      rows.push({
        s: strings[k % strings.length]!,
        d: k % 7 === 0 ? null : k / 3,
        b: bigints[k % bigints.length]!,
        i: k,
        // Lists cross the child vector's scratch windows; items short, long, non-ASCII, empty.
        t: k % 3 === 0 ? [] : k % 5 === 0 ? [`tag-${k}`, 'ü', 'a-rather-long-tag-value', ''] : [`tag-${k}`, 'ü'],
        f: k % 2 === 0,
      });
    }
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    await c.run('CREATE TABLE t (s VARCHAR, d DOUBLE, b BIGINT, i INTEGER, t VARCHAR[], f BOOLEAN)');
    const appender = await c.createAppender('t');
    appendColumnar(appender, columns, rows);
    appender.closeSync();
    const back = (await c.runAndReadAll('SELECT s, d, b::DOUBLE AS b, i, t, f FROM t ORDER BY i')).getRowObjectsJS();
    expect(back.length).toBe(rows.length);
    back.forEach((r, k) => {
      expect(r).toEqual({ ...rows[k], f: rows[k]!.f });
    });
    // Inlined and native strings compare and group like any other.
    const groups = (await c.runAndReadAll("SELECT count(*)::INTEGER AS n FROM t WHERE s = 'abcdefghijkl'")).getRows();
    expect(groups[0]![0]).toBe(500);
    c.closeSync();
    db.closeSync();
  });
});
