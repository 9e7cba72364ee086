/**
 * GenAI events sent as logs give the LLM call of their span its prompt and response excerpts:
 * the event shapes (unit), in one request (enrichment), and end to end with the real
 * @opentelemetry/instrumentation-openai, the real `openai` client and the OpenTelemetry SDK
 * exporting traces and logs to a started server, in both orders of arrival.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LlmCall, LogRecord } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLlmCall } from '../store/contract/fixtures.js';
import { type FakeLlmProvider, startFakeLlmProvider } from '../test-support/fake-llm-provider.js';
import { startTestServer, type TestServer } from '../test-support/harness.js';
import { attachInBatch, excerptsOf, genAiParts } from './genai-events.js';

const TRACE = 'a'.repeat(32);
const SPAN = 'b'.repeat(16);

function event(
  eventName: string,
  body: string,
  attributes: LogRecord['attributes'] = {},
  overrides: Partial<LogRecord> = {},
): LogRecord {
  return {
    id: `l_${Math.random()}`,
    projectId: 'p1',
    timeMs: 1_700_000_000_000,
    observedTimeMs: 1_700_000_000_000,
    ingestedAtMs: 0,
    source: 'otlp',
    serviceName: 'chat',
    environment: 'production',
    severity: 'info',
    severityNumber: 9,
    severityText: null,
    body,
    traceId: TRACE,
    spanId: SPAN,
    eventName,
    attributes,
    resource: {},
    patternId: null,
    ...overrides,
  };
}

describe('GenAI event content', () => {
  it('reads the role events, choices and inference details into prompt and response parts', () => {
    const logs = [
      event('gen_ai.system.message', '{"content":"Be brief."}'),
      event('gen_ai.user.message', '{"content":[{"type":"text","text":"What is "},{"type":"text","text":"2+2?"}]}'),
      event('gen_ai.tool.message', '{"content":"42","id":"call_1"}'),
      event('gen_ai.choice', '{"index":0,"finish_reason":"stop","message":{"content":"Four."}}'),
      event('gen_ai.user.message', '{}'), // content capture off: nothing
      event('app.other', '{"content":"not GenAI"}'),
      event('gen_ai.user.message', '{"content":"no span"}', {}, { spanId: null }),
    ];
    const parts = logs.flatMap((l, i) => genAiParts(l, i));
    expect(parts.map((p) => [p.kind, p.text])).toEqual([
      ['prompt', 'system: Be brief.'],
      ['prompt', 'user: What is 2+2?'],
      ['prompt', 'tool: 42'],
      ['response', 'Four.'],
    ]);
    const details = event('gen_ai.client.inference.operation.details', '', {
      'gen_ai.system_instructions': '[{"type":"text","content":"Be brief."}]',
      'gen_ai.input.messages': '[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]',
      'gen_ai.output.messages':
        '[{"role":"assistant","parts":[{"type":"text","content":"Hello"}],"finish_reason":"stop"}]',
    });
    expect(excerptsOf(genAiParts(details, 0), 100)).toEqual({
      promptExcerpt: 'system: Be brief.\nuser: Hi',
      responseExcerpt: 'assistant: Hello',
    });
    // Within the excerpt cap.
    expect(excerptsOf(parts, 10).promptExcerpt).toBe('system: Be…');
  });

  it('fills the excerpts of a call in the same request and leaves what the call reported', () => {
    const call: LlmCall = makeLlmCall({ id: 'c1', projectId: 'p1', traceId: TRACE, spanId: SPAN });
    const other: LlmCall = makeLlmCall({ id: 'c2', projectId: 'p1', traceId: TRACE, spanId: 'c'.repeat(16) });
    const own: LlmCall = { ...makeLlmCall({ id: 'c3', projectId: 'p1', traceId: TRACE }), spanId: 'd'.repeat(16) };
    own.promptExcerpt = 'reported prompt';
    const logs = [
      event('gen_ai.user.message', '{"content":"Hi"}'),
      event('gen_ai.choice', '{"index":0,"message":{"content":"Hello"}}'),
      event('gen_ai.user.message', '{"content":"mine"}', {}, { spanId: 'd'.repeat(16) }),
      event('gen_ai.user.message', '{"content":"later"}', {}, { spanId: 'e'.repeat(16) }),
    ];
    const waiting = attachInBatch({ llmCalls: [call, other, own], spans: [], logs }, 2000);
    expect([call.promptExcerpt, call.responseExcerpt]).toEqual(['user: Hi', 'Hello']);
    expect([other.promptExcerpt, other.responseExcerpt]).toEqual([null, null]);
    expect(own.promptExcerpt).toBe('reported prompt');
    // The event whose call is not in the request waits for it.
    expect(waiting.map((p) => [p.spanId, p.text])).toEqual([['e'.repeat(16), 'user: later']]);
  });
});

describe('GenAI events from @opentelemetry/instrumentation-openai on a started server', () => {
  let server: TestServer;
  let llm: FakeLlmProvider;
  let key: string;

  beforeAll(async () => {
    server = await startTestServer();
    ({ key } = await server.createProject('genai'));
    llm = await startFakeLlmProvider();
  });
  afterAll(async () => {
    await llm?.close();
    await server?.stop();
  });

  function runClient(prompt: string, logsFirst: boolean): Promise<{ answer: string }> {
    const script = fileURLToPath(new URL('../test-support/openai-instrumented-client.cjs', import.meta.url));
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [script], {
        env: {
          ...process.env,
          RP_URL: server.url,
          RP_KEY: key,
          LLM_URL: llm.url,
          PROMPT: prompt,
          LOGS_FIRST: logsFirst ? '1' : '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let errText = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (errText += d));
      child.on('exit', (code) =>
        code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`client exited ${code}: ${errText}`)),
      );
    });
  }

  async function storedCall(prompt: string): Promise<any> {
    const end = Date.now() + 20_000;
    for (;;) {
      const res = await fetch(`${server.url}/api/v1/llm/calls?from=now-1h&to=now%2B1h&limit=100`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const page = (await res.json()) as { items?: any[] };
      if (!page.items) throw new Error(JSON.stringify(page));
      const items = page.items;
      const call = items.find((c) => c.promptExcerpt?.includes(prompt));
      if (call?.responseExcerpt || Date.now() > end) return call ?? items;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it.each([
    ['spans first', false],
    ['logs first', true],
  ])(
    'the stored call gets the prompt and the completion (%s)',
    async (_name, logsFirst) => {
      const prompt = `What is the capital of France? (${logsFirst ? 'logs' : 'spans'} first)`;
      llm.answers.push({ content: `Paris, ${logsFirst ? 'logs' : 'spans'} first.` });
      const { answer } = await runClient(prompt, logsFirst);
      const call = await storedCall(prompt);
      expect(call).toMatchObject({ model: 'gpt-4o-mini', provider: 'openai' });
      expect(call.promptExcerpt).toBe(`system: You answer in one short sentence.\nuser: ${prompt}`);
      expect(call.responseExcerpt).toBe(answer);
      expect(call.traceId).toMatch(/^[0-9a-f]{32}$/);
      // The events themselves are stored as logs of the same trace.
      const logs = await fetch(`${server.url}/api/v1/logs?from=now-1h&traceId=${call.traceId}`, {
        headers: { authorization: `Bearer ${key}` },
      }).then((r) => r.json() as Promise<{ items: Array<{ eventName: string }> }>);
      expect(logs.items.map((l) => l.eventName).sort()).toEqual([
        'gen_ai.choice',
        'gen_ai.system.message',
        'gen_ai.user.message',
      ]);
    },
    60_000,
  );
});
