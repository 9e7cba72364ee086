import { nativeIngestBodySchema } from '@reskpoints/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateNativeIngestBody } from './validate-native.js';

const good = {
  id: 'a',
  timestamp: '2026-11-22T10:00:00Z',
  provider: 'openai',
  model: 'gpt-4o',
  usage: { inputTokens: 3 },
};

describe('validateNativeIngestBody', () => {
  it('accepts a valid body and fills in the schema defaults', () => {
    const r = validateNativeIngestBody({ batch: [structuredClone(good)] });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.batch[0]?.operation).toBe('chat');
      expect(r.value.batch[0]?.environment).toBe('production');
      expect(r.value.batch[0]?.usage?.inputIncludesCached).toBe(true);
    }
  });

  it('names every offending field, as zod reports them', () => {
    const r = validateNativeIngestBody({
      batch: [{ ...good, latencyMs: 'slow', usage: { inputTokens: -1 } }, { id: 'b' }],
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const paths = (r.error.issues ?? []).map((i) => i.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          'body.batch.0.latencyMs',
          'body.batch.0.usage.inputTokens',
          'body.batch.1.timestamp',
          'body.batch.1.provider',
        ]),
      );
      expect(r.error.message).toMatch(/batch\.0\.latencyMs/);
    }
  });

  it('agrees with zod on random event-shaped input', () => {
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    const event = fc.record(
      {
        id: fc.oneof(fc.string({ maxLength: 3 }), value),
        timestamp: fc.oneof(
          fc.integer({ min: -5, max: 2e12 }),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          value,
        ),
        provider: fc.oneof(fc.constant('openai'), value),
        model: fc.oneof(fc.constant('m'), value),
        latencyMs: value,
        status: fc.oneof(fc.constantFrom('ok', 'error', 'maybe'), value),
        usage: fc.oneof(
          fc.record(
            { inputTokens: fc.oneof(fc.nat(), value), inputIncludesCached: fc.oneof(fc.boolean(), value) },
            { requiredKeys: [] },
          ),
          value,
        ),
        tags: fc.oneof(fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), value),
        metadata: fc.oneof(
          fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string(), fc.integer(), fc.boolean())),
          value,
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 3 }), (batch) => {
        const body = { batch };
        const zodOk = nativeIngestBodySchema.safeParse(structuredClone(body)).success;
        expect(validateNativeIngestBody(structuredClone(body)).ok).toBe(zodOk);
      }),
      { numRuns: 500 },
    );
  });
});
