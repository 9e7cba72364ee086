/**
 * The error catalogue: every expected failure has a stable code. Only the API layer maps
 * codes to HTTP statuses; `docs/errors.md` lists every code and a test keeps the two in step.
 */
export const ERROR_CODES = {
  RP_INVALID_BODY: 'The request body could not be decoded (malformed JSON or protobuf, bad gzip).',
  RP_VALIDATION: 'The request was decoded but a field is missing, has the wrong type or is out of range.',
  RP_UNSUPPORTED_MEDIA_TYPE: 'The Content-Type or Content-Encoding is not one the endpoint accepts.',
  RP_PAYLOAD_TOO_LARGE: 'The request body is larger than the configured limit.',
  RP_UNAUTHORIZED: 'The credentials are missing or not valid.',
  RP_FORBIDDEN: 'The credentials are valid but do not allow this action.',
  RP_NOT_FOUND: 'The requested resource does not exist.',
  RP_CONFLICT: 'The resource already exists or was changed concurrently.',
  RP_OVERLOADED: 'The server is shedding load; retry after the Retry-After interval.',
  RP_QUOTA_EXCEEDED:
    'A quota has no room for the call; retry after the Retry-After interval (the RateLimit headers name the quota).',
  RP_UNAVAILABLE: 'A dependency (store, bus) is not available right now; retry later.',
  RP_SHUTTING_DOWN: 'The server is shutting down and no longer accepts work.',
  RP_DEAD_LETTER_REFUSED:
    'A retried dead letter was refused again (the store still rejects its events, or it does not decode); it stays in the dead-letter area.',
  RP_CONFIG_INVALID: 'The configuration does not match the schema.',
  RP_INTERNAL: 'An unexpected error; it is logged with the request id.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `batch.3.usage.inputTokens`. */
  path: string;
  message: string;
}

export interface AppError {
  code: ErrorCode;
  message: string;
  /** Field-level problems, all of them at once, for validation errors. */
  issues?: FieldIssue[];
  /** For RP_OVERLOADED / RP_UNAVAILABLE: how long the client should wait. */
  retryAfterSeconds?: number;
}

export function appError(code: ErrorCode, message: string, extra: Omit<AppError, 'code' | 'message'> = {}): AppError {
  return { code, message, ...extra };
}

/** Builds a validation error whose message names every field at fault. */
export function validationError(issues: FieldIssue[], prefix = 'invalid request'): AppError {
  const shown = issues
    .slice(0, 5)
    .map((i) => `${i.path || '(root)'}: ${i.message}`)
    .join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  return { code: 'RP_VALIDATION', message: `${prefix}: ${shown}${more}`, issues };
}
