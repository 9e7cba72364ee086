import { batchEvents, batchFromEvents, type TelemetryBatch, type TelemetryEvent } from '@reskpoints/core';
import { isPermanentStoreError } from '../store/permanent-error.js';
import type { AppendResult } from '../store/ports.js';

/** One event the store refused on its own, with the error it gave. */
export type RejectedEvent = TelemetryEvent & { error: unknown };

export type IsolatedCommit =
  | {
      ok: true;
      /** What the commits that succeeded stored, summed. */
      result: AppendResult;
      /** Events the store refused permanently even alone; nothing else was left out. */
      rejected: RejectedEvent[];
      commits: number;
    }
  | {
      ok: false;
      /** A transient failure: the caller retries the whole batch (appends are idempotent). */
      error: unknown;
    };

export function emptyAppendResult(): AppendResult {
  return { llmCallsInserted: 0, llmCallDuplicates: 0, spansInserted: 0, spanDuplicates: 0, insertedLlmCallKeys: [] };
}

function addResult(into: AppendResult, r: AppendResult): void {
  into.llmCallsInserted += r.llmCallsInserted;
  into.llmCallDuplicates += r.llmCallDuplicates;
  into.spansInserted += r.spansInserted;
  into.spanDuplicates += r.spanDuplicates;
  for (const k of r.insertedLlmCallKeys) into.insertedLlmCallKeys.push(k);
  if (r.logsInserted !== undefined) into.logsInserted = (into.logsInserted ?? 0) + r.logsInserted;
  if (r.logDuplicates !== undefined) into.logDuplicates = (into.logDuplicates ?? 0) + r.logDuplicates;
  if (r.ingestedAtRange) {
    const a = into.ingestedAtRange;
    into.ingestedAtRange = a
      ? { fromMs: Math.min(a.fromMs, r.ingestedAtRange.fromMs), toMs: Math.max(a.toMs, r.ingestedAtRange.toMs) }
      : { ...r.ingestedAtRange };
  }
}

/**
 * Commits `batch`; when the store refuses it permanently, commits each half on its own, and so
 * on, until every refused event stands alone. The rest is stored; the refused events come back
 * with their errors. A transient failure on the way stops the split: the caller retries the
 * whole batch later, and the halves already committed are then recognised as duplicates.
 *
 * `firstError`, when given, is the error the whole batch already failed with (so it is not
 * committed again). Costs about 2·log2(n) commits per refused event.
 */
export async function commitIsolating(
  commit: (batch: TelemetryBatch) => Promise<AppendResult>,
  batch: TelemetryBatch,
  firstError?: unknown,
): Promise<IsolatedCommit> {
  const result = emptyAppendResult();
  const rejected: RejectedEvent[] = [];
  let commits = 0;
  let transient: { error: unknown } | null = null;

  const run = async (events: TelemetryEvent[], failed?: { error: unknown }): Promise<void> => {
    let error: unknown;
    if (failed) error = failed.error;
    else {
      try {
        commits++;
        addResult(result, await commit(batchFromEvents(events)));
        return;
      } catch (e) {
        error = e;
      }
    }
    if (!isPermanentStoreError(error)) {
      transient = { error };
      return;
    }
    if (events.length === 1) {
      rejected.push({ ...(events[0] as TelemetryEvent), error });
      return;
    }
    // Split the events in two halves (calls first, then spans, then logs).
    const half = Math.ceil(events.length / 2);
    await run(events.slice(0, half));
    if (transient) return;
    await run(events.slice(half));
  };

  await run(batchEvents(batch), firstError === undefined ? undefined : { error: firstError });
  const t = transient as { error: unknown } | null;
  if (t) return { ok: false, error: t.error };
  return { ok: true, result, rejected, commits };
}
