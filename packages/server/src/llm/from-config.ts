/** Builds an LLM provider from a configuration section (`logs.llm`). */
import { OllamaProvider } from './ollama.js';
import { OpenAiCompatibleProvider } from './openai-compatible.js';
import type { LlmProvider } from './provider.js';

export interface LlmProviderConfig {
  /** `none`: no provider (deterministic answers only). */
  api: 'none' | 'openai' | 'ollama';
  /** OpenAI-compatible: up to the version (`https://api.openai.com/v1`); Ollama: the server (`http://127.0.0.1:11434`). */
  baseUrl: string;
  model: string;
  /** Bearer token; empty for none. */
  apiToken: string;
  /** Name the calls are recorded (and priced) under; default: `openai` or `ollama`. */
  provider: string;
  timeoutMs: number;
  maxRetries: number;
}

export function llmProviderFromConfig(c: LlmProviderConfig, nowMs?: () => number): LlmProvider | null {
  if (c.api === 'none') return null;
  if (c.api === 'ollama')
    return new OllamaProvider({
      baseUrl: c.baseUrl,
      model: c.model,
      timeoutMs: c.timeoutMs,
      ...(c.apiToken ? { apiToken: c.apiToken } : {}),
      ...(nowMs ? { nowMs } : {}),
    });
  return new OpenAiCompatibleProvider({
    baseUrl: c.baseUrl,
    model: c.model,
    apiToken: c.apiToken,
    provider: c.provider || 'openai',
    timeoutMs: c.timeoutMs,
    maxRetries: c.maxRetries,
    ...(nowMs ? { nowMs } : {}),
  });
}
