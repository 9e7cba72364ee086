/**
 * The built-in price catalogue: the data of `@pydantic/genai-prices` (bundled with the npm
 * package, so it works offline) converted into ReskPoints price entries. It is read-only;
 * user entries override it. See docs/cost.md for why this source was chosen.
 */

import { findProvider } from '@pydantic/genai-prices';
import type { ContextTier, ModelMatch, PriceEntry, PriceRates } from '@reskpoints/core';

/** The catalogue release the entries come from; part of every catalogue price version. */
export const CATALOGUE_SOURCE = 'genai-prices@0.1.8';

/** Provider ids of the catalogue that are loaded, in the order their data is read. */
export const CATALOGUE_PROVIDERS = [
  'openai',
  'anthropic',
  'google',
  'aws',
  'azure',
  'mistral',
  'deepseek',
  'x-ai',
  'groq',
  'cohere',
  'together',
  'fireworks',
  'perplexity',
  'cerebras',
  'moonshotai',
] as const;

/**
 * Service-tier prices as a share of the standard price, per catalogue provider. The
 * catalogue lists standard prices only; these providers publish their batch and flex prices
 * as a flat 50% of standard for every token kind:
 * - OpenAI: https://platform.openai.com/docs/pricing (Batch and Flex columns)
 * - Anthropic: https://docs.anthropic.com/en/docs/build-with-claude/batch-processing#pricing
 * - Google Gemini: https://ai.google.dev/gemini-api/docs/pricing (Batch, Flex)
 * - AWS Bedrock: https://aws.amazon.com/bedrock/pricing/ (Batch inference)
 * Priority tiers are not a fixed share of standard; they need a user entry.
 */
export const SERVICE_TIER_SHARES: Record<string, Record<string, number>> = {
  openai: { batch: 0.5, flex: 0.5 },
  azure: { batch: 0.5 },
  anthropic: { batch: 0.5 },
  google: { batch: 0.5, flex: 0.5 },
  aws: { batch: 0.5 },
};

/** One catalogue provider: its entries in the catalogue's order, which is its precedence. */
export interface CatalogueProvider {
  id: string;
  name: string;
  entries: PriceEntry[];
  /** Providers whose models this one also serves (Azure serves OpenAI's, Vertex Anthropic's). */
  fallbackProviders: string[];
  /** Matches provider names reported by callers (e.g. `aws.bedrock` → `aws`). */
  providerMatch: ModelMatch[];
  /** Matches model names of this provider when the caller did not say which provider it used. */
  modelMatch: ModelMatch[];
  pricingUrls: string[];
}

type MatchLogic =
  | { and: MatchLogic[] }
  | { or: MatchLogic[] }
  | { contains: string }
  | { ends_with: string }
  | { equals: string }
  | { regex: string }
  | { starts_with: string };

type TieredPrice = { base: number; tiers: { start: number; price: number }[] };
type ModelPrice = Record<string, number | TieredPrice | undefined>;

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** A regex source (matched case-insensitively) equivalent to one match expression. */
function logicToRegex(m: MatchLogic): string {
  if ('or' in m) return `(?:${m.or.map(logicToRegex).join('|')})`;
  if ('and' in m) return `^${m.and.map((x) => `(?=${logicToRegex(x)})`).join('')}`;
  if ('equals' in m) return `^${escapeRegex(m.equals)}$`;
  if ('starts_with' in m) return `^${escapeRegex(m.starts_with)}`;
  if ('ends_with' in m) return `^[\\s\\S]*${escapeRegex(m.ends_with)}$`;
  if ('contains' in m) return `^[\\s\\S]*?${escapeRegex(m.contains)}`;
  // The catalogue's own regexes search anywhere in the name.
  return `^[\\s\\S]*?(?:${m.regex})`;
}

/** Converts a match expression: top-level alternatives become separate matchers. */
export function convertMatch(m: MatchLogic): ModelMatch[] {
  if ('or' in m) return m.or.flatMap(convertMatch);
  if ('equals' in m) return [{ kind: 'exact', value: m.equals.toLowerCase() }];
  if ('starts_with' in m) return [{ kind: 'prefix', value: m.starts_with.toLowerCase() }];
  return [{ kind: 'regex', pattern: logicToRegex(m) }];
}

const isTiered = (v: unknown): v is TieredPrice =>
  typeof v === 'object' && v !== null && 'base' in v && Array.isArray((v as TieredPrice).tiers);

/** The price of one key for a call with `inputTokens` input tokens (tiers by total input). */
function priceAt(v: number | TieredPrice | undefined, inputTokens: number): number | null {
  if (v == null) return null;
  if (typeof v === 'number') return v;
  if (!isTiered(v)) return null;
  let p = v.base;
  for (const t of v.tiers) if (inputTokens > t.start) p = t.price;
  return p;
}

function ratesAt(p: ModelPrice, inputTokens: number): PriceRates {
  const requestsPerThousand = priceAt(p['requests_kcount'], inputTokens);
  return {
    inputPerMtokUsd: priceAt(p['input_mtok'], inputTokens) ?? 0,
    outputPerMtokUsd: priceAt(p['output_mtok'], inputTokens) ?? 0,
    cacheReadPerMtokUsd: priceAt(p['cache_read_mtok'], inputTokens),
    cacheWritePerMtokUsd: priceAt(p['cache_write_mtok'], inputTokens),
    cacheWrite1hPerMtokUsd: priceAt(p['cache_write_1h_mtok'], inputTokens),
    reasoningPerMtokUsd: priceAt(p['output_reasoning_mtok'], inputTokens),
    requestUsd: requestsPerThousand == null ? 0 : requestsPerThousand / 1000,
  };
}

/** Every price key with its own thresholds becomes one whole-call context tier per threshold. */
function contextTiersOf(p: ModelPrice): ContextTier[] {
  const starts = new Set<number>();
  for (const v of Object.values(p)) if (isTiered(v)) for (const t of v.tiers) starts.add(t.start);
  return [...starts].sort((a, b) => a - b).map((start) => ({ aboveInputTokens: start, rates: ratesAt(p, start + 1) }));
}

const scaleRates = (r: PriceRates, share: number): PriceRates => ({
  inputPerMtokUsd: r.inputPerMtokUsd * share,
  outputPerMtokUsd: r.outputPerMtokUsd * share,
  cacheReadPerMtokUsd: r.cacheReadPerMtokUsd == null ? null : r.cacheReadPerMtokUsd * share,
  cacheWritePerMtokUsd: r.cacheWritePerMtokUsd == null ? null : r.cacheWritePerMtokUsd * share,
  cacheWrite1hPerMtokUsd: r.cacheWrite1hPerMtokUsd == null ? null : r.cacheWrite1hPerMtokUsd * share,
  reasoningPerMtokUsd: r.reasoningPerMtokUsd == null ? null : r.reasoningPerMtokUsd * share,
  requestUsd: r.requestUsd,
});

/** True when a price has something the cost engine bills (tokens or requests). */
const billsTokens = (p: ModelPrice): boolean =>
  p['input_mtok'] != null || p['output_mtok'] != null || p['requests_kcount'] != null;

interface RawModel {
  id: string;
  name?: string;
  match: MatchLogic;
  prices:
    | ModelPrice
    | {
        constraint?: { type: string; start_date?: string; start_time?: string; end_time?: string };
        prices: ModelPrice;
      }[];
}

function entriesOf(providerId: string, model: RawModel): PriceEntry[] {
  const match = convertMatch(model.match);
  const shares = SERVICE_TIER_SHARES[providerId] ?? {};
  const versions: {
    fromMs: number;
    version: string;
    prices: ModelPrice;
    utcWindow?: { startSecond: number; endSecond: number };
  }[] = [];
  if (Array.isArray(model.prices)) {
    for (const c of model.prices) {
      const k = c.constraint;
      if (k == null) versions.push({ fromMs: 0, version: CATALOGUE_SOURCE, prices: c.prices });
      else if (k.type === 'start_date' && k.start_date != null) {
        const fromMs = Date.parse(`${k.start_date}T00:00:00Z`);
        if (Number.isFinite(fromMs))
          versions.push({ fromMs, version: `${CATALOGUE_SOURCE}:${k.start_date}`, prices: c.prices });
      } else if (k.type === 'time_of_date' && k.start_time != null && k.end_time != null) {
        const startSecond = secondsOfDay(k.start_time);
        const endSecond = secondsOfDay(k.end_time);
        if (startSecond != null && endSecond != null)
          versions.push({
            fromMs: 0,
            version: `${CATALOGUE_SOURCE}:utc${k.start_time.slice(0, 5)}-${k.end_time.slice(0, 5)}`,
            prices: c.prices,
            utcWindow: { startSecond, endSecond },
          });
      }
    }
  } else versions.push({ fromMs: 0, version: CATALOGUE_SOURCE, prices: model.prices });
  const out: PriceEntry[] = [];
  for (const v of versions) {
    if (!billsTokens(v.prices)) continue;
    const rates = ratesAt(v.prices, 0);
    const contextTiers = contextTiersOf(v.prices);
    const serviceTiers: PriceEntry['serviceTiers'] = {};
    for (const [tier, share] of Object.entries(shares)) {
      serviceTiers[tier] = {
        rates: scaleRates(rates, share),
        contextTiers: contextTiers.map((t) => ({
          aboveInputTokens: t.aboveInputTokens,
          rates: scaleRates(t.rates, share),
        })),
      };
    }
    out.push({
      id: `${providerId}/${model.id}`,
      version: v.version,
      provider: providerId,
      match,
      effectiveFromMs: v.fromMs,
      projectId: null,
      origin: 'catalogue',
      rates,
      contextTiers,
      serviceTiers,
      ...(v.utcWindow != null ? { utcWindow: v.utcWindow } : {}),
      ...(model.name != null ? { description: model.name } : {}),
    });
  }
  return out;
}

/** `HH:MM:SS[Z]` → seconds since midnight UTC. */
function secondsOfDay(t: string): number | null {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?Z?$/.exec(t);
  if (m == null) return null;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
}

let cached: CatalogueProvider[] | null = null;

/** The catalogue, converted once per process. */
export function loadCatalogue(): CatalogueProvider[] {
  if (cached != null) return cached;
  const out: CatalogueProvider[] = [];
  for (const id of CATALOGUE_PROVIDERS) {
    const p = findProvider({ providerId: id });
    if (p == null || p.id !== id) continue;
    out.push({
      id: p.id,
      name: p.name,
      entries: (p.models as RawModel[]).flatMap((m) => entriesOf(p.id, m)),
      fallbackProviders: p.fallback_model_providers ?? [],
      providerMatch: p.provider_match != null ? convertMatch(p.provider_match as MatchLogic) : [],
      modelMatch: p.model_match != null ? convertMatch(p.model_match as MatchLogic) : [],
      pricingUrls: p.pricing_urls ?? [],
    });
  }
  cached = out;
  return out;
}
