import { PermanentStoreError } from '../permanent-error.js';

/**
 * ClickHouse error codes (system.errors) that the data of an INSERT causes: it fails again on
 * every retry. Network errors, timeouts, memory limits and too-many-parts are transient.
 */
const DATA_ERROR_CODES = new Set([
  '6', // CANNOT_PARSE_TEXT
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '33', // CANNOT_READ_ALL_DATA
  '38', // CANNOT_PARSE_DATE
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '62', // SYNTAX_ERROR
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '117', // INCORRECT_DATA
  '131', // TOO_LARGE_STRING_SIZE
  '321', // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  '349', // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
]);

/** Marks a ClickHouse write error as permanent when the data caused it; returns other errors unchanged. */
export function classifyClickHouseWriteError(e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (!(e instanceof Error) || code === undefined || !DATA_ERROR_CODES.has(String(code))) return e;
  return new PermanentStoreError(`ClickHouse refused the data: ${e.message}`, { cause: e });
}
