/**
 * What a delivery attempt came to, and the retry policy: exponential backoff with full
 * jitter, a 429 or 503 `Retry-After` taking precedence, and 4xx other than 408/429 final.
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'failed'; reason: string };

/** Classifies an HTTP answer. */
export function classifyHttp(status: number, retryAfter: string | null, nowMs: number): DeliveryOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 429 || status === 408 || status >= 500) {
    const ms = parseRetryAfterMs(retryAfter, nowMs);
    return { kind: 'retry', reason: `HTTP ${status}`, ...(ms !== undefined ? { retryAfterMs: ms } : {}) };
  }
  return { kind: 'failed', reason: `HTTP ${status} (not retried)` };
}

/** `Retry-After` as seconds or an HTTP date, in ms from now. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export interface BackoffPolicy {
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** Delay before attempt `attempt + 1` (attempt counts from 1); `random` in [0, 1). */
export function backoffMs(policy: BackoffPolicy, attempt: number, random: number, retryAfterMs?: number): number {
  const cap = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.min(attempt - 1, 30));
  const jittered = cap / 2 + random * (cap / 2);
  return retryAfterMs !== undefined ? Math.max(retryAfterMs, Math.min(jittered, retryAfterMs + cap)) : jittered;
}
