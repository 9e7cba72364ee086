/**
 * A local HTTP server standing in for an LLM provider in tests: the OpenAI chat completions API
 * (`POST /v1/chat/completions`, what the `openai` client, vLLM, Azure and Ollama's OpenAI
 * endpoint speak) and Ollama's native `POST /api/chat`. Answers come from a queue the test fills;
 * every request is recorded.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAnswer {
  /** The assistant message's content. */
  content: string;
  /** HTTP status to answer with instead of 200 (the content is then the error body). */
  status?: number;
  promptTokens?: number;
  completionTokens?: number;
}

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
}

export interface FakeLlmProvider {
  /** e.g. http://127.0.0.1:PORT (the OpenAI base URL is this + '/v1'). */
  url: string;
  requests: RecordedRequest[];
  /** Answers used in order; when empty, `fallback` answers. */
  answers: FakeAnswer[];
  fallback: FakeAnswer;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeLlmProvider(model = 'fake-model'): Promise<FakeLlmProvider> {
  const fake: FakeLlmProvider = {
    url: '',
    requests: [],
    answers: [],
    fallback: { content: 'Hello from the fake provider.' },
    close: async () => {},
  };
  let n = 0;
  const server: Server = createServer(async (req, res) => {
    const text = await readBody(req);
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    const path = (req.url ?? '').split('?')[0] ?? '';
    fake.requests.push({ path, headers: req.headers, body });
    const answer = fake.answers.shift() ?? fake.fallback;
    const prompt = answer.promptTokens ?? 12;
    const completion = answer.completionTokens ?? 7;
    if (answer.status && answer.status !== 200) {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error: { message: answer.content, type: 'fake_error' } }));
    }
    if (path.endsWith('/chat/completions')) {
      n++;
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({
          id: `chatcmpl-fake${n}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body?.model ?? model,
          choices: [{ index: 0, message: { role: 'assistant', content: answer.content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
        }),
      );
    }
    if (path === '/api/chat') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({
          model: body?.model ?? model,
          created_at: new Date().toISOString(),
          message: { role: 'assistant', content: answer.content },
          done: true,
          done_reason: 'stop',
          prompt_eval_count: prompt,
          eval_count: completion,
        }),
      );
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return fake;
}
