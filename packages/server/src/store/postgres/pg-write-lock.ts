/**
 * WriteLock on PostgreSQL session-level advisory locks, one per key, all on one dedicated
 * connection per instance.
 *
 * A lock lives exactly as long as the session: a holder that dies or loses its connection
 * frees its keys (server-side TCP keepalives notice a silent client within about
 * `keepaliveDeadMs`). To tell such a loss from a clean release, every key has a row in
 * `write_locks` that the holder marks `held` after taking the advisory lock and clears when it
 * releases cleanly. A new holder that finds the mark still set knows the previous holder may
 * have left work in flight (an INSERT the database is still executing), and says so in
 * `uncleanKeys`.
 */
import pg from 'pg';
import type { WriteLock, WriteLockHold } from '../ports.js';
import { advisoryKey, pgIdentifier } from './pg-util.js';

export interface PgWriteLockOptions {
  /** e.g. `postgres://postgres@127.0.0.1:5432/reskpoints`. */
  url: string;
  /** Schema of the `write_locks` table; created on first use. Default `public`. */
  schema?: string;
  /** How long the server waits before declaring a silent client dead, ms. Default 15_000. */
  keepaliveDeadMs?: number;
  /** Clock for the `acquired_at_ms` column. Default `Date.now`. */
  nowMs?: () => number;
  /** Shown in `pg_stat_activity` for the lock session. Default `reskpoints-write-lock`. */
  applicationName?: string;
}

export class PgWriteLock implements WriteLock {
  private client: pg.Client | null = null;
  /** Changes with every connection, so a mark left by a lost session is never mistaken for ours. */
  private holderId = '';
  private tableReady = false;
  private readonly s: string;

  constructor(private readonly options: PgWriteLockOptions) {
    this.s = pgIdentifier(options.schema ?? 'public');
  }

  async acquire(keys: string[]): Promise<WriteLockHold> {
    // One order for every holder, so two holders wanting overlapping keys cannot deadlock.
    const sorted = [...new Set(keys)].sort();
    const client = await this.connection();
    const holder = this.holderId;
    const unclean: string[] = [];
    const taken: string[] = [];
    try {
      for (const key of sorted) {
        await client.query('SELECT pg_advisory_lock($1::bigint)', [this.lockKey(key)]);
        taken.push(key);
        // The CTE reads the row as it was before the upsert: was it left marked?
        const res = await client.query<{ was_held: boolean | null }>(
          `WITH prev AS (SELECT held FROM ${this.s}.write_locks WHERE lock_key = $1),
           up AS (
             INSERT INTO ${this.s}.write_locks (lock_key, holder, held, acquired_at_ms) VALUES ($1, $2, true, $3)
             ON CONFLICT (lock_key) DO UPDATE SET holder = EXCLUDED.holder, held = true,
               acquired_at_ms = EXCLUDED.acquired_at_ms
           )
           SELECT (SELECT held FROM prev) AS was_held`,
          [this.rowKey(key), holder, (this.options.nowMs ?? Date.now)()],
        );
        if (res.rows[0]?.was_held === true) unclean.push(key);
      }
    } catch (e) {
      // Ending the session frees whatever was taken; the marks stay, as they should.
      await this.dropConnection();
      throw e;
    }
    let done = false;
    const release = async () => {
      if (done) return;
      done = true;
      if (this.client !== client) return; // The session is gone, and its locks with it.
      try {
        // Two statements: the cleared marks must be committed before anyone can take the locks.
        await client.query(`UPDATE ${this.s}.write_locks SET held = false WHERE lock_key = ANY($1) AND holder = $2`, [
          taken.map((k) => this.rowKey(k)),
          holder,
        ]);
        await client.query('SELECT pg_advisory_unlock(k) FROM unnest($1::bigint[]) AS k', [
          taken.map((k) => this.lockKey(k)),
        ]);
      } catch {
        await this.dropConnection();
      }
    };
    return {
      uncleanKeys: unclean,
      confirm: async () => {
        if (done || this.client !== client || this.holderId !== holder) throw new Error('write lock no longer held');
        try {
          // The session is alive, so its advisory locks are: they end only with it or by unlock.
          await client.query('SELECT 1');
        } catch (e) {
          await this.dropConnection();
          throw e;
        }
      },
      release,
      abandon: async () => {
        // Leave the marks set for the next holder, and end the session to free the locks.
        done = true;
        if (this.client === client) await this.dropConnection();
      },
    };
  }

  private rowKey(key: string): string {
    return key;
  }

  private lockKey(key: string): string {
    return advisoryKey(`reskpoints.write.${this.options.schema ?? 'public'}.${key}`);
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const idleS = Math.max(1, Math.floor((this.options.keepaliveDeadMs ?? 15_000) / 3000));
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: this.options.applicationName ?? 'reskpoints-write-lock',
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    // An error on an idle session must not crash the process; the next use sees it.
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(`SET tcp_keepalives_idle = ${idleS}`);
      await client.query(`SET tcp_keepalives_interval = ${idleS}`);
      await client.query('SET tcp_keepalives_count = 2');
      if (!this.tableReady) {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [
          advisoryKey(`reskpoints.write-table.${this.s}`),
        ]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.s}.write_locks (
            lock_key text PRIMARY KEY,
            holder text NOT NULL,
            held boolean NOT NULL,
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
    this.holderId = `${process.pid}-${Math.random().toString(36).slice(2, 12)}`;
    return client;
  }

  private async dropConnection(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.dropConnection();
  }
}

export function createPgWriteLock(options: PgWriteLockOptions): PgWriteLock {
  return new PgWriteLock(options);
}
