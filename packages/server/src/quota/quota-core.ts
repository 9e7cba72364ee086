/**
 * Quota accounting shared by the in-process limiter and the Redis one (whose Lua scripts follow
 * the same arithmetic): rules, counters, windows and the worst case of a call.
 *
 * A counter holds the amount reserved by calls in flight and the settled usage per time bucket.
 * A fixed window has one bucket per window; a sliding window is cut into `SLIDING_BUCKETS`
 * buckets and counts every bucket that overlaps the window, a partly covered one in full, so the
 * usage seen is never less than the exact sliding sum: the limit holds over every window.
 * Usage is attributed to the bucket in which the call was reserved: the admission check at that
 * instant already counted it, so any window containing it was checked with it.
 */
import type { PriceBook, PriceRates } from '@reskpoints/core';
import { costOfUsage } from '@reskpoints/core';

export const SLIDING_BUCKETS = 20;
/** Tolerance for floating-point sums of dollar amounts. */
export const AMOUNT_EPSILON = 1e-9;

export type QuotaMetric = 'requests' | 'tokens' | 'costUsd';
export type QuotaWindow = 'fixed' | 'sliding';
export const QUOTA_DIMENSIONS = ['project', 'key', 'user', 'model'] as const;
export type QuotaDimension = (typeof QUOTA_DIMENSIONS)[number];

/**
 * A quota definition. Each scope dimension is absent (any value), a literal (only that value) or
 * `*` (a separate counter for each distinct value: "each user may …").
 */
export interface QuotaRule {
  id: string;
  description: string;
  scope: Partial<Record<QuotaDimension, string>>;
  metric: QuotaMetric;
  limit: number;
  windowMs: number;
  window: QuotaWindow;
  /** False while disabled (e.g. a budget's throttle that is not in force). */
  enabled: boolean;
  /**
   * The rule stops applying at this instant, epoch ms (a budget's block or throttle ends with the
   * budget's period); null or absent: never. A limit of 0 blocks every call in the scope.
   */
  expiresAtMs?: number | null;
}

export type CallDimensions = Record<QuotaDimension, string | null>;

export interface Amounts {
  requests: number;
  tokens: number;
  costUsd: number;
}

/** One counter a reservation draws on. */
export interface CounterDraw {
  counterId: string;
  ruleId: string;
  metric: QuotaMetric;
  limit: number;
  windowMs: number;
  bucketMs: number;
  sliding: boolean;
  amount: number;
}

export interface CounterState {
  ruleId: string;
  counterId: string;
  metric: QuotaMetric;
  limit: number;
  windowMs: number;
  /** What is left in the window after this reservation (or now, when refused). */
  remaining: number;
  /** Milliseconds until the window (or the oldest bucket of a sliding one) frees usage. */
  resetMs: number;
}

export type ReserveOutcome =
  | { ok: true; reservationId: string; expiresAtMs: number; counters: CounterState[] }
  | { ok: false; refusedBy: CounterState; retryAfterMs: number; counters: CounterState[] };

export type SettleOutcome = { ok: true } | { ok: false; reason: 'unknown' };

/** Which counters of a rule to read, and how its window is cut. */
export interface UsageSpec {
  ruleId: string;
  windowMs: number;
  bucketMs: number;
  sliding: boolean;
}

/** One counter's usage as a check at that instant counts it. */
export interface CounterUsage {
  ruleId: string;
  counterId: string;
  /** Held by reservations not yet settled or expired. */
  reserved: number;
  /** Settled (and expired) usage inside the window. */
  settled: number;
  /** Milliseconds until the window (or the oldest bucket of a sliding one) frees usage. */
  resetMs: number;
}

/** The counter ids of a rule: the rule id, or the rule id then `|dimension=value` parts. */
export function counterBelongsTo(counterId: string, ruleId: string): boolean {
  return counterId === ruleId || counterId.startsWith(`${ruleId}|`);
}

/** The `*` dimension values a counter id carries (`rule|user=alice` → { user: 'alice' }). */
export function counterDimensions(counterId: string, ruleId: string): Partial<Record<QuotaDimension, string>> {
  const out: Partial<Record<QuotaDimension, string>> = {};
  const rest = counterId.slice(ruleId.length);
  const re = new RegExp(`\\|(${QUOTA_DIMENSIONS.join('|')})=`, 'g');
  const marks = [...rest.matchAll(re)];
  marks.forEach((m, i) => {
    const start = (m.index ?? 0) + m[0].length;
    const end = marks[i + 1]?.index ?? rest.length;
    out[m[1] as QuotaDimension] = rest.slice(start, end);
  });
  return out;
}

/** The accounting port: in-process (embedded) or Redis (cluster mode). */
export interface QuotaLimiter {
  reserve(draws: readonly CounterDraw[], reservationId: string, nowMs: number, ttlMs: number): Promise<ReserveOutcome>;
  settle(reservationId: string, actual: Amounts, nowMs: number): Promise<SettleOutcome>;
  /** Charges expired reservations their worst case; returns how many expired. */
  expire(nowMs: number): Promise<number>;
  /** Every counter of these rules that holds usage now (read only: never waits on a store). */
  usage(specs: readonly UsageSpec[], nowMs: number): Promise<CounterUsage[]>;
  close(): Promise<void>;
}

export function bucketMsOf(rule: Pick<QuotaRule, 'window' | 'windowMs'>): number {
  return rule.window === 'fixed' ? rule.windowMs : Math.max(1, Math.ceil(rule.windowMs / SLIDING_BUCKETS));
}

/** The oldest bucket a check at `nowMs` counts. */
export function firstBucket(nowMs: number, windowMs: number, bucketMs: number, sliding: boolean): number {
  return sliding ? Math.floor((nowMs - windowMs) / bucketMs) : Math.floor(nowMs / bucketMs);
}

/** Rules that apply to a call, and the counter each one draws on. */
export function drawsFor(
  rules: readonly QuotaRule[],
  dims: CallDimensions,
  amounts: Amounts,
  nowMs?: number,
): CounterDraw[] {
  const out: CounterDraw[] = [];
  for (const rule of rules) {
    if (!rule.enabled) continue;
    if (nowMs !== undefined && rule.expiresAtMs != null && nowMs >= rule.expiresAtMs) continue;
    let counterId = rule.id;
    let applies = true;
    for (const d of QUOTA_DIMENSIONS) {
      const want = rule.scope[d];
      if (want == null) continue;
      const have = dims[d];
      if (have == null || (want !== '*' && want !== have)) {
        applies = false;
        break;
      }
      if (want === '*') counterId += `|${d}=${have}`;
    }
    if (!applies) continue;
    out.push({
      counterId,
      ruleId: rule.id,
      metric: rule.metric,
      limit: rule.limit,
      windowMs: rule.windowMs,
      bucketMs: bucketMsOf(rule),
      sliding: rule.window === 'sliding',
      amount: amounts[rule.metric],
    });
  }
  return out;
}

/**
 * How long until `needed` of the counted usage leaves the window, given settled usage per bucket
 * (reserved amounts leave only when settled or expired, so they never count as freed).
 */
export function retryAfterMs(
  buckets: ReadonlyMap<number, number>,
  needed: number,
  nowMs: number,
  draw: Pick<CounterDraw, 'windowMs' | 'bucketMs' | 'sliding'>,
): number {
  if (!draw.sliding) return (Math.floor(nowMs / draw.bucketMs) + 1) * draw.bucketMs - nowMs;
  const indexes = [...buckets.keys()].sort((a, b) => a - b);
  let freed = 0;
  for (const b of indexes) {
    freed += buckets.get(b) ?? 0;
    if (freed + AMOUNT_EPSILON >= needed) return Math.max(1, (b + 1) * draw.bucketMs + draw.windowMs - nowMs);
  }
  return draw.windowMs;
}

/** Rates for a call of this size: the entry's, or those of the context tier its input reaches. */
function ratesFor(
  book: PriceBook,
  q: { provider: string; model: string; projectId: string; atMs: number },
  inputTokens: number,
): PriceRates | null {
  const match = book.find({ provider: q.provider, models: [q.model], atMs: q.atMs, projectId: q.projectId });
  if (match == null) return null;
  let rates = match.entry.rates;
  for (const t of match.entry.contextTiers) if (inputTokens > t.aboveInputTokens) rates = t.rates;
  return rates;
}

/**
 * The most a call can cost: all input at the plain input rate (no cache discount) and all of
 * `max_tokens` as output at the higher of the output and reasoning rates. Null when unpriced.
 */
export function worstCaseCostUsd(
  book: PriceBook,
  q: { provider: string; model: string; projectId: string; atMs: number },
  inputTokens: number,
  maxOutputTokens: number,
): number | null {
  const rates = ratesFor(book, q, inputTokens);
  if (rates == null) return null;
  const outRate = Math.max(rates.outputPerMtokUsd, rates.reasoningPerMtokUsd ?? 0);
  return (inputTokens * rates.inputPerMtokUsd + maxOutputTokens * outRate) / 1_000_000 + rates.requestUsd;
}

/** The actual cost of a settled call from its token counts, at the model's price. Null when unpriced. */
export function actualCostUsd(
  book: PriceBook,
  q: { provider: string; model: string; projectId: string; atMs: number },
  inputTokens: number,
  outputTokens: number,
): number | null {
  const rates = ratesFor(book, q, inputTokens);
  if (rates == null) return null;
  return costOfUsage(
    {
      inputTokens,
      outputTokens,
      totalTokens: inputTokens + outputTokens,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    },
    rates,
  ).totalUsd;
}
