/**
 * Langfuse usage and cost details, shared by the OTLP mapper (`langfuse.observation.usage_details`
 * / `cost_details`) and the Langfuse batch ingestion API (`usageDetails` / `usage` / `costDetails`).
 * docs/langfuse.md describes the rules.
 */
import type { RawUsage } from '@reskpoints/core';

const MAX_TOKENS = 1e12;
const MAX_COST_USD = 1e6;

function finite(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function tokens(v: unknown): number | null {
  const n = finite(v);
  if (n == null || n < 0 || n > MAX_TOKENS) return null;
  return Math.round(n);
}

function first(d: Record<string, unknown>, keys: readonly string[]): number | null {
  for (const k of keys) {
    const n = tokens(d[k]);
    if (n !== null) return n;
  }
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const INPUT_KEYS = ['input', 'input_tokens', 'prompt_tokens', 'promptTokens'];
const OUTPUT_KEYS = ['output', 'output_tokens', 'completion_tokens', 'completionTokens'];
const CACHE_READ_KEYS = ['input_cache_read', 'input_cached_tokens', 'cache_read_input_tokens', 'cached_tokens'];
const CACHE_WRITE_KEYS = [
  'input_cache_creation',
  'input_cache_write',
  'cache_creation_input_tokens',
  'input_cache_creation_tokens',
];
/** Cache writes by lifetime; in Langfuse's convention further buckets beside `input_cache_creation`. */
const CACHE_WRITE_TTL_KEYS = ['input_cache_creation_5m', 'input_cache_creation_1h'];
const REASONING_KEYS = ['output_reasoning', 'output_reasoning_tokens', 'reasoning_tokens'];
const TOTAL_KEYS = ['total', 'total_tokens', 'totalTokens'];
const KNOWN = new Set([
  ...INPUT_KEYS,
  ...OUTPUT_KEYS,
  ...CACHE_READ_KEYS,
  ...CACHE_WRITE_KEYS,
  ...CACHE_WRITE_TTL_KEYS,
  ...REASONING_KEYS,
  ...TOTAL_KEYS,
]);

/**
 * OpenAI usage objects (Chat Completions `prompt_tokens…`, Responses `input_tokens…` with
 * `*_tokens_details`) count cached input inside the input and reasoning inside the output.
 */
function openAiUsage(d: Record<string, unknown>): RawUsage | null {
  const chat = d.prompt_tokens !== undefined || d.completion_tokens !== undefined;
  const responses = isObject(d.input_tokens_details) || isObject(d.output_tokens_details);
  if (d.input !== undefined || d.output !== undefined || (!chat && !responses)) return null;
  const inDetails = (chat ? d.prompt_tokens_details : d.input_tokens_details) as unknown;
  const outDetails = (chat ? d.completion_tokens_details : d.output_tokens_details) as unknown;
  const inD = isObject(inDetails) ? inDetails : {};
  const outD = isObject(outDetails) ? outDetails : {};
  return {
    semantics: 'input-includes-cached',
    inputTokens: tokens(chat ? d.prompt_tokens : d.input_tokens),
    outputTokens: tokens(chat ? d.completion_tokens : d.output_tokens),
    cacheReadTokens: first(inD, ['cached_tokens', 'cache_read_tokens']) ?? first(d, CACHE_READ_KEYS),
    cacheWriteTokens: first(inD, ['cache_creation_tokens', 'cache_write_tokens']) ?? first(d, CACHE_WRITE_KEYS),
    reasoningTokens: first(outD, ['reasoning_tokens']) ?? first(d, REASONING_KEYS),
    totalTokens: tokens(d.total_tokens) ?? tokens(d.total),
  };
}

/**
 * Reads a Langfuse usage-details map into raw usage, or null when it holds no token count.
 *
 * Langfuse's own convention is that every key is a separate bucket: `input` excludes the
 * cached input (`input_cache_read`, `input_cached_tokens`, …) and `output` excludes
 * `output_reasoning…`; other `input_*` / `output_*` keys (audio, images) are further parts of
 * input and output. Not every client follows it (Langfuse's own v3 OpenAI wrapper sends the
 * inclusive `prompt_tokens` as `input`), so when the map carries `total`, the reading whose sum
 * equals it is taken. OpenAI usage objects are recognised by their key names and read as the
 * inclusive counts they are.
 *
 * `outputTokens` of the result includes reasoning tokens, as it does for every other source.
 */
export function langfuseUsageFromDetails(d: Record<string, unknown>): RawUsage | null {
  const openAi = openAiUsage(d);
  if (openAi) return hasAny(openAi) ? openAi : null;

  let input = first(d, INPUT_KEYS);
  let output = first(d, OUTPUT_KEYS);
  const cacheRead = first(d, CACHE_READ_KEYS);
  let cacheWrite = first(d, CACHE_WRITE_KEYS);
  for (const k of CACHE_WRITE_TTL_KEYS) {
    const n = tokens(d[k]);
    if (n !== null) cacheWrite = (cacheWrite ?? 0) + n;
  }
  const reasoning = first(d, REASONING_KEYS);
  const total = first(d, TOTAL_KEYS);
  // Further buckets (input_audio_tokens, output_image…) belong to input or output.
  let extraIn = 0;
  let extraOut = 0;
  for (const [k, v] of Object.entries(d)) {
    if (KNOWN.has(k)) continue;
    const n = tokens(v);
    if (n === null) continue;
    if (k.startsWith('input')) extraIn += n;
    else if (k.startsWith('output')) extraOut += n;
  }
  if (input === null && output === null && cacheRead === null && cacheWrite === null && reasoning === null) {
    if (total === null && extraIn === 0 && extraOut === 0) return null;
  }
  const i = input ?? 0;
  const o = output ?? 0;
  const cached = (cacheRead ?? 0) + (cacheWrite ?? 0);
  const r = reasoning ?? 0;
  // Which reading of input / output does `total` confirm? Langfuse's (both exclusive) first.
  let inputExcludes = true;
  let outputExcludes = true;
  if (total !== null) {
    const readings: Array<[boolean, boolean]> = [
      [true, true],
      [false, false],
      [true, false],
      [false, true],
    ];
    const match = readings.find(([ie, oe]) => i + extraIn + (ie ? cached : 0) + o + extraOut + (oe ? r : 0) === total);
    if (match) [inputExcludes, outputExcludes] = match;
  }
  if (input !== null || extraIn > 0) input = i + extraIn;
  if (output !== null || extraOut > 0) output = o + extraOut;
  if (outputExcludes && reasoning !== null && output !== null) output += reasoning;
  return {
    semantics: inputExcludes ? 'input-excludes-cached' : 'input-includes-cached',
    inputTokens: input,
    outputTokens: output,
    cacheReadTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: reasoning,
    totalTokens: total,
  };
}

function hasAny(u: RawUsage): boolean {
  return (
    u.inputTokens !== null ||
    u.outputTokens !== null ||
    u.cacheReadTokens !== null ||
    u.cacheWriteTokens !== null ||
    u.reasoningTokens !== null ||
    u.totalTokens !== null
  );
}

/**
 * The cost a Langfuse client reported, in USD: `total` of the cost-details map, else the sum of
 * its numeric parts. Null when absent or outside 0…1,000,000.
 */
export function langfuseCostFromDetails(d: Record<string, unknown>): number | null {
  let cost = finite(d.total);
  if (cost === null) {
    let sum: number | null = null;
    for (const v of Object.values(d)) {
      const n = finite(v);
      if (n !== null) sum = (sum ?? 0) + n;
    }
    cost = sum;
  }
  return cost !== null && cost >= 0 && cost <= MAX_COST_USD ? cost : null;
}
