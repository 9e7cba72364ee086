/**
 * The scheduler on a fake clock: leader jobs run once per cluster under the lease and keep
 * their cadence across a change of leader; a former leader's runs are fenced off; node jobs
 * run everywhere; failures are contained.
 */
import { FakeClock } from '@reskpoints/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LeaderLease } from '../store/ports.js';
import { fencedTransaction } from './fencing.js';
import { Scheduler } from './scheduler.js';
import type { SqlDatabase } from './sql.js';
import { migrateForTest, type OpenedStateSql, openStateSql } from './testing/state-sql.js';

/**
 * Leases handed out by one arbiter, like the PostgreSQL lease: one holder at a time, tokens
 * grow with each new holder. `stale` makes a node keep answering with its old token, as a node
 * that has not noticed it lost the lease would.
 */
class Arbiter {
  private holder: string | null = null;
  private token = 0;
  private readonly stale = new Map<string, number>();

  lease(node: string): LeaderLease {
    return {
      tryAcquire: async () => {
        const old = this.stale.get(node);
        if (old !== undefined) return old;
        if (this.holder === null) {
          this.holder = node;
          this.token++;
        }
        return this.holder === node ? this.token : null;
      },
      release: async () => {
        if (this.holder === node) this.holder = null;
      },
    };
  }

  /** Hands the lease to `node`; the former holder keeps its old token when `formerStale`. */
  moveTo(node: string, formerStale = false): void {
    if (formerStale && this.holder !== null) this.stale.set(this.holder, this.token);
    this.holder = node;
    this.token++;
  }
}

describe('Scheduler', () => {
  let opened: OpenedStateSql;
  let db: SqlDatabase;
  let clock: FakeClock;
  const schedulers: Scheduler[] = [];
  const scheduler = (lease: LeaderLease | null) => {
    const s = new Scheduler({ clock, lease, state: db });
    schedulers.push(s);
    return s;
  };

  beforeEach(async () => {
    opened = await openStateSql('duckdb');
    db = opened.db;
    await migrateForTest(db, []);
    await db.exec('CREATE TABLE writes (node TEXT NOT NULL, token BIGINT NOT NULL, at_ms BIGINT NOT NULL)');
    clock = new FakeClock(Date.UTC(2026, 10, 30));
  });
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.stop();
    await opened.close();
  });

  const writesOf = async () =>
    (
      await db.query<{ node: string; token: number; at_ms: number }>(
        'SELECT node, token, at_ms FROM writes ORDER BY at_ms, node',
      )
    ).map((r) => `${r.node}:${r.token}@${(r.at_ms - Date.UTC(2026, 10, 30)) / 1000}s`);

  /** A leader job that writes one fenced row per run. */
  const writer = (node: string) => ({
    name: 'report',
    scope: 'leader' as const,
    everyMs: 60_000,
    async run({ nowMs, fence }: { nowMs: number; fence: { name: string; token: number } | null }) {
      await fencedTransaction(db, fence!, nowMs, (tx) =>
        tx.exec('INSERT INTO writes (node, token, at_ms) VALUES ($1, $2, $3)', [node, fence!.token, nowMs]),
      );
    },
  });

  it('runs a leader job on the lease holder only, once per interval', async () => {
    const arbiter = new Arbiter();
    const a = scheduler(arbiter.lease('a'));
    const b = scheduler(arbiter.lease('b'));
    a.add(writer('a'));
    b.add(writer('b'));
    await a.tick();
    await b.tick();
    expect(a.leaderToken).toBe(1);
    expect(b.leaderToken).toBeNull();
    clock.advance(59_999);
    await a.tick();
    await b.tick();
    clock.advance(1);
    await a.tick();
    await b.tick();
    expect(await writesOf()).toEqual(['a:1@0s', 'a:1@60s']);
  });

  it('a new leader continues the cadence recorded by the old one', async () => {
    const arbiter = new Arbiter();
    const leaseA = arbiter.lease('a');
    const a = scheduler(leaseA);
    const b = scheduler(arbiter.lease('b'));
    a.add(writer('a'));
    b.add(writer('b'));
    await a.tick();
    clock.advance(20_000);
    await leaseA.release();
    await b.tick();
    // b leads now, but the job ran 20 s ago: it is due at 60 s, not at once.
    expect(b.leaderToken).toBe(2);
    clock.advance(39_000);
    await b.tick();
    clock.advance(1_000);
    await b.tick();
    expect(await writesOf()).toEqual(['a:1@0s', 'b:2@60s']);
  });

  it('fences off a former leader that has not noticed it lost the lease', async () => {
    const arbiter = new Arbiter();
    const a = scheduler(arbiter.lease('a'));
    const b = scheduler(arbiter.lease('b'));
    let aRuns = 0;
    a.add({
      ...writer('a'),
      run: async (ctx) => {
        aRuns++;
        await writer('a').run(ctx);
      },
    });
    b.add(writer('b'));
    await a.tick();
    expect(aRuns).toBe(1);
    // a pauses; the lease moves to b, which runs and writes with token 2.
    arbiter.moveTo('b', true);
    clock.advance(60_000);
    await b.tick();
    // a wakes up still believing it holds token 1: its run is refused before the job starts.
    await a.tick();
    expect(aRuns).toBe(1);
    const status = a.status()[0];
    expect(status?.lastError).toMatch(/stale/);
    expect(status?.failures).toBe(1);
    // And a write with the old token, had the job got that far, is refused as well.
    await expect(
      fencedTransaction(db, { name: 'leader', token: 1 }, clock.nowMs(), (tx) =>
        tx.exec("INSERT INTO writes (node, token, at_ms) VALUES ('late', 1, 0)"),
      ),
    ).rejects.toThrow(/stale/);
    expect(await writesOf()).toEqual(['a:1@0s', 'b:2@60s']);
  });

  it('aborts a running leader job when the lease is lost', async () => {
    const arbiter = new Arbiter();
    const a = scheduler(arbiter.lease('a'));
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let aborted!: () => void;
    const abortSeen = new Promise<void>((r) => (aborted = r));
    a.add({
      name: 'long',
      scope: 'leader',
      everyMs: 60_000,
      async run({ signal }) {
        signal.addEventListener('abort', () => aborted());
        started();
        await blocked;
      },
    });
    const first = a.tick();
    await running;
    arbiter.moveTo('b');
    const second = a.tick();
    await abortSeen;
    expect(a.leaderToken).toBeNull();
    release();
    await Promise.all([first, second]);
  });

  it('runs node jobs on every node after their initial delay; a failing job is retried when next due', async () => {
    const arbiter = new Arbiter();
    const runs: string[] = [];
    let fail = true;
    for (const node of ['a', 'b']) {
      const s = scheduler(node === 'a' ? arbiter.lease('a') : null);
      s.add({
        name: 'refresh',
        scope: 'node',
        everyMs: 10_000,
        initialDelayMs: 5_000,
        async run({ fence }) {
          runs.push(`${node}${fence === null ? '' : '!'}`);
          if (fail) throw new Error('upstream down');
        },
      });
    }
    const tickAll = () => Promise.all(schedulers.map((s) => s.tick()));
    await tickAll();
    expect(runs).toEqual([]);
    clock.advance(5_000);
    await tickAll();
    expect(runs).toEqual(['a', 'b']);
    expect(schedulers[0]?.status()[0]).toMatchObject({ failures: 1, lastError: 'upstream down' });
    fail = false;
    clock.advance(10_000);
    await tickAll();
    expect(runs).toEqual(['a', 'b', 'a', 'b']);
    expect(schedulers[1]?.status()[0]).toMatchObject({ runs: 1, failures: 1, lastError: null });
  });

  it('wake makes a job due now; unknown names are ignored', async () => {
    const s = scheduler(new Arbiter().lease('a'));
    let runs = 0;
    s.add({ name: 'derived', scope: 'leader', everyMs: 5_000, run: async () => void runs++ });
    await s.tick();
    await s.tick();
    expect(runs).toBe(1);
    s.wake('derived');
    s.wake('no-such-job');
    await s.tick();
    expect(runs).toBe(2);
  });

  it('a wake during a run runs the job again as soon as it finished, not at the next timer tick', async () => {
    const s = new Scheduler({ clock, lease: new Arbiter().lease('a'), state: db, tickMs: 3_600_000 });
    schedulers.push(s);
    let runs = 0;
    let release: () => void = () => undefined;
    const secondRun = new Promise<void>((resolve) => {
      s.add({
        name: 'evaluate',
        scope: 'leader',
        everyMs: 60_000,
        run: async () => {
          runs++;
          if (runs === 1) await new Promise<void>((r) => (release = r));
          else resolve();
        },
      });
    });
    s.start();
    for (let i = 0; i < 100 && runs === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(runs).toBe(1);
    s.wake('evaluate');
    await new Promise((r) => setTimeout(r, 50));
    expect(runs).toBe(1);
    release();
    await secondRun;
    expect(runs).toBe(2);
  });

  it('refuses duplicate names and non-positive intervals', () => {
    const s = scheduler(null);
    s.add({ name: 'x', scope: 'node', everyMs: 1, run: async () => undefined });
    expect(() => s.add({ name: 'x', scope: 'node', everyMs: 1, run: async () => undefined })).toThrow(/twice/);
    expect(() => s.add({ name: 'y', scope: 'node', everyMs: 0, run: async () => undefined })).toThrow(/positive/);
  });
});
