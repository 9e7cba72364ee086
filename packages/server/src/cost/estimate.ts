/**
 * Token estimates for calls whose source reported no usage, counted from the stored prompt
 * and response excerpts with `js-tiktoken` (its BPE ranks ship inside the npm package, so this
 * works offline). OpenAI's current models use o200k_base and older ones cl100k_base; other
 * providers' tokenizers are not published for offline use, so their counts are cl100k_base
 * counts — an approximation, documented in docs/cost.md. Excerpts are capped at ingest
 * (`ingest.excerptMaxChars`); an estimate from a cut excerpt is a lower bound.
 */
import { createRequire } from 'node:module';
import type { CostCall, Usage } from '@reskpoints/core';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';

export type EncodingName = 'o200k_base' | 'cl100k_base';

const requireCjs = createRequire(import.meta.url);
const encoders = new Map<EncodingName, Tiktoken>();

/** Loads an encoding on first use (o200k_base takes about a second to load). */
function encoder(name: EncodingName): Tiktoken {
  let enc = encoders.get(name);
  if (enc == null) {
    const ranks = requireCjs(`js-tiktoken/ranks/${name}`) as TiktokenBPE | { default: TiktokenBPE };
    enc = new Tiktoken('default' in ranks ? ranks.default : ranks);
    encoders.set(name, enc);
  }
  return enc;
}

const O200K_MODELS = /^(?:[a-z0-9_-]+\/)?(?:gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|chatgpt-4o|o1|o3|o4|codex)/i;

/** The encoding used for a model name. */
export function encodingFor(model: string): EncodingName {
  return O200K_MODELS.test(model.trim()) ? 'o200k_base' : 'cl100k_base';
}

/** Longest run without whitespace that goes through the tokenizer. */
const MAX_RUN_CHARS = 32;
const LONG_RUN = new RegExp(`\\S{${MAX_RUN_CHARS + 1},}`, 'g');

export function countTokens(text: string, encoding: EncodingName): number {
  if (text === '') return 0;
  const enc = encoder(encoding);
  // BPE merging in js-tiktoken slows down sharply on long runs without whitespace: 500
  // repeated letters took 52 ms, against 0.4 ms for 500 characters of prose, and a client
  // controls what its excerpts hold. Such runs (base64, hashes, repeated characters) are
  // counted as one token per 4 characters instead, the usual ratio of OpenAI's tokenizers.
  let long = 0;
  const rest = text.replace(LONG_RUN, (run) => {
    long += Math.ceil(run.length / 4);
    return ' ';
  });
  return long + (rest.trim() === '' ? 0 : enc.encode(rest, 'all').length);
}

/** Estimated usage from the excerpts, or null when the call has no excerpt to count. */
export function estimateUsage(
  call: Pick<CostCall, 'model' | 'requestModel' | 'promptExcerpt' | 'responseExcerpt'>,
): Usage | null {
  if (call.promptExcerpt == null && call.responseExcerpt == null) return null;
  const encoding = encodingFor(call.model !== '' && call.model !== 'unknown' ? call.model : (call.requestModel ?? ''));
  const inputTokens = call.promptExcerpt == null ? 0 : countTokens(call.promptExcerpt, encoding);
  const outputTokens = call.responseExcerpt == null ? 0 : countTokens(call.responseExcerpt, encoding);
  return {
    inputTokens,
    outputTokens,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    totalTokens: inputTokens + outputTokens,
  };
}
