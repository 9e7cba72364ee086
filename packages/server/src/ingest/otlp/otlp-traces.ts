/**
 * OTLP/HTTP traces: body → normalised batch, and the export response. Pure functions; the
 * HTTP route handles content types, gzip, auth and the pipeline around them.
 */
import { appError, err, ok, type Result, type TelemetryBatch } from '@reskpoints/core';
import { decodeTraceRequestJson } from './otlp-json-decode.js';
import { mapOtlpTraceRequest, type OtlpMapContext } from './otlp-map.js';
import type { OtlpTraceRequestData } from './otlp-model.js';
import { decodeTraceRequestProtobuf } from './otlp-proto-decode.js';
import { otlpTraceSchema } from './otlp-schema.js';

export type OtlpEncoding = 'protobuf' | 'json';
export type { OtlpMapContext } from './otlp-map.js';

export interface OtlpTraceDecodeResult {
  /** LLM calls and other spans of the request that passed validation. */
  batch: TelemetryBatch;
  /** Spans left out (invalid ids or timestamps, mistyped fields); report as partial success. */
  rejectedSpans: number;
  /** Why spans were rejected (first few reasons), or null when none were. */
  errorMessage: string | null;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Decodes an (already gunzipped) OTLP `ExportTraceServiceRequest` and maps its spans.
 * Returns RP_INVALID_BODY when the body cannot be decoded at all; invalid single spans are
 * counted in `rejectedSpans` instead. Never throws on any input.
 */
export function decodeOtlpTraces(
  body: Uint8Array,
  encoding: OtlpEncoding,
  ctx: OtlpMapContext,
): Result<OtlpTraceDecodeResult> {
  // Exporters never send an empty export, so an empty body means something went wrong upstream.
  if (body.length === 0) {
    return err(appError('RP_INVALID_BODY', `empty body: expected an OTLP ExportTraceServiceRequest (${encoding})`));
  }
  let data: OtlpTraceRequestData;
  try {
    data = encoding === 'json' ? decodeTraceRequestJson(body) : decodeTraceRequestProtobuf(body);
  } catch (e) {
    const what = encoding === 'json' ? 'OTLP/JSON' : 'OTLP/protobuf';
    return err(appError('RP_INVALID_BODY', `undecodable ${what} ExportTraceServiceRequest: ${errorText(e)}`));
  }
  return ok(mapOtlpTraceRequest(data, ctx));
}

/**
 * Encodes `ExportTraceServiceResponse`. `partial_success` is set only when spans were
 * rejected or there is a message, as the OTLP spec asks; otherwise the response is empty
 * (zero bytes for protobuf, `{}` for JSON). JSON carries rejectedSpans as a number, which
 * protobuf JSON parsers accept for int64 and plain JSON clients read without conversion.
 */
export function encodeOtlpTraceResponse(
  rejectedSpans: number,
  errorMessage: string | null,
  encoding: OtlpEncoding,
): Uint8Array | string {
  const rejected = Number.isFinite(rejectedSpans) && rejectedSpans > 0 ? Math.floor(rejectedSpans) : 0;
  const partial = rejected > 0 || (errorMessage !== null && errorMessage !== '');
  if (encoding === 'json') {
    if (!partial) return '{}';
    return JSON.stringify({ partialSuccess: { rejectedSpans: rejected, errorMessage: errorMessage ?? '' } });
  }
  if (!partial) return new Uint8Array(0);
  const type = otlpTraceSchema().ExportTraceServiceResponse;
  return type
    .encode(type.fromObject({ partialSuccess: { rejectedSpans: rejected, errorMessage: errorMessage ?? '' } }))
    .finish();
}
