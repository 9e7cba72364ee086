import { PermanentStoreError } from '../permanent-error.js';

/**
 * DuckDB error classes (the prefix of its messages, "Conversion Error: …") that the data of a
 * write causes, so that the same write fails again on every retry. IO, out-of-memory,
 * interrupt and transaction-conflict errors are left as they are (transient).
 */
const DATA_ERRORS = /^(Conversion|Constraint|Invalid Input|Out of Range|Parser|Mismatch Type) Error\b/;

/** Marks a DuckDB write error as permanent when the data caused it; returns other errors unchanged. */
export function classifyDuckDbWriteError(e: unknown): unknown {
  if (!(e instanceof Error) || !DATA_ERRORS.test(e.message)) return e;
  return new PermanentStoreError(`DuckDB refused the data: ${e.message}`, { cause: e });
}
