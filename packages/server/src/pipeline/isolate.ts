import type { LlmCall, Span, TelemetryBatch } from '@reskpoints/core';
import { isPermanentStoreError } from '../store/permanent-error.js';
import type { AppendResult } from '../store/ports.js';

/** One event the store refused on its own, with the error it gave. */
export interface RejectedEvent {
  event: LlmCall | Span;
  kind: 'llmCall' | 'span';
  error: unknown;
}

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

  const run = async (calls: LlmCall[], spans: Span[], failed?: { error: unknown }): Promise<void> => {
    let error: unknown;
    if (failed) error = failed.error;
    else {
      try {
        commits++;
        addResult(result, await commit({ llmCalls: calls, spans }));
        return;
      } catch (e) {
        error = e;
      }
    }
    if (!isPermanentStoreError(error)) {
      transient = { error };
      return;
    }
    const n = calls.length + spans.length;
    if (n === 1) {
      if (calls.length === 1) rejected.push({ event: calls[0] as LlmCall, kind: 'llmCall', error });
      else rejected.push({ event: spans[0] as Span, kind: 'span', error });
      return;
    }
    // Split the events in two halves (calls first, then spans).
    const half = Math.ceil(n / 2);
    const firstCalls = calls.slice(0, half);
    const firstSpans = spans.slice(0, Math.max(0, half - calls.length));
    await run(firstCalls, firstSpans);
    if (transient) return;
    await run(calls.slice(firstCalls.length), spans.slice(firstSpans.length));
  };

  await run(batch.llmCalls, batch.spans, firstError === undefined ? undefined : { error: firstError });
  const t = transient as { error: unknown } | null;
  if (t) return { ok: false, error: t.error };
  return { ok: true, result, rejected, commits };
}
