/**
 * Canonical model names: the name calls are grouped under. Providers report the model twice
 * and differently: the request names an alias (`gpt-4o-mini`), a successful response names
 * the dated snapshot that answered (`gpt-4o-mini-2024-07-18`), and a failed call has no
 * response at all. Grouping by either reported name splits one model in two (a failed call
 * under the alias, its successful siblings under the snapshot), so error rates per model read
 * 100% and 1%. The canonical name drops what varies between those spellings — snapshot dates,
 * deployment prefixes, version tags — and keeps what names the model.
 *
 * Pure and browser-safe. Case is kept: providers report lower case, and a user's own name for
 * a fine-tuned or local model is theirs.
 */

/** Prefixes naming where a model is served rather than which model it is (`azure/gpt-4o`, `models/gemini-…`). */
const ROUTE_PREFIX =
  /^(?:azure|azure_ai|openai|anthropic|bedrock|vertex_ai|vertex|gemini|google|models|mistral|groq|together_ai|fireworks_ai|deepseek|xai)\//;

/** Bedrock cross-region inference profiles put a geography before the vendor (`us.anthropic.…`). */
const BEDROCK_REGION = /^(?:us|eu|apac|us-gov|global|jp|au|ca)\./;

/** Bedrock model ids start with the vendor (`anthropic.claude-…`, `meta.llama3-…`). */
const BEDROCK_VENDOR =
  /^(?:anthropic|amazon|meta|cohere|ai21|mistral|deepseek|openai|qwen|writer|stability|twelvelabs|luma)\./;

/** Bedrock's model version tag (`-v1:0`, `-v2:0`); a bare `-v1` is part of some names (`titan-embed-text-v1`). */
const BEDROCK_VERSION = /-v\d+:\d+$/;

/** Gemini's stable version pins (`gemini-1.5-pro-002` answers requests for `gemini-1.5-pro`). */
const GEMINI_VERSION = /^(gemini-.+)-0\d\d$/;

/** `:latest` (Ollama) and `-latest` (Anthropic, Mistral aliases). */
const LATEST = /[-:]latest$/;

/** `-2024-07-18` (OpenAI). */
const ISO_DATE = /-(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$/;

/** `-20241022` (Anthropic), `@20241022` (Vertex). */
const COMPACT_DATE = /[-@](?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$/;

/** `-08-2024` (Cohere). */
const MONTH_YEAR = /-(?:0[1-9]|1[0-2])-20\d\d$/;

/** `-0613`, `-0125` (older OpenAI snapshots, month and day). */
const MONTH_DAY = /-(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$/;

/** `-2411` (Mistral snapshots, year and month). */
const YEAR_MONTH = /-2\d(?:0[1-9]|1[0-2])$/;

/** `@001` and other Vertex version pins that are not dates. */
const VERTEX_VERSION = /@[\w.-]+$/;

/**
 * The name calls of `model` are grouped under. Idempotent: canonicalising a canonical name
 * returns it unchanged. An empty or whitespace-only name stays as given.
 */
export function canonicalModelName(model: string): string {
  let name = model.trim();
  if (name === '') return model;
  // An ARN (Bedrock inference profile or provisioned model) ends in the model id.
  if (name.startsWith('arn:')) name = name.slice(name.lastIndexOf('/') + 1);
  name = name.replace(ROUTE_PREFIX, '');
  const bedrock = BEDROCK_VENDOR.test(name.replace(BEDROCK_REGION, ''));
  if (bedrock) {
    name = name.replace(BEDROCK_REGION, '').replace(BEDROCK_VENDOR, '').replace(BEDROCK_VERSION, '');
  }
  name = name.replace(LATEST, '');
  const undated = name
    .replace(ISO_DATE, '')
    .replace(COMPACT_DATE, '')
    .replace(MONTH_YEAR, '')
    .replace(VERTEX_VERSION, '');
  name = undated !== name ? undated : name.replace(MONTH_DAY, '').replace(YEAR_MONTH, '');
  name = name.replace(GEMINI_VERSION, '$1');
  // Never strip a name down to nothing (`models/` alone, a bare date).
  return name === '' ? model.trim() : name;
}
