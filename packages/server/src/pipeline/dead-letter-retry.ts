import {
  type AppError,
  appError,
  batchEventCount,
  batchFromEvents,
  err,
  ok,
  type Result,
  type TelemetryBatch,
} from '@reskpoints/core';
import { errorMessage } from '../store/permanent-error.js';
import type { AppendResult, DeadLetter, DeadLetterStore } from '../store/ports.js';
import type { LoggedBodyKind, LoggedRequest } from './ack-log.js';
import { commitIsolating } from './isolate.js';

export interface DeadLetterRetryDeps {
  store: DeadLetterStore;
  /** Where retried events go: the telemetry store (embedded) or the ingest bus (cluster). */
  commit: (batch: TelemetryBatch) => Promise<AppendResult>;
  /** Decodes a logged request again, with today's decoder. */
  /** Decodes (and enriches) a logged request: the ingest path. */
  decodeRequest: (
    request: LoggedRequest,
  ) => Result<{ batch: TelemetryBatch }, AppError> | Promise<Result<{ batch: TelemetryBatch }, AppError>>;
  /** Decodes a raw bus message again. */
  decodeBusMessage?: (data: Uint8Array) => TelemetryBatch;
  onDeadLettered?: (letter: DeadLetter) => void;
}

export interface DeadLetterRetryOutcome {
  id: string;
  /** Events newly stored (or, in cluster mode, handed back to the ingest log). */
  stored: number;
  /** Events that were stored already. */
  duplicates: number;
  /** Events the store still refuses; they moved to the letter `remainingId`. */
  stillRefused: number;
  remainingId: string | null;
}

function refused(letter: DeadLetter, why: string): AppError {
  return appError(
    'RP_DEAD_LETTER_REFUSED',
    `dead letter ${letter.id} was refused again: ${why}; it stays in the dead-letter area (fix the cause, then retry, or drop it)`,
  );
}

async function eventsOf(letter: DeadLetter, deps: DeadLetterRetryDeps): Promise<Result<TelemetryBatch, AppError>> {
  const p = letter.payload;
  if (p.type === 'batch') return ok(p.batch);
  if (p.type === 'request') {
    const decoded = await deps.decodeRequest({
      kind: p.request.kind as LoggedBodyKind,
      projectId: p.request.projectId,
      receivedAtMs: p.request.receivedAtMs,
      excerptMaxChars: p.request.excerptMaxChars,
      body: Buffer.from(p.request.bodyBase64, 'base64'),
    });
    return decoded.ok ? ok(decoded.value.batch) : err(refused(letter, `it does not decode: ${decoded.error.message}`));
  }
  if (!deps.decodeBusMessage) return err(refused(letter, 'bus messages are retried on a node connected to the bus'));
  try {
    return ok(deps.decodeBusMessage(Buffer.from(p.dataBase64, 'base64')));
  } catch (e) {
    return err(refused(letter, `it does not decode: ${errorMessage(e)}`));
  }
}

/**
 * Retries one dead letter: decodes it again if it was kept raw, commits its events (isolating
 * any the store still refuses), and removes it once everything in it is stored or kept in a new
 * letter. A transient store failure leaves it as it was (RP_UNAVAILABLE); a letter whose every
 * event is refused again stays as it was (RP_DEAD_LETTER_REFUSED).
 */
export async function retryDeadLetter(id: string, deps: DeadLetterRetryDeps): Promise<Result<DeadLetterRetryOutcome>> {
  const letter = await deps.store.get(id);
  if (!letter) return err(appError('RP_NOT_FOUND', `dead letter ${id} does not exist`));
  const events = await eventsOf(letter, deps);
  if (!events.ok) return events;
  const batch = events.value;
  const total = batchEventCount(batch);
  let stored = 0;
  let duplicates = 0;
  let remainingId: string | null = null;
  let stillRefused = 0;
  if (total > 0) {
    const outcome = await commitIsolating(deps.commit, batch);
    if (!outcome.ok)
      return err(
        appError(
          'RP_UNAVAILABLE',
          `the store could not take dead letter ${id} now (${errorMessage(outcome.error)}); it stays, retry later`,
        ),
      );
    const r = outcome.result;
    stored = r.llmCallsInserted + r.spansInserted + (r.logsInserted ?? 0);
    duplicates = r.llmCallDuplicates + r.spanDuplicates + (r.logDuplicates ?? 0);
    stillRefused = outcome.rejected.length;
    if (stillRefused === total) return err(refused(letter, errorMessage(outcome.rejected[0]?.error)));
    if (stillRefused > 0) {
      const rest = batchFromEvents(outcome.rejected);
      const next = await deps.store.add({
        origin: letter.origin,
        reason: 'store-rejected',
        error: errorMessage(outcome.rejected[0]?.error),
        events: stillRefused,
        projectIds: [...new Set(outcome.rejected.map((x) => x.event.projectId))],
        payload: { type: 'batch', batch: rest },
      });
      remainingId = next.id;
      deps.onDeadLettered?.(next);
    }
  }
  await deps.store.remove(id);
  return ok({ id, stored, duplicates, stillRefused, remainingId });
}
