/**
 * An LLM provider for Ollama's native chat API (`POST /api/chat`, non-streaming), which reports
 * token counts as `prompt_eval_count` and `eval_count` and constrains output with `format`.
 */
import { err, ok, type Result } from '@reskpoints/core';
import type { LlmCompletion, LlmCompletionRequest, LlmFailure, LlmProvider } from './provider.js';

export interface OllamaOptions {
  /** The Ollama server, e.g. `http://127.0.0.1:11434`. */
  baseUrl: string;
  model: string;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Sent as `Authorization: Bearer …` when set (for a proxy in front of Ollama). */
  apiToken?: string;
  nowMs?: () => number;
}

interface OllamaChatResponse {
  model?: unknown;
  message?: { content?: unknown };
  prompt_eval_count?: unknown;
  eval_count?: unknown;
  error?: unknown;
}

const count = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);

export class OllamaProvider implements LlmProvider {
  readonly provider = 'ollama';
  readonly model: string;
  private readonly url: string;
  private readonly nowMs: () => number;

  constructor(private readonly opts: OllamaOptions) {
    this.model = opts.model;
    this.url = `${opts.baseUrl.replace(/\/+$/, '')}/api/chat`;
    this.nowMs = opts.nowMs ?? Date.now;
  }

  async complete(request: LlmCompletionRequest): Promise<Result<LlmCompletion, LlmFailure>> {
    const started = this.nowMs();
    const latency = () => this.nowMs() - started;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.opts.apiToken ? { authorization: `Bearer ${this.opts.apiToken}` } : {}),
        },
        body: JSON.stringify({
          model: this.model,
          messages: request.messages,
          stream: false,
          ...(request.json ? { format: 'json' } : {}),
          options: { temperature: request.temperature, num_predict: request.maxTokens },
        }),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (e) {
      return err({ kind: 'network', message: (e as Error).message, latencyMs: latency() });
    }
    let body: OllamaChatResponse;
    try {
      body = (await res.json()) as OllamaChatResponse;
    } catch (e) {
      return err({
        kind: res.ok ? 'network' : 'http',
        status: res.status,
        message: `unreadable answer: ${(e as Error).message}`,
        latencyMs: latency(),
      });
    }
    if (!res.ok)
      return err({
        kind: 'http',
        status: res.status,
        message: typeof body.error === 'string' ? body.error : `status ${res.status}`,
        latencyMs: latency(),
      });
    const text = body.message?.content;
    if (typeof text !== 'string')
      return err({ kind: 'network', message: 'the answer has no message content', latencyMs: latency() });
    return ok({
      text,
      model: typeof body.model === 'string' && body.model ? body.model : this.model,
      inputTokens: count(body.prompt_eval_count),
      outputTokens: count(body.eval_count),
      cacheReadTokens: null,
      latencyMs: latency(),
    });
  }
}
