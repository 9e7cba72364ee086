/**
 * Fenced writes: state written by a leader-only job carries the fencing token of the lease it
 * ran under, and a write with a token lower than one already seen for the same fence is
 * refused. So a former leader that has not noticed it lost the lease (a long GC pause, a
 * partition) cannot overwrite what the new leader wrote.
 *
 * The check is an upsert on `rp_fences` inside the write's transaction: on PostgreSQL the row
 * lock it takes is held to commit, so two leaders' writes serialise and the older token loses;
 * on DuckDB writes are serialised by the single writer connection.
 */
import type { SqlDatabase, SqlExecutor } from './sql.js';

/** The lease a leader-only job runs under: `name` identifies the lease, `token` only grows. */
export interface Fence {
  readonly name: string;
  readonly token: number;
}

/** Thrown by `fencedTransaction` when a newer leader has written under the same fence. */
export class StaleFenceError extends Error {
  constructor(
    readonly fence: Fence,
    readonly currentToken: number | null,
  ) {
    super(
      `fencing token ${fence.token} of ${fence.name} is stale (a newer leader wrote with ${currentToken ?? '?'}); the write was refused`,
    );
    this.name = 'StaleFenceError';
  }
}

/**
 * Checks `fence` and records it as the newest seen, inside the caller's transaction. Throws
 * `StaleFenceError` (so the transaction rolls back) when a newer token was recorded before.
 */
export async function checkFence(tx: SqlExecutor, fence: Fence, nowMs: number): Promise<void> {
  const rows = await tx.query(
    `INSERT INTO rp_fences (name, token, updated_at_ms) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET token = excluded.token, updated_at_ms = excluded.updated_at_ms
     WHERE rp_fences.token <= excluded.token
     RETURNING token`,
    [fence.name, fence.token, nowMs],
  );
  if (rows.length === 1) return;
  const current = await tx.query<{ token: number }>('SELECT token FROM rp_fences WHERE name = $1', [fence.name]);
  throw new StaleFenceError(fence, current[0] ? Number(current[0].token) : null);
}

/**
 * Runs `fn` in a transaction that first checks `fence`: everything `fn` writes through `tx`
 * commits only if no newer leader has written under the same fence. Rejects with
 * `StaleFenceError` otherwise (nothing is written).
 */
export function fencedTransaction<T>(
  db: SqlDatabase,
  fence: Fence,
  nowMs: number,
  fn: (tx: SqlExecutor) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    await checkFence(tx, fence, nowMs);
    return fn(tx);
  });
}
