/**
 * The LLM provider port: one chat completion, answered as a value. Modules that ask an LLM for
 * help (log sampling policies, cost advice, anomaly explanations) depend on this port only;
 * adapters speak a provider's API: `OpenAiCompatibleProvider` (OpenAI, Azure OpenAI, vLLM,
 * LiteLLM, Ollama's `/v1` endpoint — anything that serves `POST /chat/completions`) and
 * `OllamaProvider` (Ollama's native `POST /api/chat`).
 */
import type { Result } from '@reskpoints/core';

export interface LlmMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface LlmCompletionRequest {
  messages: readonly LlmMessage[];
  /** Upper bound on generated tokens. */
  maxTokens: number;
  /** Sampling temperature; 0 for answers that should repeat. */
  temperature: number;
  /** Ask the provider for a JSON object (OpenAI `response_format`, Ollama `format: "json"`). */
  json: boolean;
}

export interface LlmCompletion {
  /** The first choice's text. */
  text: string;
  /** The model that answered, as the provider reports it (else the one asked for). */
  model: string;
  /** Prompt tokens the provider counted; null when it did not say. */
  inputTokens: number | null;
  /** Generated tokens the provider counted; null when it did not say. */
  outputTokens: number | null;
  /** Prompt tokens read from the provider's cache, when reported. */
  cacheReadTokens: number | null;
  /** Wall time of the call, ms. */
  latencyMs: number;
}

export interface LlmFailure {
  /** `http`: the provider answered with an error status; `network`: no answer (refused, timeout, bad body). */
  kind: 'http' | 'network';
  message: string;
  /** HTTP status, for `http`. */
  status?: number;
  latencyMs: number;
}

export interface LlmProvider {
  /** Provider name for recorded calls and prices: `openai`, `azure`, `ollama`, `vllm`, … */
  readonly provider: string;
  /** The model asked for. */
  readonly model: string;
  complete(request: LlmCompletionRequest): Promise<Result<LlmCompletion, LlmFailure>>;
}
