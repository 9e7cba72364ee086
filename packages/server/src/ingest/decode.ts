import { appError, err, nativeToLlmCall, ok, type Result } from '@reskpoints/core';
import type { LoggedRequest } from '../pipeline/ack-log.js';
import {
  decodeLangfuseIngestion,
  type LangfuseEventOutcome,
  type LangfuseMapOutcome,
} from './langfuse/langfuse-ingestion.js';
import { validateNativeIngestBody } from './native/validate-native.js';
import { decodeOtlpTraces } from './otlp/index.js';
import type { OtlpTraceDecodeResult } from './otlp/otlp-traces.js';

/** Events of the request, and (OTLP) the spans left out as invalid, for partial_success. */
export type DecodedIngest = OtlpTraceDecodeResult & {
  /** Langfuse batches: per-event refusals and the observations still waiting for their end. */
  langfuse?: LangfuseMapOutcome & { parseErrors: LangfuseEventOutcome[] };
};

/**
 * Decodes one ingest request body into events. Everything the result depends on is in the
 * request, so decoding it again (from the acknowledgement log) yields the same events.
 */
export function decodeIngestRequest(req: LoggedRequest): Result<DecodedIngest> {
  const ctx = { projectId: req.projectId, nowMs: req.receivedAtMs, excerptMaxChars: req.excerptMaxChars };
  if (req.kind === 'langfuse-ingestion') {
    const r = decodeLangfuseIngestion(req.body, ctx);
    if (!r.ok) return r;
    const { batch, errors, parseErrors } = r.value;
    return ok({ batch, rejectedSpans: errors.length + parseErrors.length, errorMessage: null, langfuse: r.value });
  }
  if (req.kind !== 'native-json')
    return decodeOtlpTraces(req.body, req.kind === 'otlp-protobuf' ? 'protobuf' : 'json', ctx);
  if (req.body.length === 0) return err(appError('RP_INVALID_BODY', 'body is empty; a JSON document was expected'));
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body.toString('utf8'));
  } catch (e) {
    return err(appError('RP_INVALID_BODY', `malformed JSON: ${(e as Error).message}`));
  }
  const body = validateNativeIngestBody(parsed);
  if (!body.ok) return body;
  const llmCalls = body.value.batch.map((e) => nativeToLlmCall(e, ctx));
  return ok({ batch: { llmCalls, spans: [] }, rejectedSpans: 0, errorMessage: null });
}
