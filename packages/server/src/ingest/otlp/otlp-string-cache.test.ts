import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { otlpTraceSchema } from './otlp-schema.js';
import { decodeOtlpTraces } from './otlp-traces.js';

// A full collection is needed to see what stays reachable; this exposes `gc` to this
// test file's worker only (the same effect as `node --expose-gc`).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const NOW_MS = Date.UTC(2026, 0, 15, 12);
const ctx = { projectId: 'prj_1', nowMs: NOW_MS, excerptMaxChars: 100 };
const MIB = 1024 * 1024;

/**
 * One request of about `bodyBytes`: a span with a large attribute (so the body is big) and
 * `shortStrings` short attributes whose keys and values are unique to this body (so they
 * land in the decoder's string cache and, were it to keep views, would pin this body).
 */
function largeBody(n: number, bodyBytes: number, shortStrings: number): Uint8Array {
  const type = otlpTraceSchema().ExportTraceServiceRequest;
  const attributes: Array<{ key: string; value: { stringValue: string } }> = [
    { key: 'payload', value: { stringValue: 'x'.repeat(bodyBytes) } },
  ];
  for (let k = 0; k < shortStrings; k++) attributes.push({ key: `k${n}-${k}`, value: { stringValue: `v${n}-${k}` } });
  const span = {
    traceId: Buffer.from((n + 1).toString(16).padStart(32, '0'), 'hex'),
    spanId: Buffer.from((n + 1).toString(16).padStart(16, '0'), 'hex'),
    name: `span-${n}`,
    startTimeUnixNano: `${NOW_MS - 60_000}000000`,
    endTimeUnixNano: `${NOW_MS - 59_000}000000`,
    attributes,
  };
  const msg = type.fromObject({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans: [span] }] }] });
  return type.encode(msg).finish();
}

function retainedBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('OTLP protobuf string cache', () => {
  it('does not keep decoded request bodies alive', () => {
    const bodies = 48;
    const bodyBytes = 2 * MIB;
    // Warm the decoder (and its cache) so its own allocation is in the baseline.
    for (let n = 0; n < 4; n++) decodeOtlpTraces(largeBody(1000 + n, 1024, 4096), 'protobuf', ctx);
    const before = retainedBytes();
    let decodedSpans = 0;
    for (let n = 0; n < bodies; n++) {
      const r = decodeOtlpTraces(largeBody(n, bodyBytes, 64), 'protobuf', ctx);
      if (!r.ok) throw new Error(r.error.message);
      decodedSpans += r.value.batch.spans.length + r.value.batch.llmCalls.length;
    }
    expect(decodedSpans).toBe(bodies);
    const grownBytes = retainedBytes() - before;
    // 96 MiB of bodies went through the decoder; what is left must be bounded by the cache
    // itself (4,096 slots of at most 48 bytes, plus their strings), not by the bodies.
    expect(grownBytes).toBeLessThan(4 * MIB);
  });
});
