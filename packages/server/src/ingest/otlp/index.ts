export {
  OTLP_MAX_DURATION_MS,
  OTLP_MAX_FUTURE_SKEW_MS,
  OTLP_MIN_START_MS,
  OTLP_SPAN_ATTRIBUTE_MAX_CHARS,
} from './otlp-map.js';
export {
  decodeOtlpTraces,
  encodeOtlpTraceResponse,
  type OtlpEncoding,
  type OtlpMapContext,
  type OtlpTraceDecodeResult,
} from './otlp-traces.js';
