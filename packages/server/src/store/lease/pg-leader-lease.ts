/**
 * LeaderLease on a PostgreSQL session-level advisory lock.
 *
 * The holder keeps one dedicated connection; the lock lives exactly as long as that session.
 * If the process dies or its connection breaks, PostgreSQL ends the session and frees the
 * lock, and another node's next `tryAcquire` takes it. Server-side TCP keepalives are turned
 * on for the session so a vanished client is noticed within about `keepaliveDeadMs`.
 *
 * Fencing: every acquisition bumps a per-lease counter row in the same database, and
 * `tryAcquire` returns it. Tokens only grow, so a resource that remembers the highest token
 * it has seen can refuse writes from a former leader that has not yet noticed it lost the
 * lease (paused process, broken connection not yet detected). A renewal by the current
 * holder returns the same token.
 */
import pg from 'pg';
import type { LeaderLease } from '../ports.js';
import { advisoryKey, pgIdentifier, pgNumber } from '../postgres/pg-util.js';

export interface PgLeaderLeaseOptions {
  /** e.g. `postgres://postgres@127.0.0.1:5432/reskpoints`. */
  url: string;
  /** What the lease guards, e.g. `alert-evaluator`; one lock and one token sequence per name. */
  name: string;
  /** Schema of the `leader_leases` table; created on first use. Default `public`. */
  schema?: string;
  /** Identifies this node in the lease row, for operators. Default: a random id. */
  holderId?: string;
  /**
   * How long the server waits before declaring a silent client dead, in milliseconds: TCP
   * keepalive idle + interval × count. Default 15_000.
   */
  keepaliveDeadMs?: number;
  /** Clock for the `acquired_at_ms` column. Default `Date.now`. */
  nowMs?: () => number;
}

export class PgLeaderLease implements LeaderLease {
  private client: pg.Client | null = null;
  private token: number | null = null;
  private readonly lockKey: string;
  private readonly s: string;
  private readonly holderId: string;
  private readonly keepaliveDeadMs: number;
  private readonly nowMs: () => number;
  private tableReady = false;
  /** Serialises calls: the lease state must not be changed by two calls at once. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PgLeaderLeaseOptions) {
    this.s = pgIdentifier(options.schema ?? 'public');
    this.lockKey = advisoryKey(`reskpoints.lease.${options.schema ?? 'public'}.${options.name}`);
    this.holderId = options.holderId ?? `node-${Math.random().toString(36).slice(2, 10)}`;
    this.keepaliveDeadMs = options.keepaliveDeadMs ?? 15_000;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** The token while held (after the last successful `tryAcquire`), else null. */
  get heldToken(): number | null {
    return this.token;
  }

  tryAcquire(): Promise<number | null> {
    return this.serialised(() => this.acquireNow());
  }

  release(): Promise<void> {
    return this.serialised(() => this.releaseNow());
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async acquireNow(): Promise<number | null> {
    if (this.client && this.token !== null) {
      // Renewal: the lock is ours as long as the session is. A failing round trip means the
      // session may be gone, and with it the lock: step down and try afresh below.
      try {
        await this.client.query('SELECT 1');
        return this.token;
      } catch {
        await this.dropConnection();
      }
    }
    try {
      const client = await this.connection();
      const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [this.lockKey]);
      if (!got.rows[0]?.ok) return null;
      const bumped = await client.query<{ token: string }>(
        `INSERT INTO ${this.s}.leader_leases (name, token, holder, acquired_at_ms) VALUES ($1, 1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET token = leader_leases.token + 1, holder = EXCLUDED.holder,
           acquired_at_ms = EXCLUDED.acquired_at_ms
         RETURNING token`,
        [this.options.name, this.holderId, this.nowMs()],
      );
      this.token = pgNumber(bumped.rows[0]?.token);
      return this.token;
    } catch {
      // Database unreachable: not the leader. The next call retries.
      await this.dropConnection();
      return null;
    }
  }

  private async releaseNow(): Promise<void> {
    const client = this.client;
    this.token = null;
    if (!client) return;
    try {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [this.lockKey]);
    } catch {
      // Ending the session below frees the lock anyway.
    }
    await this.dropConnection();
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const idleS = Math.max(1, Math.floor(this.keepaliveDeadMs / 3000));
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: `reskpoints-lease-${this.options.name}`,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    // Errors on an idle session (server restart) must not crash the process; the next
    // renewal sees the broken connection and steps down.
    client.on('error', () => undefined);
    await client.connect();
    try {
      // The server probes a silent client after idleS seconds, then twice more idleS apart.
      await client.query(`SET tcp_keepalives_idle = ${idleS}`);
      await client.query(`SET tcp_keepalives_interval = ${idleS}`);
      await client.query('SET tcp_keepalives_count = 2');
      if (!this.tableReady) {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [
          advisoryKey(`reskpoints.lease-table.${this.s}`),
        ]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.s}.leader_leases (
            name text PRIMARY KEY,
            token bigint NOT NULL,
            holder text NOT NULL,
            acquired_at_ms bigint NOT NULL
          )`,
        );
        await client.query('COMMIT');
        this.tableReady = true;
      }
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    this.client = client;
    return client;
  }

  private async dropConnection(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.token = null;
    if (client) await client.end().catch(() => undefined);
  }

  /** Releases the lease if held and closes the connection. */
  async close(): Promise<void> {
    await this.release();
  }
}

export function createPgLeaderLease(options: PgLeaderLeaseOptions): PgLeaderLease {
  return new PgLeaderLease(options);
}
