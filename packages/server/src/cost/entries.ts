/**
 * Turning API/CLI input and LiteLLM-format price files into price entries. Pure.
 */
import {
  type AppError,
  type ContextTier,
  err,
  type FieldIssue,
  type ModelMatch,
  ok,
  type PriceEntry,
  type PriceEntryInput,
  type PriceOrigin,
  type PriceRates,
  type PriceRatesInput,
  type Result,
  validationError,
} from '@reskpoints/core';

export const toRates = (r: PriceRatesInput): PriceRates => ({
  inputPerMtokUsd: r.inputPerMtokUsd,
  outputPerMtokUsd: r.outputPerMtokUsd,
  cacheReadPerMtokUsd: r.cacheReadPerMtokUsd ?? null,
  cacheWritePerMtokUsd: r.cacheWritePerMtokUsd ?? null,
  cacheWrite1hPerMtokUsd: r.cacheWrite1hPerMtokUsd ?? null,
  reasoningPerMtokUsd: r.reasoningPerMtokUsd ?? null,
  requestUsd: r.requestUsd ?? 0,
});

const toTiers = (tiers: { aboveInputTokens: number; rates: PriceRatesInput }[] | undefined): ContextTier[] =>
  (tiers ?? [])
    .map((t) => ({ aboveInputTokens: t.aboveInputTokens, rates: toRates(t.rates) }))
    .sort((a, b) => a.aboveInputTokens - b.aboveInputTokens);

/** Parses an effective-from value: epoch ms, an RFC 3339 date-time or a date. */
export function parseInstant(v: number | string | undefined, nowMs: number): number {
  if (v == null) return nowMs;
  if (typeof v === 'number') return v;
  return Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
}

const ID_UNSAFE = /[^A-Za-z0-9._:/@+-]+/g;

/** The id a new entry gets when the caller gives none. */
export function defaultEntryId(input: Pick<PriceEntryInput, 'provider' | 'model' | 'match' | 'projectId'>): string {
  const first = input.match?.[0];
  const name = input.model ?? (first == null ? 'model' : first.kind === 'regex' ? 'pattern' : first.value);
  const base = `${input.provider}/${name}`.replace(ID_UNSAFE, '-').replace(/^[^A-Za-z0-9]+/, '');
  return input.projectId != null ? `${input.projectId.replace(ID_UNSAFE, '-')}:${base}` : base;
}

export function entryFromInput(
  input: PriceEntryInput,
  meta: { id: string; version: string; nowMs: number; origin: PriceOrigin },
): PriceEntry {
  const match: ModelMatch[] = input.match ?? [{ kind: 'exact', value: input.model as string }];
  const serviceTiers: PriceEntry['serviceTiers'] = {};
  for (const [name, t] of Object.entries(input.serviceTiers ?? {})) {
    serviceTiers[name.toLowerCase()] = { rates: toRates(t.rates), contextTiers: toTiers(t.contextTiers) };
  }
  return {
    id: meta.id,
    version: meta.version,
    provider: input.provider.toLowerCase(),
    match: match.map((m) => (m.kind === 'regex' ? m : { kind: m.kind, value: m.value.toLowerCase() })),
    effectiveFromMs: parseInstant(input.effectiveFrom, meta.nowMs),
    projectId: input.projectId ?? null,
    origin: meta.origin,
    rates: toRates(input.rates),
    contextTiers: toTiers(input.contextTiers),
    serviceTiers,
    ...(input.description != null ? { description: input.description } : {}),
  };
}

/** LiteLLM's provider names → the provider ids ReskPoints uses (those of the catalogue). */
const LITELLM_PROVIDERS: Record<string, string> = {
  openai: 'openai',
  text_completion_openai: 'openai',
  azure: 'azure',
  azure_ai: 'azure',
  anthropic: 'anthropic',
  bedrock: 'aws',
  bedrock_converse: 'aws',
  vertex_ai: 'google',
  'vertex_ai-language-models': 'google',
  'vertex_ai-anthropic_models': 'google',
  gemini: 'google',
  mistral: 'mistral',
  deepseek: 'deepseek',
  xai: 'x-ai',
  groq: 'groq',
  cohere: 'cohere',
  cohere_chat: 'cohere',
  together_ai: 'together',
  fireworks_ai: 'fireworks',
  perplexity: 'perplexity',
  cerebras: 'cerebras',
};

/** Converts USD per token to USD per million tokens without float noise (2.5e-6 → 2.5). */
const perMillion = (perToken: number): number => Number((perToken * 1_000_000).toPrecision(12));
const perMillionOrNull = (perToken: number | null): number | null => (perToken == null ? null : perMillion(perToken));

export interface LiteLlmImport {
  entries: PriceEntry[];
  /** Keys that carry no token price (images, audio seconds, the sample spec), with the reason. */
  skipped: { key: string; reason: string }[];
}

const num = (o: Record<string, unknown>, key: string): number | null => {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
};

/**
 * Reads a LiteLLM `model_prices_and_context_window.json`-format document: each key a model
 * name, with `input_cost_per_token`, `output_cost_per_token`, `cache_read_input_token_cost`,
 * `cache_creation_input_token_cost` (`_above_1hr` for 1-hour writes),
 * `output_cost_per_reasoning_token`, `input_cost_per_request`, `*_above_128k_tokens` /
 * `*_above_200k_tokens` tiers and `*_batches` / `*_flex` / `*_priority` service tiers.
 */
export function importLiteLlm(
  doc: unknown,
  meta: { projectId: string | null; effectiveFromMs: number; version: string; idPrefix?: string },
): Result<LiteLlmImport, AppError> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return err(
      validationError([{ path: '', message: 'expected an object keyed by model name' }], 'invalid LiteLLM price file'),
    );
  }
  const entries: PriceEntry[] = [];
  const skipped: { key: string; reason: string }[] = [];
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key === 'sample_spec') {
      skipped.push({ key, reason: 'the format description' });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ path: key, message: 'expected an object' });
      continue;
    }
    const o = value as Record<string, unknown>;
    const input = num(o, 'input_cost_per_token');
    const output = num(o, 'output_cost_per_token');
    if (input == null && output == null) {
      skipped.push({ key, reason: 'no input_cost_per_token or output_cost_per_token' });
      continue;
    }
    if (key.length > 256) {
      issues.push({ path: key, message: 'model name longer than 256 characters' });
      continue;
    }
    const base: PriceRates = {
      inputPerMtokUsd: perMillion(input ?? 0),
      outputPerMtokUsd: perMillion(output ?? 0),
      cacheReadPerMtokUsd: perMillionOrNull(num(o, 'cache_read_input_token_cost')),
      cacheWritePerMtokUsd: perMillionOrNull(num(o, 'cache_creation_input_token_cost')),
      cacheWrite1hPerMtokUsd: perMillionOrNull(num(o, 'cache_creation_input_token_cost_above_1hr')),
      reasoningPerMtokUsd: perMillionOrNull(num(o, 'output_cost_per_reasoning_token')),
      requestUsd: num(o, 'input_cost_per_request') ?? 0,
    };
    /** Rates under a key suffix; a price the suffix does not list stays the base price. */
    const rates = (suffix: string): PriceRates | null => {
      const i = num(o, `input_cost_per_token${suffix}`);
      const out = num(o, `output_cost_per_token${suffix}`);
      if (i == null && out == null) return null;
      const read = num(o, `cache_read_input_token_cost${suffix}`);
      const write = num(o, `cache_creation_input_token_cost${suffix}`);
      return {
        ...base,
        inputPerMtokUsd: i == null ? base.inputPerMtokUsd : perMillion(i),
        outputPerMtokUsd: out == null ? base.outputPerMtokUsd : perMillion(out),
        cacheReadPerMtokUsd: read == null ? base.cacheReadPerMtokUsd : perMillion(read),
        cacheWritePerMtokUsd: write == null ? base.cacheWritePerMtokUsd : perMillion(write),
      };
    };
    const contextTiers: ContextTier[] = [];
    for (const threshold of [128_000, 200_000]) {
      const t = rates(`_above_${threshold / 1000}k_tokens`);
      if (t != null) contextTiers.push({ aboveInputTokens: threshold, rates: t });
    }
    const serviceTiers: PriceEntry['serviceTiers'] = {};
    for (const [suffix, tier] of [
      ['_batches', 'batch'],
      ['_flex', 'flex'],
      ['_priority', 'priority'],
    ] as const) {
      const t = rates(suffix);
      if (t != null) serviceTiers[tier] = { rates: t, contextTiers: [] };
    }
    const litellmProvider = typeof o['litellm_provider'] === 'string' ? o['litellm_provider'].toLowerCase() : null;
    const provider = litellmProvider == null ? '*' : (LITELLM_PROVIDERS[litellmProvider] ?? litellmProvider);
    const name = key.toLowerCase();
    const match: ModelMatch[] = [{ kind: 'exact', value: name }];
    // `azure/gpt-4o`, `bedrock/us.anthropic.…`: calls usually report the name without the route.
    const tail = name.includes('/') ? name.slice(name.lastIndexOf('/') + 1) : null;
    if (tail != null && tail !== '') match.push({ kind: 'exact', value: tail });
    entries.push({
      id: `${meta.idPrefix ?? 'litellm:'}${meta.projectId != null ? `${meta.projectId}:` : ''}${key}`.slice(0, 200),
      version: meta.version,
      provider,
      match,
      effectiveFromMs: meta.effectiveFromMs,
      projectId: meta.projectId,
      origin: 'import',
      rates: base,
      contextTiers,
      serviceTiers,
    });
  }
  if (issues.length > 0) return err(validationError(issues, 'invalid LiteLLM price file'));
  return ok({ entries, skipped });
}
