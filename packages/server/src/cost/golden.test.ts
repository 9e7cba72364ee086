/**
 * Golden costs: calls priced with the shipped catalogue and compared with the providers'
 * published list prices (quoted with their source next to each case). Amounts are checked to
 * a billionth of a dollar and, as a bill would show them, to the cent.
 */
import {
  type CallCost,
  type CostCall,
  emptyRawUsage,
  normaliseUsage,
  type PriceEntry,
  type RawUsage,
} from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from './catalogue.js';
import { costCall } from './engine.js';
import { IndexedPriceBook, type ModelAlias } from './price-book.js';

const AT = Date.parse('2026-11-02T12:00:00Z');
const M = 1_000_000;

function bookWith(userEntries: PriceEntry[] = [], aliases: ModelAlias[] = []): IndexedPriceBook {
  return new IndexedPriceBook({ catalogue: loadCatalogue(), userEntries, aliases });
}

function call(p: {
  provider: string;
  model: string;
  requestModel?: string | null;
  usage?: Partial<RawUsage>;
  atMs?: number;
  metadata?: Record<string, string>;
  projectId?: string;
  promptExcerpt?: string | null;
  responseExcerpt?: string | null;
}): CostCall {
  const raw: RawUsage = { ...emptyRawUsage('input-includes-cached'), ...p.usage };
  return {
    provider: p.provider,
    model: p.model,
    requestModel: p.requestModel ?? null,
    startTimeMs: p.atMs ?? AT,
    usageRaw: raw,
    usage: normaliseUsage(raw),
    metadata: p.metadata ?? {},
    projectId: p.projectId ?? 'shop',
    promptExcerpt: p.promptExcerpt ?? null,
    responseExcerpt: p.responseExcerpt ?? null,
    operation: 'chat',
  };
}

/** Checks the exact amount and the amount a bill shows (cents). */
function expectUsd(actual: number | null, expected: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - expected)).toBeLessThan(1e-9);
  expect((actual as number).toFixed(2)).toBe(expected.toFixed(2));
}

function expectPartsSum(c: CallCost): void {
  const parts = c.inputUsd + c.outputUsd + c.cacheReadUsd + c.cacheWriteUsd + c.reasoningUsd + c.requestUsd;
  expect(Math.abs(parts - (c.totalUsd as number))).toBeLessThan(1e-9);
}

const book = bookWith();

describe('golden costs against list prices', () => {
  it('OpenAI: cached tokens counted inside input are billed once, at the cached price', () => {
    // gpt-4o (2024-08-06): $2.50 input, $1.25 cached input, $10.00 output per 1M tokens.
    // Source: https://platform.openai.com/docs/pricing
    const { cost } = costCall(
      call({
        provider: 'openai',
        model: 'gpt-4o-2024-08-06',
        usage: { inputTokens: 120_000, cacheReadTokens: 100_000, outputTokens: 2_000 },
      }),
      book,
    );
    expectUsd(cost.inputUsd, (20_000 * 2.5) / M);
    expectUsd(cost.cacheReadUsd, (100_000 * 1.25) / M);
    expectUsd(cost.outputUsd, (2_000 * 10) / M);
    expectUsd(cost.totalUsd, 0.195);
    expect(cost.priceId).toBe('openai/gpt-4o');
    expect(cost.tokensEstimated).toBe(false);
    expectPartsSum(cost);
  });

  it('Anthropic: cache reads and 5-minute and 1-hour cache writes reported apart from input', () => {
    // claude-3-5-sonnet: $3 input, $3.75 5-minute cache write, $0.30 cache read, $15 output;
    // Claude Sonnet 4: the same, and $6 for a 1-hour cache write (per 1M tokens).
    // Source: https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#pricing
    const anthropicUsage = (input: number, write: number, read: number, output: number): Partial<RawUsage> => ({
      semantics: 'input-excludes-cached',
      inputTokens: input,
      cacheWriteTokens: write,
      cacheReadTokens: read,
      outputTokens: output,
    });
    const { cost } = costCall(
      call({
        provider: 'anthropic',
        model: 'claude-3-5-sonnet-20241022',
        usage: anthropicUsage(2_000, 50_000, 100_000, 1_500),
      }),
      book,
    );
    expectUsd(cost.inputUsd, 0.006);
    expectUsd(cost.cacheWriteUsd, 0.1875);
    expectUsd(cost.cacheReadUsd, 0.03);
    expectUsd(cost.outputUsd, 0.0225);
    expectUsd(cost.totalUsd, 0.246);
    expectPartsSum(cost);

    const oneHour = costCall(
      call({
        provider: 'anthropic',
        model: 'claude-sonnet-4-20250514',
        usage: anthropicUsage(1_000, 40_000, 0, 500),
        metadata: { 'gen_ai.usage.cache_creation.ephemeral_1h_input_tokens': '30000' },
      }),
      book,
    ).cost;
    // 10,000 five-minute writes at $3.75 + 30,000 one-hour writes at $6.
    expectUsd(oneHour.cacheWriteUsd, 0.0375 + 0.18);
    expectUsd(oneHour.totalUsd, 0.003 + 0.2175 + 0.0075);
  });

  it('Langfuse: usage whose input excludes cached tokens is normalised, then billed once', () => {
    // gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per 1M tokens.
    // Source: https://platform.openai.com/docs/pricing
    const { cost } = costCall(
      call({
        provider: 'openai',
        model: 'gpt-4o-mini',
        usage: {
          semantics: 'input-excludes-cached',
          inputTokens: 1_000_000,
          cacheReadTokens: 2_000_000,
          outputTokens: 500_000,
        },
      }),
      book,
    );
    expectUsd(cost.inputUsd, 0.15);
    expectUsd(cost.cacheReadUsd, 0.15);
    expectUsd(cost.outputUsd, 0.3);
    expectUsd(cost.totalUsd, 0.6);
  });

  it('reasoning tokens are part of output and billed at the output price', () => {
    // o3-mini: $1.10 input, $4.40 output per 1M tokens; reasoning tokens bill as output.
    // Source: https://platform.openai.com/docs/pricing
    const { cost } = costCall(
      call({
        provider: 'openai',
        model: 'o3-mini-2025-01-31',
        usage: { inputTokens: 10_000, outputTokens: 50_000, reasoningTokens: 40_000 },
      }),
      book,
    );
    expectUsd(cost.reasoningUsd, 0.176);
    expectUsd(cost.outputUsd, 0.044);
    expectUsd(cost.totalUsd, 0.011 + 0.22);
    expectPartsSum(cost);
  });

  it('a context tier prices the whole call above 200k input tokens', () => {
    // gemini-2.5-pro: $1.25 input / $10 output up to 200k prompt tokens; $2.50 / $15 above.
    // Source: https://ai.google.dev/gemini-api/docs/pricing
    const small = costCall(
      call({ provider: 'gcp.gemini', model: 'gemini-2.5-pro', usage: { inputTokens: 150_000, outputTokens: 4_000 } }),
      book,
    ).cost;
    expectUsd(small.totalUsd, 0.1875 + 0.04);
    expect(small.tier).toBeNull();
    const large = costCall(
      call({ provider: 'gcp.gemini', model: 'gemini-2.5-pro', usage: { inputTokens: 250_000, outputTokens: 4_000 } }),
      book,
    ).cost;
    expectUsd(large.totalUsd, 0.625 + 0.06);
    expect(large.tier).toBe('input>200k');
  });

  it('a service tier from the call attributes: OpenAI flex and batch at half price', () => {
    // o3 Standard $2 / $8, Flex $1 / $4; gpt-4.1 Standard $2 / $8, Batch $1 / $4 (per 1M tokens).
    // Source: https://platform.openai.com/docs/pricing (Standard, Flex and Batch tabs)
    const flex = costCall(
      call({
        provider: 'openai',
        model: 'o3',
        usage: { inputTokens: 100_000, outputTokens: 20_000 },
        metadata: { 'openai.response.service_tier': 'flex' },
      }),
      book,
    ).cost;
    expectUsd(flex.totalUsd, 0.1 + 0.08);
    expect(flex.tier).toBe('flex');
    const batch = costCall(
      call({
        provider: 'openai',
        model: 'gpt-4.1',
        usage: { inputTokens: 1_000_000, outputTokens: 100_000 },
        metadata: { 'openai.request.service_tier': 'batch' },
      }),
      book,
    ).cost;
    expectUsd(batch.totalUsd, 1 + 0.4);
    // Priority is not a fixed share of standard: without a user price it bills at standard, and says so.
    const priority = costCall(
      call({
        provider: 'openai',
        model: 'gpt-4.1',
        usage: { inputTokens: 1_000_000, outputTokens: 100_000 },
        metadata: { 'openai.response.service_tier': 'priority' },
      }),
      book,
    ).cost;
    expectUsd(priority.totalUsd, 2 + 0.8);
    expect(priority.tier).toBe('priority@standard');
  });

  it('a price change in the middle of a range bills each call at the price of its day', () => {
    // o3: $10 / $40 per 1M tokens until 2025-06-09, $2 / $8 from 2025-06-10.
    // Source: https://platform.openai.com/docs/pricing and OpenAI's o3 price cut of 2025-06-10.
    const usage = { inputTokens: 100_000, outputTokens: 10_000 };
    const before = costCall(
      call({ provider: 'openai', model: 'o3-2025-04-16', usage, atMs: Date.parse('2025-06-09T12:00:00Z') }),
      book,
    ).cost;
    const after = costCall(
      call({ provider: 'openai', model: 'o3-2025-04-16', usage, atMs: Date.parse('2025-06-11T12:00:00Z') }),
      book,
    ).cost;
    expectUsd(before.totalUsd, 1.4);
    expectUsd(after.totalUsd, 0.28);
    expectUsd((before.totalUsd as number) + (after.totalUsd as number), 1.68);
    expect(before.priceId).toBe(after.priceId);
    expect(before.priceVersion).not.toBe(after.priceVersion);
  });

  it('an Azure deployment name is priced through the deployment-to-model map', () => {
    // Azure OpenAI gpt-4o (2024-11-20), Global deployment: $2.50 input, $1.25 cached, $10 output per 1M.
    // Source: https://azure.microsoft.com/en-us/pricing/details/cognitive-services/openai-service/
    const azureBook = bookWith(
      [],
      [
        { projectId: null, name: 'prod-chat', model: 'gpt-4o-2024-11-20' },
        { projectId: 'shop', name: 'shop-gpt', model: 'gpt-4o-2024-11-20' },
      ],
    );
    const usage = { inputTokens: 300_000, cacheReadTokens: 100_000, outputTokens: 20_000 };
    const byDeployment = costCall(call({ provider: 'az.ai.openai', model: 'prod-chat', usage }), azureBook).cost;
    expectUsd(byDeployment.totalUsd, 0.5 + 0.125 + 0.2);
    expect(byDeployment.priceId).toBe('openai/gpt-4o');
    const litellmForm = costCall(call({ provider: 'azure', model: 'azure/shop-gpt', usage }), azureBook).cost;
    expectUsd(litellmForm.totalUsd, 0.825);
    // The per-project map applies to its project only.
    expect(
      costCall(call({ provider: 'azure', model: 'azure/shop-gpt', usage, projectId: 'other' }), azureBook).cost
        .totalUsd,
    ).toBeNull();
  });

  it('Bedrock model ids, with and without a cross-region prefix', () => {
    // Claude 3.5 Sonnet v2 on Bedrock: $3 input / $15 output; Claude 3 Haiku: $0.25 / $1.25 per 1M.
    // Source: https://aws.amazon.com/bedrock/pricing/ (Anthropic, on-demand)
    const sonnet = costCall(
      call({
        provider: 'aws.bedrock',
        model: 'us.anthropic.claude-3-5-sonnet-20241022-v2:0',
        usage: { inputTokens: 100_000, outputTokens: 10_000 },
      }),
      book,
    ).cost;
    expectUsd(sonnet.totalUsd, 0.3 + 0.15);
    const haiku = costCall(
      call({
        provider: 'aws.bedrock',
        model: 'anthropic.claude-3-haiku-20240307-v1:0',
        usage: { inputTokens: 1_000_000, outputTokens: 200_000 },
      }),
      book,
    ).cost;
    expectUsd(haiku.totalUsd, 0.25 + 0.25);
  });

  it('an unknown model is unpriced: null, never $0', () => {
    const { cost } = costCall(
      call({ provider: 'acme', model: 'acme-llm-7', usage: { inputTokens: 1_000, outputTokens: 10 } }),
      book,
    );
    expect(cost.totalUsd).toBeNull();
    expect(cost.priceId).toBeNull();
    expect(cost.inputUsd + cost.outputUsd).toBe(0);
  });

  it('estimates tokens from the excerpts when no usage was reported, and says so', () => {
    // gpt-4o: $2.50 input, $10 output per 1M. " hello" and " world" are one o200k_base token each.
    const { cost, estimatedUsage } = costCall(
      call({
        provider: 'openai',
        model: 'gpt-4o',
        promptExcerpt: `hello${' hello'.repeat(999)}`,
        responseExcerpt: ' world'.repeat(500),
      }),
      book,
    );
    expect(estimatedUsage).toMatchObject({ inputTokens: 1_000, outputTokens: 500 });
    expect(cost.tokensEstimated).toBe(true);
    expect(Math.abs((cost.totalUsd as number) - (1_000 * 2.5 + 500 * 10) / M)).toBeLessThan(1e-12);
    // Nothing reported and nothing to count: unpriced rather than $0.
    expect(costCall(call({ provider: 'openai', model: 'gpt-4o' }), book).cost.totalUsd).toBeNull();
  });

  it('a project override beats the global entry, which beats the catalogue', () => {
    const rates = (input: number) => ({
      inputPerMtokUsd: input,
      outputPerMtokUsd: 0,
      cacheReadPerMtokUsd: null,
      cacheWritePerMtokUsd: null,
      cacheWrite1hPerMtokUsd: null,
      reasoningPerMtokUsd: null,
      requestUsd: 0,
    });
    const entry = (id: string, projectId: string | null, input: number): PriceEntry => ({
      id,
      version: '1',
      provider: 'openai',
      match: [{ kind: 'prefix', value: 'gpt-4o' }],
      effectiveFromMs: 0,
      projectId,
      origin: 'user',
      rates: rates(input),
      contextTiers: [],
      serviceTiers: {},
    });
    const b = bookWith([entry('negotiated', null, 2), entry('shop-deal', 'shop', 1)]);
    const usage = { inputTokens: 1_000_000 };
    expect(costCall(call({ provider: 'openai', model: 'gpt-4o-2024-08-06', usage }), b).cost).toMatchObject({
      totalUsd: 1,
      priceId: 'shop-deal',
    });
    expect(
      costCall(call({ provider: 'openai', model: 'gpt-4o-2024-08-06', usage, projectId: 'x' }), b).cost,
    ).toMatchObject({
      totalUsd: 2,
      priceId: 'negotiated',
    });
    // gpt-4o-mini also starts with gpt-4o: the user prefix wins over the catalogue, as documented.
    expect(costCall(call({ provider: 'openai', model: 'gpt-4o-mini', usage, projectId: 'x' }), b).cost.priceId).toBe(
      'negotiated',
    );
  });
});
