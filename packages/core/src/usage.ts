import type { RawUsage, Usage } from './telemetry.js';

const n = (v: number | null): number => (v == null || !Number.isFinite(v) || v < 0 ? 0 : v);

/**
 * The one usage normaliser. Each source declares whether its input count includes cached
 * tokens; the result always counts cached tokens inside `inputTokens`.
 */
export function normaliseUsage(raw: RawUsage): Usage {
  const cacheReadTokens = n(raw.cacheReadTokens);
  const cacheWriteTokens = n(raw.cacheWriteTokens);
  const reasoningTokens = n(raw.reasoningTokens);
  let inputTokens = n(raw.inputTokens);
  let outputTokens = n(raw.outputTokens);
  if (raw.semantics === 'input-excludes-cached') inputTokens += cacheReadTokens + cacheWriteTokens;
  if (raw.inputTokens == null && raw.outputTokens != null && raw.totalTokens != null) {
    inputTokens = Math.max(0, n(raw.totalTokens) - outputTokens);
  }
  if (raw.outputTokens == null && raw.inputTokens != null && raw.totalTokens != null) {
    outputTokens = Math.max(0, n(raw.totalTokens) - n(raw.inputTokens));
  }
  // Reasoning tokens are billed as output; a source that reports more reasoning than output
  // counted them separately.
  if (reasoningTokens > outputTokens) outputTokens += reasoningTokens;
  return {
    inputTokens,
    outputTokens,
    cacheReadTokens,
    cacheWriteTokens,
    reasoningTokens,
    totalTokens: inputTokens + outputTokens,
  };
}

export function emptyRawUsage(semantics: RawUsage['semantics']): RawUsage {
  return {
    semantics,
    inputTokens: null,
    outputTokens: null,
    cacheReadTokens: null,
    cacheWriteTokens: null,
    reasoningTokens: null,
    totalTokens: null,
  };
}
