/**
 * PgLeaderLease against the PostgreSQL on loopback. Each test uses its own schema and lease
 * name, so runs do not see each other's tokens.
 */
import { randomHex } from '@reskpoints/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PgLeaderLease } from './pg-leader-lease.js';

const URL = 'postgres://postgres@127.0.0.1:5432/test';
const schema = `rp_lease_${randomHex(6)}`;

describe('PgLeaderLease', () => {
  const leases: PgLeaderLease[] = [];
  const lease = (name: string) => {
    const l = new PgLeaderLease({ url: URL, name, schema });
    leases.push(l);
    return l;
  };
  afterAll(async () => {
    for (const l of leases) await l.close();
    const c = new pg.Client({ connectionString: URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  });

  it('only one of several contenders holds the lease; renewals keep the token', async () => {
    const contenders = [1, 2, 3, 4].map(() => lease('evaluator'));
    const tokens = await Promise.all(contenders.map((c) => c.tryAcquire()));
    const holders = tokens.filter((t) => t !== null);
    expect(holders).toEqual([1]);
    const leader = contenders[tokens.findIndex((t) => t !== null)]!;
    expect(await leader.tryAcquire()).toBe(1);
    for (const c of contenders) if (c !== leader) expect(await c.tryAcquire()).toBeNull();
  });

  it('after release another node takes over with a larger fencing token', async () => {
    const a = lease('retention');
    const b = lease('retention');
    const ta = await a.tryAcquire();
    expect(ta).not.toBeNull();
    expect(await b.tryAcquire()).toBeNull();
    await a.release();
    const tb = await b.tryAcquire();
    expect(tb).toBeGreaterThan(ta as number);
    expect(await a.tryAcquire()).toBeNull();
  });

  it('leases with different names are independent', async () => {
    const x = lease('x-job');
    const y = lease('y-job');
    expect(await x.tryAcquire()).not.toBeNull();
    expect(await y.tryAcquire()).not.toBeNull();
  });

  it('when the holder session dies the lease moves on and the old holder steps down', async () => {
    const a = lease('failover');
    const b = lease('failover');
    const ta = await a.tryAcquire();
    expect(ta).not.toBeNull();
    // Kill the holder's session from outside, as a network failure or server restart would.
    const admin = new pg.Client({ connectionString: URL });
    await admin.connect();
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'reskpoints-lease-failover' AND pid <> pg_backend_pid() AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)",
    );
    await admin.end();
    let tb: number | null = null;
    for (let i = 0; i < 50 && tb === null; i++) {
      tb = await b.tryAcquire();
      if (tb === null) await new Promise((r) => setTimeout(r, 100));
    }
    expect(tb).toBeGreaterThan(ta as number);
    // The old holder's renewal notices the broken session and it is no longer leader.
    expect(await a.tryAcquire()).toBeNull();
  });
});
