import type { AppError, ErrorCode } from '@reskpoints/core';
import type { FastifyReply } from 'fastify';

/** The only place where error codes become HTTP statuses. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  RP_INVALID_BODY: 400,
  RP_VALIDATION: 400,
  RP_UNSUPPORTED_MEDIA_TYPE: 415,
  RP_PAYLOAD_TOO_LARGE: 413,
  RP_UNAUTHORIZED: 401,
  RP_FORBIDDEN: 403,
  RP_NOT_FOUND: 404,
  RP_CONFLICT: 409,
  RP_OVERLOADED: 429,
  RP_QUOTA_EXCEEDED: 429,
  RP_UNAVAILABLE: 503,
  RP_SHUTTING_DOWN: 503,
  RP_DEAD_LETTER_REFUSED: 422,
  RP_CONFIG_INVALID: 500,
  RP_INTERNAL: 500,
};

/** JSON error body: `{ error: { code, message, issues? } }`. */
export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  const status = HTTP_STATUS[error.code];
  if (error.retryAfterSeconds != null) reply.header('retry-after', String(error.retryAfterSeconds));
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="reskpoints"');
  return reply
    .code(status)
    .type('application/json')
    .send({
      error: { code: error.code, message: error.message, ...(error.issues ? { issues: error.issues } : {}) },
    });
}

/** Thrown inside route handlers to short-circuit with an expected error; the error handler sends it. */
export class HttpAppError extends Error {
  constructor(readonly appError: AppError) {
    super(appError.message);
  }
}

export const errorResponseSchemaJson = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        issues: {
          type: 'array',
          items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
        },
      },
      required: ['code', 'message'],
    },
  },
} as const;
