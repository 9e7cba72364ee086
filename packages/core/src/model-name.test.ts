import { describe, expect, it } from 'vitest';
import { canonicalModelName } from './model-name.js';

describe('canonicalModelName', () => {
  const cases: Array<[reported: string, canonical: string]> = [
    // OpenAI: alias and dated snapshots.
    ['gpt-4o-mini', 'gpt-4o-mini'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['o1-2024-12-17', 'o1'],
    ['gpt-4-0613', 'gpt-4'],
    ['gpt-4-32k-0613', 'gpt-4-32k'],
    ['gpt-3.5-turbo-0125', 'gpt-3.5-turbo'],
    ['gpt-4-1106-preview', 'gpt-4-1106-preview'],
    ['chatgpt-4o-latest', 'chatgpt-4o'],
    ['text-embedding-3-small', 'text-embedding-3-small'],
    ['davinci-002', 'davinci-002'],
    // Azure and other routing prefixes.
    ['azure/gpt-4o-mini', 'gpt-4o-mini'],
    ['openai/gpt-4o-2024-08-06', 'gpt-4o'],
    // Anthropic: dated ids and -latest aliases.
    ['claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'],
    ['claude-3-5-sonnet-latest', 'claude-3-5-sonnet'],
    ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
    ['claude-sonnet-4-0', 'claude-sonnet-4-0'],
    // Vertex AI: @date and @version pins.
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet-v2'],
    ['claude-3-haiku@20240307', 'claude-3-haiku'],
    ['gemini-1.0-pro@001', 'gemini-1.0-pro'],
    // Bedrock: vendor prefix, version tag, cross-region profiles, ARNs.
    ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet'],
    ['anthropic.claude-3-haiku-20240307-v1:0', 'claude-3-haiku'],
    ['us.anthropic.claude-3-7-sonnet-20250219-v1:0', 'claude-3-7-sonnet'],
    ['eu.anthropic.claude-3-5-sonnet-20240620-v1:0', 'claude-3-5-sonnet'],
    [
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0',
      'claude-3-7-sonnet',
    ],
    ['meta.llama3-1-70b-instruct-v1:0', 'llama3-1-70b-instruct'],
    ['amazon.titan-embed-text-v1', 'titan-embed-text-v1'],
    ['amazon.nova-pro-v1:0', 'nova-pro'],
    // Gemini: models/ prefix and stable version pins.
    ['models/gemini-1.5-flash', 'gemini-1.5-flash'],
    ['models/gemini-1.5-pro-002', 'gemini-1.5-pro'],
    ['gemini-2.0-flash-001', 'gemini-2.0-flash'],
    ['gemini-2.0-flash', 'gemini-2.0-flash'],
    // Mistral and Cohere snapshots.
    ['mistral-large-2411', 'mistral-large'],
    ['mistral-large-latest', 'mistral-large'],
    ['command-r-08-2024', 'command-r'],
    // Ollama tags and local names.
    ['llama3.1:latest', 'llama3.1'],
    ['llama3.1:8b', 'llama3.1:8b'],
    ['meta-llama/Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct'],
    ['my-finetune', 'my-finetune'],
    // Edge cases: never empty, never more than trimmed.
    ['  gpt-4o  ', 'gpt-4o'],
    ['models/', 'models/'],
    ['', ''],
    ['unknown', 'unknown'],
  ];

  it.each(cases)('%s → %s', (reported, canonical) => {
    expect(canonicalModelName(reported)).toBe(canonical);
  });

  it.each(cases)('is idempotent on %s', (reported) => {
    const once = canonicalModelName(reported);
    expect(canonicalModelName(once)).toBe(once);
  });

  it('puts a failed call under the alias and its successful sibling under the snapshot in one group', () => {
    expect(canonicalModelName('gpt-4o-mini')).toBe(canonicalModelName('gpt-4o-mini-2024-07-18'));
    expect(canonicalModelName('claude-3-5-sonnet-latest')).toBe(canonicalModelName('claude-3-5-sonnet-20241022'));
  });
});
