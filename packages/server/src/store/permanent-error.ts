/**
 * Permanent and transient store failures. A store that refuses the data itself (a value it
 * cannot convert, a constraint it violates, a statement the data makes invalid) fails the
 * same way on every retry: that is permanent, and the events are isolated and moved to the
 * dead-letter area. Anything else (connection refused, IO, timeouts, a store that is
 * restarting) is transient and retried with backoff. Unknown errors count as transient, as
 * in the OpenTelemetry Collector, so a new kind of outage never moves data aside.
 */
export class PermanentStoreError extends Error {
  /** The marker `isPermanentStoreError` looks for; errors of other classes may carry it too. */
  readonly permanent = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentStoreError';
  }
}

/** True when `e` says it will fail the same way on every retry of the same data. */
export function isPermanentStoreError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { permanent?: unknown }).permanent === true;
}

/** The message of any thrown value, for logs and dead letters. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
