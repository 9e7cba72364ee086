/**
 * LLM-assisted policies, advice and explanations through the real `openai` client (and Ollama's
 * native API) against a local fake provider: a good answer is used, and a malformed, unsafe or
 * failed one falls back to the deterministic result with the reason. Every provider call is
 * handed to the recorder.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OllamaProvider } from '../llm/ollama.js';
import { OpenAiCompatibleProvider } from '../llm/openai-compatible.js';
import type { LlmProvider } from '../llm/provider.js';
import { type FakeLlmProvider, startFakeLlmProvider } from '../test-support/fake-llm-provider.js';
import { type AssistCall, LogAssistant, parseJsonAnswer } from './assistant.js';
import { generatePolicy, type PatternStats } from './policy-generator.js';

const HOUR = 3_600_000;
const NOISY = 'p_00000000000000a1';
const CHATTY = 'p_00000000000000a2';
const ERRORS = 'p_00000000000000e1';
const RARE = 'p_00000000000000r1';
const stats: PatternStats[] = [
  { patternId: NOISY, template: 'GET /health <*>', count: 36_000, bytes: 36_000 * 40, severities: { info: 36_000 } },
  { patternId: CHATTY, template: 'cache miss <*>', count: 12_000, bytes: 12_000 * 60, severities: { debug: 12_000 } },
  { patternId: ERRORS, template: 'payment failed <*>', count: 9_000, bytes: 9_000 * 80, severities: { error: 9_000 } },
  { patternId: RARE, template: 'config reloaded', count: 20, bytes: 20 * 30, severities: { info: 20 } },
];
const input = { projectId: 'p1', service: 'checkout', stats, windowMs: HOUR, targetPerMinute: 60, minRate: 0.001 };

let fake: FakeLlmProvider;
let provider: LlmProvider | null;
let calls: AssistCall[];
const assistant = new LogAssistant({
  provider: () => provider,
  record: async (c) => {
    calls.push(c);
    return true;
  },
  nowMs: Date.now,
  maxTokens: () => 500,
});

beforeAll(async () => {
  fake = await startFakeLlmProvider();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.answers.length = 0;
  calls = [];
  provider = new OpenAiCompatibleProvider({
    baseUrl: `${fake.url}/v1`,
    model: 'gpt-4o-mini',
    apiToken: 'sk-test-assistant',
    timeoutMs: 5_000,
    maxRetries: 0,
  });
});

const json = (v: unknown) => ({ content: JSON.stringify(v), promptTokens: 900, completionTokens: 80 });

describe('LLM-assisted sampling policy', () => {
  it('uses a valid answer, asks for JSON with the statistics in the prompt, and records the call', async () => {
    fake.answers.push(
      json({
        rules: [
          { patternId: NOISY, rate: 0.02, maxPerMinute: 100, reason: 'health checks' },
          { patternId: CHATTY, rate: 0.1, severity: 'debug' },
        ],
        summary: 'Sample the health checks and cache misses.',
      }),
    );
    const out = await assistant.policy(input);
    expect(out.generatedBy).toBe('llm');
    expect(out.fallbackReason).toBeNull();
    expect(out.result).toEqual({
      service: 'checkout',
      alwaysKeepFrom: 'warn',
      defaultRate: 1,
      rules: [
        { patternId: NOISY, rate: 0.02, maxPerMinute: 100, template: 'GET /health <*>' },
        { patternId: CHATTY, rate: 0.1, severity: 'debug', template: 'cache miss <*>' },
      ],
    });
    const req = fake.requests[0];
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.headers.authorization).toBe('Bearer sk-test-assistant');
    expect(req?.body.response_format).toEqual({ type: 'json_object' });
    expect(req?.body.model).toBe('gpt-4o-mini');
    const prompt = req?.body.messages.map((m: { content: string }) => m.content).join('\n');
    expect(prompt).toContain(NOISY);
    expect(prompt).toContain('GET /health <*>');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      projectId: 'p1',
      feature: 'policy',
      provider: 'openai',
      model: 'gpt-4o-mini',
      status: 'ok',
      inputTokens: 900,
      outputTokens: 80,
    });
    expect(out.llm).toMatchObject({ model: 'gpt-4o-mini', inputTokens: 900, outputTokens: 80, recorded: true });
  });

  it('falls back to the deterministic policy on a malformed answer', async () => {
    const deterministic = generatePolicy('checkout', stats, { windowMs: HOUR, targetPerMinute: 60, minRate: 0.001 });
    for (const content of ['Sure! Here is a policy: sample the health checks.', '{"rules": "all of them"}', '[1,2]']) {
      fake.answers.push({ content });
      const out = await assistant.policy(input);
      expect(out.generatedBy).toBe('deterministic');
      expect(out.result).toEqual(deterministic);
      expect(out.fallbackReason).toMatch(/not JSON|expected shape|not a JSON object/);
    }
    // Each attempt was still a call that cost money.
    expect(calls.map((c) => c.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('falls back on an unsafe answer, naming the problem', async () => {
    const unsafe: Array<[unknown, RegExp]> = [
      [{ rules: [{ patternId: ERRORS, rate: 0.01 }] }, /only warnings and errors/],
      [{ rules: [{ patternId: NOISY, rate: 0 }] }, /drop a pattern entirely/],
      [{ rules: [{ patternId: RARE, rate: 0.5 }] }, /rare/],
      [{ rules: [{ patternId: NOISY, rate: 0.1, severity: 'error' }] }, /always kept/],
      [{ rules: [{ patternId: 'p_ffffffffffffffff', rate: 0.1 }] }, /not a pattern of checkout/],
      [{ rules: [{ patternId: NOISY, rate: 1.5 }] }, /expected shape/],
    ];
    for (const [answer, reason] of unsafe) {
      fake.answers.push(json(answer));
      const out = await assistant.policy(input);
      expect(out.generatedBy).toBe('deterministic');
      expect(out.fallbackReason).toMatch(reason);
      expect(out.result.rules.map((r) => r.patternId).sort()).toEqual([NOISY, CHATTY]);
    }
  });

  it('falls back when the provider fails or none is configured, and reads a fenced answer', async () => {
    fake.answers.push({ content: 'overloaded', status: 503 });
    const failed = await assistant.policy(input);
    expect(failed.generatedBy).toBe('deterministic');
    expect(failed.fallbackReason).toMatch(/provider failed: 503/);
    expect(calls[0]).toMatchObject({ status: 'error', inputTokens: null });

    fake.answers.push({
      content: `\`\`\`json\n${JSON.stringify({ rules: [{ patternId: NOISY, rate: 0.05 }] })}\n\`\`\``,
    });
    expect((await assistant.policy(input)).generatedBy).toBe('llm');

    provider = null;
    const none = await assistant.policy(input);
    expect(none).toMatchObject({
      generatedBy: 'deterministic',
      fallbackReason: 'no LLM provider is configured',
      llm: null,
    });
    expect(fake.requests).toHaveLength(2);
  });
});

describe('Ollama native API', () => {
  it('posts to /api/chat with format json and reads prompt_eval_count and eval_count', async () => {
    provider = new OllamaProvider({ baseUrl: fake.url, model: 'llama3.2', timeoutMs: 5_000 });
    fake.answers.push(json({ rules: [{ patternId: NOISY, rate: 0.05 }] }));
    const out = await assistant.policy(input);
    expect(out.generatedBy).toBe('llm');
    const req = fake.requests[0];
    expect(req?.path).toBe('/api/chat');
    expect(req?.body).toMatchObject({ model: 'llama3.2', stream: false, format: 'json', options: { temperature: 0 } });
    expect(calls[0]).toMatchObject({ provider: 'ollama', model: 'llama3.2', inputTokens: 900, outputTokens: 80 });

    fake.answers.push({ content: 'model not found', status: 404 });
    const failed = await assistant.policy(input);
    expect(failed.fallbackReason).toMatch(/provider failed: 404/);
    fake.answers.push({ content: 'not json at all' });
    expect((await assistant.policy(input)).fallbackReason).toMatch(/not JSON/);
  });

  it('reports a refused connection as a provider failure', async () => {
    provider = new OllamaProvider({ baseUrl: 'http://127.0.0.1:9', model: 'llama3.2', timeoutMs: 2_000 });
    const out = await assistant.policy(input);
    expect(out.generatedBy).toBe('deterministic');
    expect(out.fallbackReason).toMatch(/provider failed/);
  });
});

describe('cost advice and anomaly explanations', () => {
  const adviceInput = {
    ...input,
    costModel: { ingestUsdPerGb: 0.4, retainUsdPerGbMonth: 0.1, retentionMonths: 1 },
    current: null,
  };

  it('uses valid advice and refuses advice that suggests sampling errors', async () => {
    fake.answers.push(
      json({
        summary: 'Health checks are most of the volume.',
        actions: [
          {
            title: 'Sample health checks',
            detail: 'Keep 2%.',
            patternId: NOISY,
            suggestedRate: 0.02,
            estimatedSavingsUsdPerMonth: 0.7,
          },
        ],
      }),
    );
    const good = await assistant.advice(adviceInput);
    expect(good.generatedBy).toBe('llm');
    expect(good.result.actions[0]?.patternId).toBe(NOISY);
    expect(good.projection.savedUsdPerMonth).toBeGreaterThan(0);

    fake.answers.push(
      json({
        summary: 'Drop the payment failures.',
        actions: [{ title: 'Sample errors', detail: 'They repeat.', patternId: ERRORS, suggestedRate: 0.01 }],
      }),
    );
    const bad = await assistant.advice(adviceInput);
    expect(bad.generatedBy).toBe('deterministic');
    expect(bad.fallbackReason).toMatch(/only warnings and errors/);
    // The deterministic advice lists the savings of the deterministic policy, biggest first.
    expect(bad.result.actions.map((a) => a.patternId)).toEqual([NOISY, CHATTY]);
    expect(bad.result.summary).toContain('keeping every warning and error');
    expect(calls.map((c) => c.feature)).toEqual(['advice', 'advice']);
  });

  it('explains a surging pattern, refusing an explanation that names an unknown pattern', async () => {
    const explainInput = {
      projectId: 'p1',
      service: 'checkout',
      pattern: {
        patternId: ERRORS,
        template: 'payment failed <*>',
        examples: ['payment failed order=12'],
        severities: { error: 9000 },
        ratePerMinute: 150,
        isNew: false,
        rateChange: { zScore: 8.2, lastBucketCount: 3000, baselineMean: 500 },
      },
      neighbours: [{ patternId: CHATTY, template: 'cache miss <*>', zScore: 5, isNew: false }],
    };
    fake.answers.push(
      json({
        summary: `Payment failures rose sixfold together with ${CHATTY}.`,
        likelyCauses: ['The payment provider is failing'],
        suggestedChecks: ['Check the provider status page'],
      }),
    );
    const good = await assistant.explain(explainInput);
    expect(good.generatedBy).toBe('llm');
    expect(good.result.likelyCauses).toEqual(['The payment provider is failing']);

    fake.answers.push(json({ summary: 'Caused by p_0123456789abcdef.', likelyCauses: [], suggestedChecks: [] }));
    const bad = await assistant.explain(explainInput);
    expect(bad.generatedBy).toBe('deterministic');
    expect(bad.fallbackReason).toMatch(/p_0123456789abcdef/);
    expect(bad.result.summary).toContain('z-score 8.2');
    expect(bad.result.likelyCauses.join(' ')).toMatch(/errors/);
  });
});

describe('parseJsonAnswer', () => {
  it('reads a bare or fenced object and refuses everything else', () => {
    expect(parseJsonAnswer(' {"a":1} ')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonAnswer('```json\n{"a":1}\n```')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonAnswer('null').ok).toBe(false);
    expect(parseJsonAnswer('{"a":').ok).toBe(false);
  });
});
