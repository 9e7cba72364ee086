import {
  type AppError,
  err,
  type NativeIngestBody,
  nativeIngestBodySchema,
  ok,
  type Result,
  validationError,
  zodIssues,
} from '@reskpoints/core';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { z } from 'zod';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/**
 * Validates a native ingest body. The hot path runs an ajv validator compiled from the JSON
 * Schema that zod derives from `nativeIngestBodySchema` (about five times faster than zod on
 * large batches; it also fills in the schema's defaults). Only a body that fails is run
 * through zod itself, so error messages — naming every offending field — stay zod's.
 */
const ajv = new Ajv({ allErrors: false, useDefaults: true, coerceTypes: false, strict: false });
addFormats(ajv);
const fastCheck = ajv.compile(z.toJSONSchema(nativeIngestBodySchema, { io: 'input', target: 'draft-7' }) as object);

export function validateNativeIngestBody(body: unknown): Result<NativeIngestBody, AppError> {
  if (fastCheck(body)) return ok(body as NativeIngestBody);
  const parsed = nativeIngestBodySchema.safeParse(body);
  if (parsed.success) return ok(parsed.data);
  return err(
    validationError(
      zodIssues(parsed.error).map((i) => ({ ...i, path: i.path ? `body.${i.path}` : 'body' })),
      'invalid body',
    ),
  );
}
