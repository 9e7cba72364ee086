/**
 * An LLM provider for every server that speaks OpenAI's chat completions API (OpenAI, Azure
 * OpenAI's v1 endpoint, vLLM, LiteLLM, Ollama's `/v1`), through the official `openai` client.
 */
import { err, ok, type Result } from '@reskpoints/core';
import OpenAI from 'openai';
import type { LlmCompletion, LlmCompletionRequest, LlmFailure, LlmProvider } from './provider.js';

export interface OpenAiCompatibleOptions {
  /** Base URL up to and including the version, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  model: string;
  /** Sent as `Authorization: Bearer …`; empty for servers without authentication. */
  apiToken: string;
  /** Name recorded on the calls (and used for prices). Default `openai`. */
  provider?: string;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Retries of connection errors, 408, 409, 429 and 5xx (the client's own backoff). */
  maxRetries: number;
  /** Extra headers, e.g. Azure's `api-key`. */
  headers?: Record<string, string>;
  nowMs?: () => number;
}

export class OpenAiCompatibleProvider implements LlmProvider {
  readonly provider: string;
  readonly model: string;
  private readonly client: OpenAI;
  private readonly nowMs: () => number;

  constructor(opts: OpenAiCompatibleOptions) {
    this.provider = opts.provider ?? 'openai';
    this.model = opts.model;
    this.nowMs = opts.nowMs ?? Date.now;
    this.client = new OpenAI({
      baseURL: opts.baseUrl,
      // The client refuses to start without a key; servers without authentication ignore it.
      apiKey: opts.apiToken || 'none',
      timeout: opts.timeoutMs,
      maxRetries: opts.maxRetries,
      ...(opts.headers ? { defaultHeaders: opts.headers } : {}),
    });
  }

  async complete(request: LlmCompletionRequest): Promise<Result<LlmCompletion, LlmFailure>> {
    const started = this.nowMs();
    try {
      const r = await this.client.chat.completions.create({
        model: this.model,
        messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
        max_tokens: request.maxTokens,
        temperature: request.temperature,
        ...(request.json ? { response_format: { type: 'json_object' as const } } : {}),
      });
      const latencyMs = this.nowMs() - started;
      const text = r.choices?.[0]?.message?.content;
      if (typeof text !== 'string')
        return err({ kind: 'network', message: 'the answer has no message content', latencyMs });
      return ok({
        text,
        model: r.model || this.model,
        inputTokens: r.usage?.prompt_tokens ?? null,
        outputTokens: r.usage?.completion_tokens ?? null,
        cacheReadTokens: r.usage?.prompt_tokens_details?.cached_tokens ?? null,
        latencyMs,
      });
    } catch (e) {
      const latencyMs = this.nowMs() - started;
      if (e instanceof OpenAI.APIError && typeof e.status === 'number')
        return err({ kind: 'http', status: e.status, message: e.message, latencyMs });
      return err({ kind: 'network', message: (e as Error).message, latencyMs });
    }
  }
}
