/**
 * PgWriteLock against the PostgreSQL on loopback; each run uses its own schema.
 */
import { randomHex } from '@reskpoints/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PgWriteLock } from './pg-write-lock.js';

const URL = 'postgres://postgres@127.0.0.1:5432/test';
const schema = `rp_wlock_${randomHex(6)}`;

describe('PgWriteLock', () => {
  const locks: PgWriteLock[] = [];
  const lock = (applicationName?: string) => {
    const l = new PgWriteLock({ url: URL, schema, ...(applicationName ? { applicationName } : {}) });
    locks.push(l);
    return l;
  };
  afterAll(async () => {
    for (const l of locks) await l.close();
    const c = new pg.Client({ connectionString: URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  });

  it('holders of overlapping keys take turns, whatever order they name the keys in', async () => {
    const a = lock();
    const b = lock();
    const events: string[] = [];
    const holdA = await a.acquire(['d2', 'd1']);
    const waiting = b.acquire(['d1', 'd3']).then((h) => {
      events.push('b acquired');
      return h;
    });
    await new Promise((r) => setTimeout(r, 200));
    events.push('a releasing');
    await holdA.release();
    const holdB = await waiting;
    expect(events).toEqual(['a releasing', 'b acquired']);
    expect(holdB.uncleanKeys).toEqual([]);
    await holdB.confirm();
    await holdB.release();
  });

  it('reports the keys whose holder lost its session without releasing them', async () => {
    const name = `rp-wlock-test-${randomHex(4)}`;
    const lost = lock(name);
    const next = lock();
    const hold = await lost.acquire(['k1', 'k2']);
    const admin = new pg.Client({ connectionString: URL });
    await admin.connect();
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
    await admin.end();
    await expect(hold.confirm()).rejects.toThrow();
    const taken = await next.acquire(['k2', 'k3']);
    expect(taken.uncleanKeys).toEqual(['k2']);
    await taken.release();
    // Released cleanly this time: the next holder finds nothing to wait for.
    const again = await lost.acquire(['k2']);
    expect(again.uncleanKeys).toEqual([]);
    // Giving up without a clean release leaves the mark for the next holder.
    await again.abandon();
    const after = await next.acquire(['k2']);
    expect(after.uncleanKeys).toEqual(['k2']);
    await after.release();
  });
});
