import { nativeLlmCallSchema, nativeToLlmCall } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { createRng } from '../demo/rng.js';
import { buildSpikeCalls, buildTrafficForRange, toNativeEvent } from '../demo/traffic.js';
import { loadCatalogue } from './catalogue.js';
import { countTokens } from './estimate.js';
import { IndexedPriceBook } from './price-book.js';
import { priceCalls, repriced } from './price-calls.js';

const book = new IndexedPriceBook({ catalogue: loadCatalogue(), userEntries: [], aliases: [] });
const T0 = Date.UTC(2026, 10, 20);

describe('pricing at ingest', () => {
  it('prices every demo model, spike included, in dollars', () => {
    const demo = [
      ...buildTrafficForRange(createRng(7), T0, T0 + 6 * 3_600_000, 2000),
      ...buildSpikeCalls(createRng(8), T0, 50),
    ];
    const calls = demo.map((d) =>
      nativeToLlmCall(nativeToLlmCallInput(d), { projectId: d.project, nowMs: T0, excerptMaxChars: 2000 }),
    );
    priceCalls(calls, book);
    const unpriced = calls.filter((c) => c.cost.totalUsd === null && c.usage.totalTokens > 0);
    expect(unpriced.map((c) => `${c.provider}/${c.model}`)).toEqual([]);
    const models = new Set(calls.map((c) => c.model));
    expect(models.size).toBeGreaterThanOrEqual(6);
    for (const c of calls) {
      if (c.cost.totalUsd === null) continue;
      expect(c.cost.priceId).not.toBeNull();
      const parts =
        c.cost.inputUsd +
        c.cost.outputUsd +
        c.cost.cacheReadUsd +
        c.cost.cacheWriteUsd +
        c.cost.reasoningUsd +
        c.cost.requestUsd;
      expect(parts).toBeCloseTo(c.cost.totalUsd, 9);
    }
    const spend = calls.reduce((s, c) => s + (c.cost.totalUsd ?? 0), 0);
    expect(spend).toBeGreaterThan(0);
  });

  it('counts a long run without whitespace by its length, not through the tokenizer', () => {
    // Through BPE this took about 100 ms per 1,000 characters; a client chooses its excerpts.
    expect(countTokens('p'.repeat(100_000), 'o200k_base')).toBe(25_000);
    const words = countTokens('hello world', 'o200k_base');
    const mixed = countTokens(`hello ${'x'.repeat(40)} world`, 'o200k_base') - 10;
    expect(mixed).toBeGreaterThanOrEqual(words);
    expect(mixed).toBeLessThanOrEqual(words + 1);
  });

  it('estimates the usage of a call that reported none and marks it', () => {
    const [call] = [
      nativeToLlmCall(
        nativeLlmCallSchema.parse({
          id: 'e1',
          timestamp: T0,
          provider: 'openai',
          model: 'gpt-4o-2024-08-06',
          operation: 'chat',
          environment: 'production',
          prompt: 'How many tokens is this prompt?',
          response: 'A handful.',
        }),
        { projectId: 'p', nowMs: T0, excerptMaxChars: 2000 },
      ),
    ];
    priceCalls([call!], book);
    expect(call!.cost.tokensEstimated).toBe(true);
    expect(call!.usage.inputTokens).toBeGreaterThan(0);
    expect(call!.cost.totalUsd).toBeGreaterThan(0);
    // Re-costing the stored call (its estimated usage kept as its usage) keeps it an estimate,
    // with the same cost; twice gives the same as once.
    const again = repriced(call!, book);
    expect(again.cost).toEqual(call!.cost);
    expect(again.usage).toEqual(call!.usage);
    expect(repriced(again, book)).toEqual(again);
  });
});

function nativeToLlmCallInput(d: Parameters<typeof toNativeEvent>[0]) {
  return nativeLlmCallSchema.parse(toNativeEvent(d));
}
