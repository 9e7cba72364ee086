export * from './clock.js';
export * from './errors.js';
export * from './ids.js';
export * from './native-ingest.js';
export * from './query.js';
export * from './result.js';
export * from './telemetry.js';
export * from './usage.js';
