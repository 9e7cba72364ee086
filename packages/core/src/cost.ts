import type { LlmCall, Usage } from './telemetry.js';

/**
 * What one call cost, with its provenance. Amounts are US dollars.
 * `totalUsd` is null when no price matched (unpriced); it is never 0 for an unknown model.
 * The parts are 0 when unpriced; when priced they sum to `totalUsd`.
 */
export interface CallCost {
  totalUsd: number | null;
  /** Input tokens billed at the plain input price (input minus cache reads and writes). */
  inputUsd: number;
  /** Output tokens other than reasoning tokens. */
  outputUsd: number;
  cacheReadUsd: number;
  cacheWriteUsd: number;
  reasoningUsd: number;
  /** Per-request fee. */
  requestUsd: number;
  /** Id of the price entry used (stable across versions of the entry). */
  priceId: string | null;
  /** Version of that entry: its version id (catalogue entries use their effective-from date). */
  priceVersion: string | null;
  /**
   * Context or service tier applied, e.g. 'input>200k', 'batch', 'batch,input>200k';
   * 'priority@standard' when the call was served at a tier its price entry has no price for.
   */
  tier: string | null;
  /** Usage was estimated from the stored excerpts with a tokenizer, not reported by the source. */
  tokensEstimated: boolean;
}

/** The fields of a call that pricing reads. `canonicalModel` is the folded model name when known. */
export type CostCall = Pick<
  LlmCall,
  | 'provider'
  | 'model'
  | 'requestModel'
  | 'startTimeMs'
  | 'usage'
  | 'usageRaw'
  | 'metadata'
  | 'projectId'
  | 'promptExcerpt'
  | 'responseExcerpt'
  | 'operation'
> & { canonicalModel?: string | null; responseModel?: string | null };

/**
 * Prices of one entry version. Token prices are USD per million tokens; `requestUsd` is USD
 * per request. A null cache or reasoning price means the provider bills those tokens at the
 * plain price (cache read/write at the input price, reasoning at the output price, a 1-hour
 * cache write at the 5-minute price).
 */
export interface PriceRates {
  inputPerMtokUsd: number;
  outputPerMtokUsd: number;
  cacheReadPerMtokUsd: number | null;
  /** Cache write with the default (5-minute) lifetime. */
  cacheWritePerMtokUsd: number | null;
  /** Cache write with a 1-hour lifetime, where the provider distinguishes it. */
  cacheWrite1hPerMtokUsd: number | null;
  reasoningPerMtokUsd: number | null;
  requestUsd: number;
}

/** Rates that apply to the whole call when its input (cached included) exceeds `aboveInputTokens`. */
export interface ContextTier {
  aboveInputTokens: number;
  rates: PriceRates;
}

/**
 * How an entry matches model names. Precedence when several entries match one name:
 * exact before prefix, a longer prefix before a shorter one, prefix before regex, and among
 * regexes the entry listed first; project entries before global ones, user entries before
 * catalogue ones.
 */
export type ModelMatch =
  | { kind: 'exact'; value: string }
  | { kind: 'prefix'; value: string }
  | { kind: 'regex'; pattern: string };

export type PriceOrigin = 'catalogue' | 'user' | 'import';

/** One version of a price entry. */
export interface PriceEntry {
  /** Stable id of the entry across its versions, e.g. `openai/gpt-4o`. */
  id: string;
  /** Version id; catalogue versions use the effective-from date (YYYY-MM-DD). */
  version: string;
  /** Normalised provider id (`openai`, `anthropic`, `google`, …); `*` matches any provider. */
  provider: string;
  match: ModelMatch[];
  /** The version applies to calls that started at or after this instant (epoch ms). */
  effectiveFromMs: number;
  /** Null for a global entry; a project id for a per-project override. */
  projectId: string | null;
  origin: PriceOrigin;
  rates: PriceRates;
  /** Ascending by threshold; the highest exceeded threshold applies. */
  contextTiers: ContextTier[];
  /** Rates by service tier name (`batch`, `flex`, `priority`); absent tiers bill at `rates`. */
  serviceTiers: Record<string, { rates: PriceRates; contextTiers: ContextTier[] }>;
  /**
   * A version that applies only inside a daily UTC window (peak/off-peak pricing), as seconds
   * since midnight; `endSecond` below `startSecond` wraps past midnight. Such versions take
   * precedence over the entry's other versions inside their window.
   */
  utcWindow?: { startSecond: number; endSecond: number };
  description?: string;
}

/** True when `atMs` falls inside the entry's daily UTC window, or the entry has none. */
export function inUtcWindow(entry: Pick<PriceEntry, 'utcWindow'>, atMs: number): boolean {
  const w = entry.utcWindow;
  if (w == null) return true;
  const second = Math.floor((((atMs % 86_400_000) + 86_400_000) % 86_400_000) / 1000);
  return w.endSecond < w.startSecond
    ? second >= w.startSecond || second < w.endSecond
    : second >= w.startSecond && second < w.endSecond;
}

/** A price lookup. `models` are the candidate names, most specific first. */
export interface PriceQuery {
  provider: string;
  models: string[];
  atMs: number;
  projectId: string;
}

/** The resolved entry and the model name it matched. */
export interface PriceMatch {
  entry: PriceEntry;
  matchedModel: string;
}

/** A read-only, precomputed price index. Lookups must be cheap: they run on every ingested call. */
export interface PriceBook {
  find(query: PriceQuery): PriceMatch | null;
}

export const UNPRICED: Readonly<CallCost> = Object.freeze({
  totalUsd: null,
  inputUsd: 0,
  outputUsd: 0,
  cacheReadUsd: 0,
  cacheWriteUsd: 0,
  reasoningUsd: 0,
  requestUsd: 0,
  priceId: null,
  priceVersion: null,
  tier: null,
  tokensEstimated: false,
});

/** Metadata keys that carry the service tier a call was served at, in order of preference. */
export const SERVICE_TIER_KEYS = [
  'openai.response.service_tier',
  'openai.request.service_tier',
  'gen_ai.openai.response.service_tier',
  'gen_ai.openai.request.service_tier',
  'gen_ai.request.service_tier',
  'gen_ai.response.service_tier',
  'service_tier',
] as const;

/** Metadata keys that carry the number of cache-write tokens written with a 1-hour lifetime. */
export const CACHE_WRITE_1H_KEYS = [
  'gen_ai.usage.cache_creation.ephemeral_1h_input_tokens',
  'anthropic.usage.cache_creation.ephemeral_1h_input_tokens',
  'cache_creation.ephemeral_1h_input_tokens',
] as const;

/** Service tiers that bill at the standard price whatever the entry lists. */
const STANDARD_TIERS = new Set(['', 'default', 'standard', 'auto', 'on_demand']);

export function serviceTierOf(metadata: Record<string, string>): string | null {
  for (const key of SERVICE_TIER_KEYS) {
    const v = metadata[key];
    if (v != null && v !== '') {
      const tier = v.trim().toLowerCase();
      return STANDARD_TIERS.has(tier) ? null : tier;
    }
  }
  return null;
}

function cacheWrite1hTokens(metadata: Record<string, string>, cacheWriteTokens: number): number {
  for (const key of CACHE_WRITE_1H_KEYS) {
    const v = metadata[key];
    if (v != null) {
      const n = Number(v);
      if (Number.isFinite(n) && n > 0) return Math.min(n, cacheWriteTokens);
    }
  }
  return 0;
}

/** Candidate model names for a call, most specific first, without duplicates. */
export function candidateModels(
  call: Pick<CostCall, 'model' | 'requestModel' | 'canonicalModel' | 'responseModel'>,
): string[] {
  const out: string[] = [];
  // Since ingest stores the canonical name in `model`, the reported response model (a dated
  // snapshot) is the most specific name; calls stored earlier have it in `model`.
  for (const m of [call.responseModel, call.model, call.requestModel, call.canonicalModel]) {
    if (m != null && m !== '' && !out.includes(m)) out.push(m);
  }
  return out;
}

function pickContextTier(tiers: ContextTier[], inputTokens: number): ContextTier | null {
  let chosen: ContextTier | null = null;
  for (const t of tiers) if (inputTokens > t.aboveInputTokens) chosen = t;
  return chosen;
}

/** True when usage carries no token counts at all (nothing reported). */
export function usageIsEmpty(call: Pick<CostCall, 'usage' | 'usageRaw'>): boolean {
  const r = call.usageRaw;
  return (
    r.inputTokens == null &&
    r.outputTokens == null &&
    r.totalTokens == null &&
    r.cacheReadTokens == null &&
    r.cacheWriteTokens == null &&
    r.reasoningTokens == null &&
    call.usage.totalTokens === 0
  );
}

const PER_MTOK = 1_000_000;

/** Rounds to 1e-10 USD so float noise in a sum of parts never shows up. */
const roundUsd = (v: number): number => Math.round(v * 1e10) / 1e10;

/**
 * Costs normalised usage with one entry's rates. Normalised `inputTokens` includes cache reads
 * and writes; `outputTokens` includes reasoning tokens; each token is billed exactly once.
 */
export function costOfUsage(
  usage: Usage,
  rates: PriceRates,
  cacheWrite1h = 0,
): Omit<CallCost, 'priceId' | 'priceVersion' | 'tier' | 'tokensEstimated'> {
  const cacheRead = Math.min(usage.cacheReadTokens, usage.inputTokens);
  const cacheWrite = Math.min(usage.cacheWriteTokens, Math.max(0, usage.inputTokens - cacheRead));
  const plainInput = Math.max(0, usage.inputTokens - cacheRead - cacheWrite);
  const reasoning = Math.min(usage.reasoningTokens, usage.outputTokens);
  const plainOutput = Math.max(0, usage.outputTokens - reasoning);
  const write1h = Math.min(cacheWrite1h, cacheWrite);
  const write5mRate = rates.cacheWritePerMtokUsd ?? rates.inputPerMtokUsd;
  const write1hRate = rates.cacheWrite1hPerMtokUsd ?? write5mRate;
  const inputUsd = roundUsd((plainInput * rates.inputPerMtokUsd) / PER_MTOK);
  const cacheReadUsd = roundUsd((cacheRead * (rates.cacheReadPerMtokUsd ?? rates.inputPerMtokUsd)) / PER_MTOK);
  const cacheWriteUsd = roundUsd(((cacheWrite - write1h) * write5mRate + write1h * write1hRate) / PER_MTOK);
  const outputUsd = roundUsd((plainOutput * rates.outputPerMtokUsd) / PER_MTOK);
  const reasoningUsd = roundUsd((reasoning * (rates.reasoningPerMtokUsd ?? rates.outputPerMtokUsd)) / PER_MTOK);
  const requestUsd = rates.requestUsd;
  const totalUsd = roundUsd(inputUsd + cacheReadUsd + cacheWriteUsd + outputUsd + reasoningUsd + requestUsd);
  return { totalUsd, inputUsd, outputUsd, cacheReadUsd, cacheWriteUsd, reasoningUsd, requestUsd };
}

/**
 * Prices one call. Pure: the same call and book give the same cost. Names are tried most
 * specific first (response model, request model, canonical model). Unpriced calls get
 * `totalUsd: null`. Usage is taken as given; callers that estimate usage for calls without
 * any pass the estimate in `call.usage` and `estimated: true`.
 */
export function priceCall(call: CostCall, book: PriceBook, estimated = false): CallCost {
  const match = book.find({
    provider: call.provider,
    models: candidateModels(call),
    atMs: call.startTimeMs,
    projectId: call.projectId,
  });
  if (match == null) return estimated ? { ...UNPRICED, tokensEstimated: true } : { ...UNPRICED };
  const entry = match.entry;
  const serviceTier = serviceTierOf(call.metadata);
  const tierNames: string[] = [];
  let rates = entry.rates;
  let contextTiers = entry.contextTiers;
  if (serviceTier != null) {
    const st = entry.serviceTiers[serviceTier];
    if (st != null) {
      rates = st.rates;
      contextTiers = st.contextTiers;
      tierNames.push(serviceTier);
    } else {
      // Served at a tier the entry has no price for: billed at standard rates, and said so.
      tierNames.push(`${serviceTier}@standard`);
    }
  }
  const ctx = pickContextTier(contextTiers, call.usage.inputTokens);
  if (ctx != null) {
    rates = ctx.rates;
    tierNames.push(`input>${formatTokens(ctx.aboveInputTokens)}`);
  }
  const parts = costOfUsage(call.usage, rates, cacheWrite1hTokens(call.metadata, call.usage.cacheWriteTokens));
  // Built field by field: an object spread here cost ten times the rest of the function.
  return {
    totalUsd: parts.totalUsd,
    inputUsd: parts.inputUsd,
    outputUsd: parts.outputUsd,
    cacheReadUsd: parts.cacheReadUsd,
    cacheWriteUsd: parts.cacheWriteUsd,
    reasoningUsd: parts.reasoningUsd,
    requestUsd: parts.requestUsd,
    priceId: entry.id,
    priceVersion: entry.version,
    tier: tierNames.length > 0 ? tierNames.join(',') : null,
    tokensEstimated: estimated,
  };
}

function formatTokens(n: number): string {
  if (n % 1_000_000 === 0) return `${n / 1_000_000}m`;
  if (n % 1000 === 0) return `${n / 1000}k`;
  return String(n);
}
