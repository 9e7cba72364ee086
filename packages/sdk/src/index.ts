export type { ReskPointsLogOptions } from './options.js';
export { OtlpLogShipper, type ShippedLog } from './otlp-log-shipper.js';
export { createPinoIntegration, type PinoIntegration } from './pino.js';
export { PolicyClient, type PolicyFetchOutcome } from './policy-client.js';
export { type LogLine, ReskPointsLogs } from './reskpoints-logs.js';
export { LogSampler, type PatternCounter, type SampleDecision } from './sampler.js';
export { ReskPointsTransport } from './winston.js';
