import { describe, expect, it } from 'vitest';
import { generateCalls, makeSpan } from '../contract/fixtures.js';
import { decodeBatch, EventTooLargeError, encodeBatch, encodeBatchParts } from './batch-codec.js';

describe('batch codec', () => {
  const batch = {
    llmCalls: generateCalls(300, { seed: 4 }),
    spans: Array.from({ length: 40 }, (_, i) =>
      makeSpan({ traceId: 't', spanId: `s${i}`, attributes: { n: i, ok: true } }),
    ),
  };

  it('round-trips a batch', () => {
    expect(decodeBatch(encodeBatch(batch))).toEqual(batch);
  });

  it('keeps a batch that fits in one message whole', () => {
    const parts = encodeBatchParts(batch, 10 * 1024 * 1024);
    expect(parts.length).toBe(1);
    expect(decodeBatch(parts[0]!)).toEqual(batch);
  });

  it('splits a large batch into parts under the limit that together hold every event in order', () => {
    const maxBytes = 32 * 1024;
    const parts = encodeBatchParts(batch, maxBytes);
    expect(parts.length).toBeGreaterThan(5);
    for (const p of parts) expect(p.byteLength).toBeLessThanOrEqual(maxBytes);
    const decoded = parts.map(decodeBatch);
    expect(decoded.flatMap((b) => b.llmCalls)).toEqual(batch.llmCalls);
    expect(decoded.flatMap((b) => b.spans)).toEqual(batch.spans);
    // Deterministic, so a re-published batch yields the same parts (and part ids dedup).
    expect(encodeBatchParts(batch, maxBytes)).toEqual(parts);
  });

  it('carries log records, whole and split into parts', () => {
    const logs = Array.from({ length: 300 }, (_, i) => ({
      id: `l_${i}`,
      projectId: 'p',
      timeMs: 1_700_000_000_000 + i,
      observedTimeMs: 1_700_000_000_000 + i,
      ingestedAtMs: 1_700_000_000_100,
      source: 'otlp' as const,
      serviceName: 'api',
      environment: 'prod',
      severity: 'info' as const,
      severityNumber: 9,
      severityText: null,
      body: `line ${i} ${'x'.repeat(100)}`,
      traceId: null,
      spanId: null,
      eventName: null,
      attributes: { n: i },
      resource: {},
      patternId: null,
    }));
    const withLogs = { ...batch, logs };
    expect(decodeBatch(encodeBatch(withLogs))).toEqual(withLogs);
    const parts = encodeBatchParts(withLogs, 32 * 1024).map(decodeBatch);
    expect(parts.flatMap((b) => b.logs ?? [])).toEqual(logs);
    expect(parts.flatMap((b) => b.llmCalls)).toEqual(batch.llmCalls);
    // Without logs the message has no logs field, as before.
    expect(decodeBatch(encodeBatch(batch))).toEqual(batch);
  });

  it('refuses an event larger than a message', () => {
    const huge = { llmCalls: [{ ...batch.llmCalls[0]!, promptExcerpt: 'x'.repeat(5000) }], spans: [] };
    expect(() => encodeBatchParts(huge, 4096)).toThrow(EventTooLargeError);
  });

  it('rejects bytes that are not a telemetry batch', () => {
    expect(() => decodeBatch(new TextEncoder().encode('{"v":2,"llmCalls":[],"spans":[]}'))).toThrow();
    expect(() => decodeBatch(new TextEncoder().encode('not json'))).toThrow();
  });
});
