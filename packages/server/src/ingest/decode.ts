import { appError, err, type LogRecord, nativeToLlmCall, ok, type Result } from '@reskpoints/core';
import type { LoggedRequest } from '../pipeline/ack-log.js';
import {
  decodeLangfuseIngestion,
  type LangfuseEventOutcome,
  type LangfuseMapOutcome,
} from './langfuse/langfuse-ingestion.js';
import { decodeLokiJson, decodeLokiProtobuf } from './loki/loki-push.js';
import { decodeNativeLogs } from './native/native-logs.js';
import { validateNativeIngestBody } from './native/validate-native.js';
import { decodeOtlpTraces } from './otlp/index.js';
import { decodeOtlpLogs } from './otlp/otlp-logs.js';
import type { OtlpTraceDecodeResult } from './otlp/otlp-traces.js';

/** Events of the request, and (OTLP) the spans left out as invalid, for partial_success. */
export type DecodedIngest = OtlpTraceDecodeResult & {
  /** Log requests: records left out as invalid (OTLP partial_success, Loki), with the reasons in errorMessage. */
  rejectedLogRecords?: number;
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
  const logs = decodeLogRequest(req);
  if (logs) return logs;
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

/** Log request kinds; null for the others. */
function decodeLogRequest(req: LoggedRequest): Result<DecodedIngest> | null {
  const ctx = { projectId: req.projectId, nowMs: req.receivedAtMs, excerptMaxChars: req.excerptMaxChars };
  const asBatch = (
    r: Result<{ logs: LogRecord[]; rejected: number; errorMessage: string | null }>,
  ): Result<DecodedIngest> =>
    r.ok
      ? ok({
          batch: { llmCalls: [], spans: [], logs: r.value.logs },
          rejectedSpans: 0,
          rejectedLogRecords: r.value.rejected,
          errorMessage: r.value.errorMessage,
        })
      : r;
  switch (req.kind) {
    case 'otlp-logs-protobuf':
    case 'otlp-logs-json': {
      const r = decodeOtlpLogs(req.body, req.kind === 'otlp-logs-protobuf' ? 'protobuf' : 'json', ctx);
      return asBatch(r.ok ? ok({ ...r.value, rejected: r.value.rejectedLogRecords }) : r);
    }
    case 'loki-json':
      return asBatch(decodeLokiJson(req.body, ctx));
    case 'loki-protobuf':
      return asBatch(decodeLokiProtobuf(req.body, ctx));
    case 'native-logs-json': {
      const r = decodeNativeLogs(req.body, ctx);
      return asBatch(r.ok ? ok({ logs: r.value, rejected: 0, errorMessage: null }) : r);
    }
    default:
      return null;
  }
}
