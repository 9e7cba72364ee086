/**
 * The keyset cursor of `TelemetryStore.listLlmCalls`, shared by every adapter so that a
 * cursor stays valid whichever backend answers and so the API can validate it before a
 * store sees it. Clients treat it as opaque.
 *
 * A cursor names the last row of the previous page; the next page holds the rows strictly
 * after it in (startTimeMs desc, id desc, projectId desc) order. The project id only breaks
 * the tie between two projects that used the same event id at the same millisecond.
 */
import { type AppError, err, ok, type Result, validationError } from '@reskpoints/core';

export interface LlmCallCursor {
  /** Start time (epoch ms) of the last call on the previous page. */
  startTimeMs: number;
  /** Id of the last call on the previous page. */
  id: string;
  /**
   * Project of the last call on the previous page. Optional: a store that leaves it out
   * orders by (startTimeMs, id) only.
   */
  projectId?: string;
}

const VERSION = 1;

export function encodeLlmCallCursor(cursor: LlmCallCursor): string {
  return Buffer.from(
    JSON.stringify(
      cursor.projectId === undefined
        ? [VERSION, cursor.startTimeMs, cursor.id]
        : [VERSION, cursor.startTimeMs, cursor.id, cursor.projectId],
    ),
    'utf8',
  ).toString('base64url');
}

/** Decodes a cursor from a client; a malformed one is an RP_VALIDATION error on field `cursor`. */
export function parseLlmCallCursor(cursor: string): Result<LlmCallCursor, AppError> {
  const invalid = () => err(validationError([{ path: 'cursor', message: 'not a cursor returned by this API' }]));
  if (cursor.length === 0 || cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return invalid();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return invalid();
  }
  if (!Array.isArray(decoded) || (decoded.length !== 3 && decoded.length !== 4)) return invalid();
  const [version, startTimeMs, id, projectId] = decoded as unknown[];
  if (version !== VERSION || typeof startTimeMs !== 'number' || !Number.isSafeInteger(startTimeMs)) return invalid();
  if (typeof id !== 'string') return invalid();
  if (projectId === undefined) return ok({ startTimeMs, id });
  if (typeof projectId !== 'string') return invalid();
  return ok({ startTimeMs, id, projectId });
}

/**
 * Thrown by a store when it is handed a cursor that `parseLlmCallCursor` rejects: callers
 * are expected to validate first, so reaching the store with one is a bug, not bad input.
 */
export class InvalidCursorError extends Error {
  readonly code = 'RP_VALIDATION' as const;
  constructor(readonly error: AppError) {
    super(error.message);
    this.name = 'InvalidCursorError';
  }
}

/** Parses or throws `InvalidCursorError`; for adapters. */
export function decodeLlmCallCursorOrThrow(cursor: string): LlmCallCursor {
  const parsed = parseLlmCallCursor(cursor);
  if (!parsed.ok) throw new InvalidCursorError(parsed.error);
  return parsed.value;
}
