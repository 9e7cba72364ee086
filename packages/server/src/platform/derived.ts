/**
 * Runs a derived processor as a leader job: reads committed calls from the telemetry store in
 * ingestion order behind a cursor kept in `rp_cursors`, hands them to the processor, and
 * advances the cursor in the same fenced transaction as the processor's writes. So:
 * - every committed call is processed once, whether it came over HTTP, from the
 *   acknowledgement log's replay, a bus redelivery, or a retried append (the store stamps a
 *   call when it first commits it; a duplicate is not stored and not seen again);
 * - a crash between reading and committing repeats the batch, never skips it;
 * - a former leader's late write is refused by the fence;
 * - a commit notification only makes the job due now (`Scheduler.wake`); without one, the
 *   job polls every `pollIntervalMs`.
 * Readers stay `lagMs` behind the newest stamp where the store cannot promise that commits
 * become visible in stamp order (several cluster workers).
 */
import type { Clock, LlmCall } from '@reskpoints/core';
import type { IngestedCursor, TelemetryStore } from '../store/ports.js';
import { fencedTransaction } from './fencing.js';
import type { DerivedProcessor } from './module.js';
import type { JobDefinition } from './scheduler.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';

export interface DerivedJobOptions {
  /** Job and cursor name, `<module>.<processor>`. */
  name: string;
  processor: DerivedProcessor;
  telemetry: TelemetryStore;
  state: SqlDatabase;
  clock: Clock;
  /** Safety lag when the store reports none (`ingestedVisibilityLagMs` null), ms. */
  lagMs: number;
}

const DEFAULT_BATCH = 1000;
const DEFAULT_POLL_MS = 5000;

export function encodeIngestedCursor(c: IngestedCursor): string {
  return JSON.stringify([c.ingestedAtMs, c.projectId, c.id]);
}

export function decodeIngestedCursor(text: string): IngestedCursor {
  const [ingestedAtMs, projectId, id] = JSON.parse(text) as [number, string | null, string | null];
  return { ingestedAtMs, projectId, id };
}

/** The persisted cursor of `name`, or undefined when it never ran. */
export async function readCursor(db: SqlExecutor, name: string): Promise<IngestedCursor | null | undefined> {
  const rows = await db.query<{ position: string }>('SELECT position FROM rp_cursors WHERE name = $1', [name]);
  if (!rows[0]) return undefined;
  return rows[0].position === 'null' ? null : decodeIngestedCursor(rows[0].position);
}

async function writeCursor(tx: SqlExecutor, name: string, cursor: IngestedCursor | null, nowMs: number) {
  await tx.exec(
    `INSERT INTO rp_cursors (name, position, updated_at_ms) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at_ms = excluded.updated_at_ms`,
    [name, cursor === null ? 'null' : encodeIngestedCursor(cursor), nowMs],
  );
}

function cursorAfter(call: LlmCall): IngestedCursor {
  return { ingestedAtMs: call.ingestedAtMs, projectId: call.projectId, id: call.id };
}

export function derivedProcessorJob(opts: DerivedJobOptions): JobDefinition {
  const { name, processor, telemetry, state, clock } = opts;
  const batchSize = Math.max(1, Math.min(10_000, processor.batchSize ?? DEFAULT_BATCH));
  const storeLagMs = telemetry.ingestedVisibilityLagMs;
  const lagMs = storeLagMs ?? opts.lagMs;
  // A store whose commits become visible in stamp order needs no upper bound at all (its stamps
  // may run a little ahead of the clock in a burst of commits).
  const until = () => (storeLagMs === 0 ? Number.MAX_SAFE_INTEGER : clock.nowMs() - lagMs);
  return {
    name,
    scope: 'leader',
    everyMs: processor.pollIntervalMs ?? DEFAULT_POLL_MS,
    initialDelayMs: 0,
    async run({ nowMs, fence, signal }) {
      if (!fence) throw new Error(`derived processor ${name} needs the leader fence`);
      let cursor = await readCursor(state, name);
      if (cursor === undefined) {
        // First run anywhere: fix the starting point, so later runs continue from it.
        const start: IngestedCursor | null =
          processor.startFrom === 'beginning'
            ? null
            : { ingestedAtMs: clock.nowMs() - lagMs, projectId: null, id: null };
        await fencedTransaction(state, fence, nowMs, (tx) => writeCursor(tx, name, start, nowMs));
        cursor = start;
      }
      while (!signal.aborted) {
        const calls = await telemetry.listLlmCallsIngestedSince({
          after: cursor,
          untilMs: until(),
          limit: batchSize,
        });
        if (calls.length === 0) return;
        const next = cursorAfter(calls[calls.length - 1] as LlmCall);
        await fencedTransaction(state, fence, nowMs, async (tx) => {
          await processor.process(calls, tx, { nowMs, fence });
          await writeCursor(tx, name, next, nowMs);
        });
        cursor = next;
        try {
          await processor.afterCommit?.({ nowMs, fence });
        } catch {
          // Post-commit hints (live events, wake-ups) are best effort; the state is committed.
        }
        if (calls.length < batchSize) return;
      }
    },
  };
}
