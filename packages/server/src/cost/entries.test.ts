import { emptyRawUsage, normaliseUsage, priceCall, priceEntryInputSchema } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from './catalogue.js';
import { defaultEntryId, entryFromInput, importLiteLlm } from './entries.js';
import { IndexedPriceBook } from './price-book.js';

/** Excerpt in LiteLLM's model_prices_and_context_window.json format (its key names and units: USD per token). */
const LITELLM_DOC = {
  sample_spec: { max_tokens: 'LEGACY parameter', input_cost_per_token: 0 },
  'claude-sonnet-4-20250514': {
    litellm_provider: 'anthropic',
    mode: 'chat',
    input_cost_per_token: 3e-6,
    output_cost_per_token: 1.5e-5,
    cache_read_input_token_cost: 3e-7,
    cache_creation_input_token_cost: 3.75e-6,
    cache_creation_input_token_cost_above_1hr: 6e-6,
    input_cost_per_token_above_200k_tokens: 6e-6,
    output_cost_per_token_above_200k_tokens: 2.25e-5,
    cache_read_input_token_cost_above_200k_tokens: 6e-7,
    cache_creation_input_token_cost_above_200k_tokens: 7.5e-6,
  },
  'azure/gpt-4o-2024-11-20': {
    litellm_provider: 'azure',
    mode: 'chat',
    input_cost_per_token: 2.75e-6,
    output_cost_per_token: 1.1e-5,
    cache_read_input_token_cost: 1.375e-6,
    input_cost_per_token_batches: 1.375e-6,
    output_cost_per_token_batches: 5.5e-6,
  },
  'dall-e-3': { litellm_provider: 'openai', mode: 'image_generation', input_cost_per_pixel: 1e-8 },
};

const usageCall = (provider: string, model: string, inputTokens: number, outputTokens: number, metadata = {}) => {
  const raw = { ...emptyRawUsage('input-includes-cached'), inputTokens, outputTokens };
  return {
    provider,
    model,
    requestModel: null,
    startTimeMs: Date.parse('2026-11-01T00:00:00Z'),
    usageRaw: raw,
    usage: normaliseUsage(raw),
    metadata,
    projectId: 'p',
    promptExcerpt: null,
    responseExcerpt: null,
    operation: 'chat',
  };
};

describe('LiteLLM import', () => {
  const r = importLiteLlm(LITELLM_DOC, { projectId: null, effectiveFromMs: 0, version: '1' });

  it('converts per-token prices to per-million, with tiers, cache writes and service tiers', () => {
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.skipped.map((s) => s.key)).toEqual(['sample_spec', 'dall-e-3']);
    const sonnet = r.value.entries.find((e) => e.id === 'litellm:claude-sonnet-4-20250514');
    expect(sonnet).toMatchObject({
      provider: 'anthropic',
      origin: 'import',
      rates: {
        inputPerMtokUsd: 3,
        outputPerMtokUsd: 15,
        cacheReadPerMtokUsd: 0.3,
        cacheWritePerMtokUsd: 3.75,
        cacheWrite1hPerMtokUsd: 6,
      },
      contextTiers: [
        {
          aboveInputTokens: 200_000,
          rates: { inputPerMtokUsd: 6, outputPerMtokUsd: 22.5, cacheReadPerMtokUsd: 0.6, cacheWritePerMtokUsd: 7.5 },
        },
      ],
    });
    const azure = r.value.entries.find((e) => e.id === 'litellm:azure/gpt-4o-2024-11-20');
    expect(azure?.provider).toBe('azure');
    expect(azure?.match).toEqual([
      { kind: 'exact', value: 'azure/gpt-4o-2024-11-20' },
      { kind: 'exact', value: 'gpt-4o-2024-11-20' },
    ]);
    expect(azure?.serviceTiers['batch']?.rates).toMatchObject({
      inputPerMtokUsd: 1.375,
      outputPerMtokUsd: 5.5,
      cacheReadPerMtokUsd: 1.375,
    });
  });

  it('imported prices override the catalogue for the calls they match', () => {
    if (!r.ok) throw new Error(r.error.message);
    const book = new IndexedPriceBook({ catalogue: loadCatalogue(), userEntries: r.value.entries, aliases: [] });
    const azure = priceCall(usageCall('az.ai.openai', 'gpt-4o-2024-11-20', 1_000_000, 100_000), book);
    expect(azure.priceId).toBe('litellm:azure/gpt-4o-2024-11-20');
    expect(azure.totalUsd).toBeCloseTo(2.75 + 1.1, 9);
    // OpenAI's own gpt-4o is not an Azure call: the catalogue keeps pricing it.
    expect(priceCall(usageCall('openai', 'gpt-4o-2024-11-20', 1_000_000, 0), book).priceId).toBe('openai/gpt-4o');
    const tiered = priceCall(usageCall('anthropic', 'claude-sonnet-4-20250514', 300_000, 0), book);
    expect(tiered).toMatchObject({ tier: 'input>200k', priceId: 'litellm:claude-sonnet-4-20250514' });
    expect(tiered.totalUsd).toBeCloseTo(1.8, 9);
  });

  it('rejects what is not a price file, naming the key', () => {
    const bad = importLiteLlm({ 'gpt-x': 'cheap' }, { projectId: null, effectiveFromMs: 0, version: '1' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toContain('gpt-x: expected an object');
    expect(importLiteLlm([1, 2], { projectId: null, effectiveFromMs: 0, version: '1' }).ok).toBe(false);
  });
});

describe('entries from API input', () => {
  it('fills defaults and lowercases names', () => {
    const input = priceEntryInputSchema.parse({
      provider: 'OpenAI',
      model: 'GPT-4o-Custom',
      effectiveFrom: '2026-01-01',
      rates: { inputPerMtokUsd: 1, outputPerMtokUsd: 2 },
      serviceTiers: { Priority: { rates: { inputPerMtokUsd: 2, outputPerMtokUsd: 4 } } },
    });
    const e = entryFromInput(input, { id: defaultEntryId(input), version: '1', nowMs: 5, origin: 'user' });
    expect(e).toMatchObject({
      id: 'OpenAI/GPT-4o-Custom',
      provider: 'openai',
      match: [{ kind: 'exact', value: 'gpt-4o-custom' }],
      effectiveFromMs: Date.parse('2026-01-01T00:00:00Z'),
      projectId: null,
      rates: { cacheReadPerMtokUsd: null, requestUsd: 0 },
    });
    expect(Object.keys(e.serviceTiers)).toEqual(['priority']);
  });

  it('rejects a bad regex and a missing model, naming the field', () => {
    const r = priceEntryInputSchema.safeParse({
      match: [{ kind: 'regex', pattern: '(' }],
      rates: { inputPerMtokUsd: 1, outputPerMtokUsd: 1 },
    });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('not a valid regular expression');
    const m = priceEntryInputSchema.safeParse({ rates: { inputPerMtokUsd: 1, outputPerMtokUsd: 1 } });
    expect(m.error?.issues[0]?.path).toEqual(['match']);
  });
});
