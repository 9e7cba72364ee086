/**
 * Quotas around a real `openai` client: each call reserves its worst case first, goes to an
 * OpenAI-compatible provider (a local HTTP server here) only when granted, and settles with the
 * usage the provider returned. Once the cost quota is spent the call is refused with 429 and
 * never reaches the provider.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costModule } from '../cost/module.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { quotaModule } from './module.js';

let server: TestServer;
let provider: Server;
let providerUrl: string;
let projectKey: string;
const seen: { model: string; max_tokens: number; user?: string }[] = [];

beforeAll(async () => {
  provider = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      if (req.url !== '/v1/chat/completions' || req.headers.authorization !== 'Bearer sk-fake') {
        res.writeHead(404).end();
        return;
      }
      const r = JSON.parse(body) as { model: string; max_tokens: number; user?: string };
      seen.push(r);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${seen.length}`,
          object: 'chat.completion',
          created: 1_790_000_000,
          model: `${r.model}-2024-08-06`,
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 400, completion_tokens: 50, total_tokens: 450 },
        }),
      );
    });
  });
  provider.listen(0, '127.0.0.1');
  await once(provider, 'listening');
  providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v1`;
  server = await startTestServer({}, { modules: [costModule, quotaModule] });
  projectKey = (await server.createProject('Agents', 'agents')).key;
  const put = await fetch(`${server.url}/api/v1/quotas/agent-cost`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scope: { project: 'agents' }, metric: 'costUsd', limit: 0.02, windowMs: 86_400_000 }),
  });
  expect(put.status).toBe(200);
});
afterAll(async () => {
  await server?.stop();
  provider?.close();
});

class QuotaRefused extends Error {
  constructor(
    readonly status: number,
    readonly retryAfter: string | null,
    message: string,
  ) {
    super(message);
  }
}

async function quotaCall(path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${projectKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** What an application does: reserve, call, settle with the returned usage. */
async function guardedCompletion(client: OpenAI, prompt: string, maxTokens: number, promptTokens: number) {
  const reserved = await quotaCall('/api/v1/quota/reserve', {
    model: 'gpt-4o',
    inputTokens: promptTokens,
    maxTokens,
    user: 'agent-1',
  });
  if (reserved.status !== 200) {
    const e = (await reserved.json()) as { error: { message: string } };
    throw new QuotaRefused(reserved.status, reserved.headers.get('retry-after'), e.error.message);
  }
  const { reservationId } = (await reserved.json()) as { reservationId: string };
  const completion = await client.chat.completions.create({
    model: 'gpt-4o',
    messages: [{ role: 'user', content: prompt }],
    max_tokens: maxTokens,
    user: 'agent-1',
  });
  const settled = await quotaCall('/api/v1/quota/settle', {
    reservationId,
    inputTokens: completion.usage?.prompt_tokens ?? promptTokens,
    outputTokens: completion.usage?.completion_tokens ?? maxTokens,
  });
  expect(settled.status).toBe(200);
  return completion;
}

describe('quotas around the openai client', () => {
  it('reserves before each call, settles with the returned usage and refuses with 429 once spent', async () => {
    const client = new OpenAI({ apiKey: 'sk-fake', baseURL: providerUrl, maxRetries: 0 });
    // Worst case per call: 400 input at $2.50/M + 200 output at $10/M = $0.003. Actual: 400 in,
    // 50 out = $0.0015. With $0.02: call n fits while 0.0015 n + 0.003 ≤ 0.02, so n = 0..11.
    const answers: string[] = [];
    let refused: QuotaRefused | null = null;
    for (let i = 0; i < 20 && refused == null; i++) {
      try {
        const c = await guardedCompletion(client, `question ${i}`, 200, 400);
        answers.push(c.choices[0]?.message.content ?? '');
      } catch (e) {
        if (!(e instanceof QuotaRefused)) throw e;
        refused = e;
      }
    }
    expect(answers).toHaveLength(12);
    expect(seen).toHaveLength(12);
    expect(seen.every((r) => r.max_tokens === 200 && r.model === 'gpt-4o')).toBe(true);
    expect(refused?.status).toBe(429);
    expect(Number(refused?.retryAfter)).toBeGreaterThan(0);
    expect(refused?.message).toContain('quota agent-cost');

    const usage = (await (
      await fetch(`${server.url}/api/v1/quotas/usage`, { headers: { authorization: `Bearer ${projectKey}` } })
    ).json()) as { quotas: { quota: { id: string }; counters: { settled: number; reserved: number }[] }[] };
    const counter = usage.quotas.find((q) => q.quota.id === 'agent-cost')?.counters[0];
    expect(counter?.reserved).toBe(0);
    expect(counter?.settled).toBeCloseTo(12 * 0.0015, 10);
  });
});
