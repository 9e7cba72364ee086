/** The assistant's provider calls as native ingest requests: priced and stored like any LLM call of the project. */
import { randomHex } from '@reskpoints/core';
import type { SelfIngestRequest } from '../platform/module.js';
import type { AssistCall } from './assistant.js';

export function recordAssistCall(call: AssistCall): SelfIngestRequest {
  const usage: Record<string, number> = {};
  if (call.inputTokens !== null) usage.inputTokens = call.inputTokens;
  if (call.outputTokens !== null) usage.outputTokens = call.outputTokens;
  if (call.cacheReadTokens !== null) usage.cacheReadTokens = call.cacheReadTokens;
  const event = {
    id: `reskpoints-${call.feature}-${randomHex(12)}`,
    timestamp: call.startedAtMs,
    provider: call.provider,
    model: call.model,
    requestModel: call.requestModel,
    operation: 'chat',
    latencyMs: Math.max(0, call.latencyMs),
    status: call.status,
    ...(call.errorMessage ? { error: { type: 'provider', message: call.errorMessage.slice(0, 4096) } } : {}),
    ...(Object.keys(usage).length ? { usage } : {}),
    serviceName: 'reskpoints',
    tags: ['reskpoints', `reskpoints:${call.feature}`],
    metadata: { feature: `logs.${call.feature}`, service: call.service.slice(0, 2000) },
    prompt: call.prompt,
    ...(call.response ? { response: call.response } : {}),
  };
  return { kind: 'native-json', projectId: call.projectId, body: Buffer.from(JSON.stringify({ batch: [event] })) };
}
