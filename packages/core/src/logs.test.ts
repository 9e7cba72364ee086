import { describe, expect, it } from 'vitest';
import { fnv1a64Hex } from './log-miner.js';
import { type LogRecord, logRecordId } from './logs.js';

/** The id as first defined: one hash over the fields joined, kept here as the specification. */
function specId(r: Omit<LogRecord, 'id' | 'ingestedAtMs' | 'patternId'>, position: number): string {
  const attrs = Object.keys(r.attributes)
    .sort()
    .map((k) => `${k}=${String(r.attributes[k])}`)
    .join('\u0001');
  return `l_${fnv1a64Hex(
    [
      position,
      r.timeMs,
      r.serviceName ?? '',
      r.severityNumber,
      r.severityText ?? '',
      r.traceId ?? '',
      r.spanId ?? '',
      r.body,
      attrs,
    ].join('\u0000'),
  )}`;
}

function record(seed: number): Omit<LogRecord, 'id' | 'ingestedAtMs' | 'patternId'> {
  const pick = <T>(xs: T[]) => xs[seed % xs.length] as T;
  const attributes: Record<string, string | number | boolean> = Object.create(null);
  const n = seed % 5;
  for (let i = 0; i < n; i++)
    attributes[`k${(seed * 7 + i * 13) % 10}.${pick(['a', 'é', '😀', ''])}`] = pick([
      i,
      `v${seed}`,
      true,
      1.5,
      '',
      'ü\u0000x',
    ]);
  if (seed % 7 === 0) attributes['10'] = 'numeric key';
  return {
    projectId: 'p1',
    timeMs: 1_790_000_000_000 + seed * 37,
    observedTimeMs: 1_790_000_000_000,
    source: 'otlp',
    serviceName: pick(['checkout', null, 'svc-😀']),
    environment: 'default',
    severity: 'info',
    severityNumber: seed % 25,
    severityText: pick(['INFO', null, 'Warn']),
    body: pick(['GET /x 200 in 3 ms', '', 'ünïcödé \u2028 line', 'x'.repeat(seed % 300)]),
    traceId: seed % 3 === 0 ? '0af7651916cd43dd8448eb211c80319c' : null,
    spanId: seed % 3 === 0 ? 'b7ad6b7169203331' : null,
    eventName: null,
    attributes,
    resource: {},
  };
}

describe('logRecordId', () => {
  it('is the hash of the joined fields, for every kind of field value', () => {
    for (let seed = 0; seed < 500; seed++) {
      const r = record(seed);
      expect(logRecordId(r, seed % 11)).toBe(specId(r, seed % 11));
    }
  });

  it('does not depend on the order attributes were added in', () => {
    const a = record(4);
    const b = { ...a, attributes: Object.fromEntries(Object.entries(a.attributes).reverse()) };
    expect(Object.keys(a.attributes).length).toBeGreaterThan(1);
    expect(logRecordId(b, 0)).toBe(logRecordId(a, 0));
  });
});
