import { normaliseUsage } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { langfuseCostFromDetails, langfuseUsageFromDetails } from './langfuse-usage.js';

const normalised = (d: Record<string, unknown>) => {
  const raw = langfuseUsageFromDetails(d);
  if (!raw) throw new Error('no usage');
  return normaliseUsage(raw);
};

describe('langfuseUsageFromDetails', () => {
  it("reads Langfuse's separate buckets: input and output exclude cached and reasoning tokens", () => {
    expect(langfuseUsageFromDetails({ input: 100, output: 50, input_cache_read: 400, output_reasoning: 30 })).toEqual({
      semantics: 'input-excludes-cached',
      inputTokens: 100,
      outputTokens: 80,
      cacheReadTokens: 400,
      cacheWriteTokens: null,
      reasoningTokens: 30,
      totalTokens: null,
    });
    expect(normalised({ input: 100, output: 50, cache_read_input_tokens: 400, total: 550 })).toEqual({
      inputTokens: 500,
      outputTokens: 50,
      cacheReadTokens: 400,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      totalTokens: 550,
    });
  });

  it('counts further input_* and output_* buckets (audio, images) as input and output', () => {
    expect(normalised({ input: 80, input_audio_tokens: 20, output: 10, output_audio_tokens: 5 })).toMatchObject({
      inputTokens: 100,
      outputTokens: 15,
      totalTokens: 115,
    });
  });

  it('takes the reading that `total` confirms when a client sent inclusive counts', () => {
    // Langfuse's v3 OpenAI wrapper: input = prompt_tokens (cached included), total = prompt + completion.
    const raw = langfuseUsageFromDetails({
      input: 1200,
      output: 300,
      total: 1500,
      input_cached_tokens: 1024,
      output_reasoning_tokens: 100,
    });
    expect(raw?.semantics).toBe('input-includes-cached');
    expect(normaliseUsage(raw!)).toEqual({
      inputTokens: 1200,
      outputTokens: 300,
      cacheReadTokens: 1024,
      cacheWriteTokens: 0,
      reasoningTokens: 100,
      totalTokens: 1500,
    });
    // Input exclusive, output inclusive of reasoning.
    expect(
      normalised({ input: 176, input_cached_tokens: 1024, output: 300, output_reasoning: 100, total: 1500 }),
    ).toEqual({
      inputTokens: 1200,
      outputTokens: 300,
      cacheReadTokens: 1024,
      cacheWriteTokens: 0,
      reasoningTokens: 100,
      totalTokens: 1500,
    });
  });

  it('reads OpenAI Chat Completions and Responses usage objects as inclusive counts', () => {
    const chat = {
      prompt_tokens: 1200,
      completion_tokens: 300,
      total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 1024 },
      completion_tokens_details: { reasoning_tokens: 100 },
    };
    expect(normalised(chat)).toEqual({
      inputTokens: 1200,
      outputTokens: 300,
      cacheReadTokens: 1024,
      cacheWriteTokens: 0,
      reasoningTokens: 100,
      totalTokens: 1500,
    });
    const responses = {
      input_tokens: 1200,
      output_tokens: 300,
      total_tokens: 1500,
      input_tokens_details: { cached_tokens: 1024 },
      output_tokens_details: { reasoning_tokens: 100 },
    };
    expect(normalised(responses)).toEqual(normalised(chat));
  });

  it('reads Anthropic-style usage (input_tokens without cache) as exclusive', () => {
    expect(
      normalised({
        input_tokens: 20,
        output_tokens: 10,
        cache_read_input_tokens: 300,
        cache_creation_input_tokens: 50,
      }),
    ).toEqual({
      inputTokens: 370,
      outputTokens: 10,
      cacheReadTokens: 300,
      cacheWriteTokens: 50,
      reasoningTokens: 0,
      totalTokens: 380,
    });
  });

  it('accepts numeric strings, drops negative and absurd counts, and gives null without any count', () => {
    expect(langfuseUsageFromDetails({ input: '12', output: -4, total: 1e13 })).toMatchObject({
      inputTokens: 12,
      outputTokens: null,
      totalTokens: null,
    });
    expect(langfuseUsageFromDetails({})).toBeNull();
    expect(langfuseUsageFromDetails({ unit: 'TOKENS', foo: 'bar' })).toBeNull();
  });
});

describe('langfuseCostFromDetails', () => {
  it('takes total, else sums the parts, and ignores nonsense', () => {
    expect(langfuseCostFromDetails({ input: 0.001, output: 0.002, total: 0.0031 })).toBe(0.0031);
    expect(langfuseCostFromDetails({ input: 0.001, output: 0.002 })).toBeCloseTo(0.003, 12);
    expect(langfuseCostFromDetails({ total: -1 })).toBeNull();
    expect(langfuseCostFromDetails({})).toBeNull();
  });
});

describe('langfuseUsageFromDetails, further key forms', () => {
  it('reads camelCase OpenAI names and cache writes split by lifetime', () => {
    expect(normalised({ promptTokens: 25, completionTokens: 150, totalTokens: 175 })).toMatchObject({
      inputTokens: 25,
      outputTokens: 150,
      totalTokens: 175,
    });
    expect(
      normalised({
        input: 7,
        output: 445,
        input_cached_tokens: 16399,
        input_cache_creation_5m: 2000,
        input_cache_creation_1h: 89,
      }),
    ).toMatchObject({ inputTokens: 18495, cacheReadTokens: 16399, cacheWriteTokens: 2089, outputTokens: 445 });
  });
});
