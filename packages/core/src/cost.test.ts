import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CostCall,
  candidateModels,
  type PriceBook,
  type PriceEntry,
  type PriceRates,
  priceCall,
  serviceTierOf,
} from './cost.js';
import { emptyRawUsage, normaliseUsage } from './usage.js';

const rates = (input: number, output: number, extra: Partial<PriceRates> = {}): PriceRates => ({
  inputPerMtokUsd: input,
  outputPerMtokUsd: output,
  cacheReadPerMtokUsd: null,
  cacheWritePerMtokUsd: null,
  cacheWrite1hPerMtokUsd: null,
  reasoningPerMtokUsd: null,
  requestUsd: 0,
  ...extra,
});

const entry: PriceEntry = {
  id: 'test/model',
  version: 'v1',
  provider: 'test',
  match: [{ kind: 'exact', value: 'model' }],
  effectiveFromMs: 0,
  projectId: null,
  origin: 'user',
  rates: rates(2, 8, { cacheReadPerMtokUsd: 0.5, cacheWritePerMtokUsd: 2.5, cacheWrite1hPerMtokUsd: 4 }),
  contextTiers: [{ aboveInputTokens: 1000, rates: rates(4, 16) }],
  serviceTiers: { batch: { rates: rates(1, 4), contextTiers: [] } },
};

/** A one-entry book: enough to test the arithmetic apart from the matcher. */
const book: PriceBook = {
  find: (q) => (q.models.includes('model') ? { entry, matchedModel: 'model' } : null),
};

function call(over: Partial<CostCall> & { raw?: Partial<ReturnType<typeof emptyRawUsage>> }): CostCall {
  const raw = { ...emptyRawUsage('input-includes-cached'), ...over.raw };
  return {
    provider: 'test',
    model: 'model',
    requestModel: null,
    startTimeMs: 1,
    usageRaw: raw,
    usage: normaliseUsage(raw),
    metadata: {},
    projectId: 'p',
    promptExcerpt: null,
    responseExcerpt: null,
    operation: 'chat',
    ...over,
  };
}

describe('priceCall arithmetic', () => {
  it('bills every token once and the parts sum to the total', () => {
    const c = priceCall(
      call({
        raw: { inputTokens: 900, cacheReadTokens: 300, cacheWriteTokens: 100, outputTokens: 500, reasoningTokens: 200 },
      }),
      book,
    );
    // 500 plain input at $2, 300 read at $0.5, 100 write at $2.5, 300 output at $8, 200 reasoning at $8 (per Mtok)
    expect(c.inputUsd).toBeCloseTo(0.001, 12);
    expect(c.cacheReadUsd).toBeCloseTo(0.00015, 12);
    expect(c.cacheWriteUsd).toBeCloseTo(0.00025, 12);
    expect(c.outputUsd).toBeCloseTo(0.0024, 12);
    expect(c.reasoningUsd).toBeCloseTo(0.0016, 12);
    expect(c.totalUsd).toBeCloseTo(0.0054, 12);
    expect(c.priceId).toBe('test/model');
    expect(c.priceVersion).toBe('v1');
    expect(c.tier).toBeNull();
  });

  it('applies the context tier to the whole call above the threshold', () => {
    const c = priceCall(call({ raw: { inputTokens: 1001, outputTokens: 0 } }), book);
    expect(c.tier).toBe('input>1k');
    expect(c.totalUsd).toBeCloseTo((1001 * 4) / 1e6, 12);
  });

  it('applies a service tier from metadata and ignores standard tiers', () => {
    const batch = priceCall(
      call({ raw: { inputTokens: 1000 }, metadata: { 'openai.request.service_tier': 'Batch' } }),
      book,
    );
    expect(batch.tier).toBe('batch');
    expect(batch.totalUsd).toBeCloseTo(0.001, 12);
    expect(serviceTierOf({ service_tier: 'default' })).toBeNull();
  });

  it('bills 1-hour cache writes at their own price', () => {
    const c = priceCall(
      call({
        raw: { inputTokens: 1000, cacheWriteTokens: 1000 },
        metadata: { 'gen_ai.usage.cache_creation.ephemeral_1h_input_tokens': '400' },
      }),
      book,
    );
    expect(c.cacheWriteUsd).toBeCloseTo((600 * 2.5 + 400 * 4) / 1e6, 12);
  });

  it('leaves an unknown model unpriced, never $0', () => {
    const c = priceCall(call({ model: 'other', raw: { inputTokens: 10 } }), book);
    expect(c.totalUsd).toBeNull();
    expect(c.priceId).toBeNull();
  });

  it('tries the response model, then the request model, then the canonical name', () => {
    expect(candidateModels({ model: 'a-2024', requestModel: 'a', canonicalModel: 'a' })).toEqual(['a-2024', 'a']);
    expect(candidateModels({ model: 'a', requestModel: 'a-latest', responseModel: 'a-2024' })).toEqual([
      'a-2024',
      'a',
      'a-latest',
    ]);
  });
});

describe('priceCall properties', () => {
  const count = fc.integer({ min: 0, max: 5_000_000 });
  const rawUsage = fc.record({
    semantics: fc.constantFrom('input-includes-cached' as const, 'input-excludes-cached' as const),
    inputTokens: fc.option(count, { nil: null }),
    outputTokens: fc.option(count, { nil: null }),
    cacheReadTokens: fc.option(count, { nil: null }),
    cacheWriteTokens: fc.option(count, { nil: null }),
    reasoningTokens: fc.option(count, { nil: null }),
    totalTokens: fc.constant(null),
  });
  const tier = fc.constantFrom<Record<string, string>>({}, { service_tier: 'batch' }, { service_tier: 'priority' });

  it('never bills a token twice: parts are non-negative, sum to the total, and the total is bounded', () => {
    fc.assert(
      fc.property(rawUsage, tier, (raw, metadata) => {
        const c = priceCall(call({ raw, metadata }), book);
        const parts = [c.inputUsd, c.outputUsd, c.cacheReadUsd, c.cacheWriteUsd, c.reasoningUsd, c.requestUsd];
        expect(parts.every((p) => p >= 0)).toBe(true);
        expect(Math.abs(parts.reduce((a, b) => a + b, 0) - (c.totalUsd as number))).toBeLessThan(1e-8);
        // No token costs more than the dearest price of any tier (16 per million here).
        const u = normaliseUsage(raw);
        expect(c.totalUsd as number).toBeLessThanOrEqual(((u.inputTokens + u.outputTokens) * 16) / 1e6 + 1e-8);
      }),
    );
  });

  it('costs more (never less) with more output tokens', () => {
    fc.assert(
      fc.property(count, count, count, (input, output, extra) => {
        const a = priceCall(call({ raw: { inputTokens: input, outputTokens: output } }), book).totalUsd as number;
        const b = priceCall(call({ raw: { inputTokens: input, outputTokens: output + extra } }), book)
          .totalUsd as number;
        expect(b).toBeGreaterThanOrEqual(a - 1e-12);
      }),
    );
  });
});
