/**
 * Reads daily metrics from a Langfuse instance (`GET {baseUrl}/api/public/metrics/daily`, Basic
 * auth with the project's key pair), page by page. Transient failures (network errors, 5xx,
 * 429) are retried with exponential backoff and full jitter; a 429 or 503 with `Retry-After`
 * waits as long as the server asks (capped). Other 4xx answers are permanent and not retried.
 * Time, waiting, randomness and HTTP are injected.
 */
import { type Clock, err, ok, type Result } from '@reskpoints/core';
import type { LangfuseDailyMetric, LangfuseDailyMetricsPage } from '../daily-metrics.js';

export interface LangfuseSource {
  /** e.g. https://cloud.langfuse.com (no trailing path). */
  baseUrl: string;
  publicKey: string;
  secretKey: string;
}

export interface RetryPolicy {
  /** Attempts per request, the first included; default 5. */
  maxAttempts: number;
  /** Backoff before the second attempt (the cap of its jitter); doubles each time. Default 1 s. */
  baseDelayMs: number;
  /** Longest wait between attempts, Retry-After included; default 60 s. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };

export interface LangfuseClientDeps {
  fetch: typeof fetch;
  clock: Clock;
  /** Waits; tests pass one that advances a fake clock. */
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1); default Math.random. */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
  /** Called before each retry with the wait chosen and why. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

export interface PullFailure {
  /** `permanent` failures (bad credentials, a bad request) are not worth retrying soon. */
  kind: 'permanent' | 'transient';
  message: string;
  status?: number;
}

/** Seconds or an HTTP date, as `Retry-After` allows; null when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null || header.trim() === '') return null;
  const t = header.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const at = Date.parse(t);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : null;
}

function isDailyPage(v: unknown): v is LangfuseDailyMetricsPage {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { data?: unknown; meta?: unknown };
  if (!Array.isArray(o.data) || typeof o.meta !== 'object' || o.meta === null) return false;
  const m = o.meta as Record<string, unknown>;
  return typeof m.totalPages === 'number' && typeof m.page === 'number';
}

function validDay(d: unknown): d is LangfuseDailyMetric {
  if (typeof d !== 'object' || d === null) return false;
  const x = d as Record<string, unknown>;
  return (
    typeof x.date === 'string' &&
    /^\d{4}-\d{2}-\d{2}$/.test(x.date) &&
    typeof x.countObservations === 'number' &&
    typeof x.totalCost === 'number' &&
    Array.isArray(x.usage)
  );
}

export class LangfuseMetricsClient {
  private readonly retry: RetryPolicy;

  constructor(private readonly deps: LangfuseClientDeps) {
    this.retry = { ...DEFAULT_RETRY, ...deps.retry };
  }

  /** Backoff before attempt `attempt + 1` (attempt counts from 1): full jitter up to base·2^(attempt−1). */
  backoffMs(attempt: number): number {
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor((this.deps.random ?? Math.random)() * cap);
  }

  /** One GET with retries; the parsed JSON body on 200. */
  private async getJson(url: string, source: LangfuseSource): Promise<Result<unknown, PullFailure>> {
    const auth = `Basic ${Buffer.from(`${source.publicKey}:${source.secretKey}`).toString('base64')}`;
    let last: PullFailure = { kind: 'transient', message: 'not attempted' };
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
      let waitMs: number | null = null;
      try {
        const res = await this.deps.fetch(url, {
          headers: { authorization: auth, accept: 'application/json' },
          signal: AbortSignal.timeout(this.deps.requestTimeoutMs ?? 30_000),
        });
        if (res.status === 200) {
          try {
            return ok(await res.json());
          } catch (e) {
            return err({ kind: 'permanent', message: `the answer is not JSON: ${(e as Error).message}`, status: 200 });
          }
        }
        const text = (await res.text().catch(() => '')).slice(0, 300);
        if (res.status === 429 || res.status >= 500) {
          last = { kind: 'transient', status: res.status, message: `HTTP ${res.status} ${text}`.trim() };
          waitMs = retryAfterMs(res.headers.get('retry-after'), this.deps.clock.nowMs());
        } else {
          return err({ kind: 'permanent', status: res.status, message: `HTTP ${res.status} ${text}`.trim() });
        }
      } catch (e) {
        last = { kind: 'transient', message: `request failed: ${(e as Error).message}` };
      }
      if (attempt === this.retry.maxAttempts) break;
      const delayMs = Math.min(this.retry.maxDelayMs, waitMs ?? this.backoffMs(attempt));
      this.deps.onRetry?.({ attempt, delayMs, reason: last.message });
      await this.deps.sleep(delayMs);
    }
    return err({ ...last, message: `${last.message} (after ${this.retry.maxAttempts} attempts)` });
  }

  /** Every day of the range, following the pages; days as Langfuse reported them. */
  async dailyMetrics(
    source: LangfuseSource,
    fromMs: number,
    toMs: number,
  ): Promise<Result<LangfuseDailyMetric[], PullFailure>> {
    const days: LangfuseDailyMetric[] = [];
    const base = source.baseUrl.replace(/\/+$/, '');
    for (let page = 1; ; page++) {
      const params = new URLSearchParams({
        page: String(page),
        limit: '100',
        fromTimestamp: new Date(fromMs).toISOString(),
        toTimestamp: new Date(toMs).toISOString(),
      });
      const r = await this.getJson(`${base}/api/public/metrics/daily?${params}`, source);
      if (!r.ok) return r;
      if (!isDailyPage(r.value))
        return err({ kind: 'permanent', message: 'the answer is not a daily metrics page ({data, meta})' });
      for (const d of r.value.data) if (validDay(d)) days.push(d);
      // totalPages is 0 when there is no data at all.
      if (page >= r.value.meta.totalPages || r.value.data.length === 0) break;
      if (page >= 1000) return err({ kind: 'permanent', message: 'more than 1000 pages; narrow the range' });
    }
    return ok(days);
  }
}
