/**
 * Cost engine throughput, single thread. Run: npx tsx bench/cost.ts
 *
 * Prices a rotating mix of calls (OpenAI, Anthropic, Gemini, Bedrock, Azure, Mistral, DeepSeek,
 * xAI, Groq names, dated snapshots, cached and reasoning tokens, context and service tiers,
 * unknown models, three projects with overrides) against the full built-in catalogue.
 * Prints, one line each:
 * - warm priceCall rate (names already seen: the steady state of ingest), calls/s per CPU-second
 *   and µs per call;
 * - cold lookups (every call a never-seen name, so the matchers run), lookups/s;
 * - the book build time (catalogue conversion + index).
 * Ingest spends ~12–15 µs of server CPU per event (docs/benchmarks.md); pricing keeps ingest
 * at ≥90% of its throughput while it costs ≤10% of that.
 */
import { type CostCall, emptyRawUsage, normaliseUsage, type PriceEntry, priceCall } from '@reskpoints/core';
import { loadCatalogue } from '../packages/server/src/cost/catalogue.js';
import { IndexedPriceBook } from '../packages/server/src/cost/price-book.js';

const RUN_MS = 2000;

const names: [string, string][] = [
  ['openai', 'gpt-4o-2024-08-06'],
  ['openai', 'gpt-4o-mini'],
  ['openai', 'o3-2025-04-16'],
  ['openai', 'gpt-4.1-2025-04-14'],
  ['anthropic', 'claude-sonnet-4-20250514'],
  ['anthropic', 'claude-3-5-haiku-20241022'],
  ['gcp.gemini', 'gemini-2.5-pro'],
  ['gcp.vertex_ai', 'gemini-2.0-flash-001'],
  ['aws.bedrock', 'us.anthropic.claude-3-5-sonnet-20241022-v2:0'],
  ['az.ai.openai', 'prod-chat'],
  ['mistral_ai', 'mistral-large-latest'],
  ['deepseek', 'deepseek-chat'],
  ['xai', 'grok-3'],
  ['groq', 'llama-3.3-70b-versatile'],
  ['acme', 'in-house-llm'],
];

function makeCall(i: number, model?: string): CostCall {
  const [provider, name] = names[i % names.length] as [string, string];
  const raw = {
    ...emptyRawUsage('input-includes-cached' as const),
    inputTokens: 1_000 + (i % 300_000),
    outputTokens: 200 + (i % 5_000),
    cacheReadTokens: i % 3 === 0 ? 500 : 0,
    reasoningTokens: i % 5 === 0 ? 100 : 0,
  };
  return {
    provider,
    model: model ?? name,
    requestModel: null,
    startTimeMs: Date.UTC(2026, 10, 1) + i * 1000,
    usageRaw: raw,
    usage: normaliseUsage(raw),
    metadata: i % 7 === 0 ? { 'openai.request.service_tier': 'flex' } : {},
    projectId: `prj_${i % 3}`,
    promptExcerpt: null,
    responseExcerpt: null,
    operation: 'chat',
  };
}

const override = (projectId: string | null, prefix: string): PriceEntry => ({
  id: `override-${projectId ?? 'global'}-${prefix}`,
  version: '1',
  provider: '*',
  match: [{ kind: 'prefix', value: prefix }],
  effectiveFromMs: 0,
  projectId,
  origin: 'user',
  rates: {
    inputPerMtokUsd: 1,
    outputPerMtokUsd: 2,
    cacheReadPerMtokUsd: null,
    cacheWritePerMtokUsd: null,
    cacheWrite1hPerMtokUsd: null,
    reasoningPerMtokUsd: null,
    requestUsd: 0,
  },
  contextTiers: [],
  serviceTiers: {},
});

const t0 = performance.now();
const catalogue = loadCatalogue();
const book = new IndexedPriceBook({
  catalogue,
  userEntries: [override('prj_1', 'gpt-4o-mini'), override(null, 'in-house'), override('prj_2', 'claude-3-5-haiku')],
  aliases: [{ projectId: null, name: 'prod-chat', model: 'gpt-4o-2024-11-20' }],
});
const buildMs = performance.now() - t0;
const catalogueModels = new Set(catalogue.flatMap((p) => p.entries.map((e) => e.id))).size;

function measure(label: string, unit: string, prepare: (n: number) => CostCall[]): void {
  const calls = prepare(4096);
  let sink = 0;
  for (let k = 0; k < 20_000; k++) sink += priceCall(calls[k % calls.length] as CostCall, book).totalUsd ?? 0; // warm-up
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  let batch = calls;
  while (elapsed < RUN_MS) {
    for (const c of batch) sink += priceCall(c, book).totalUsd ?? 0;
    n += batch.length;
    elapsed = performance.now() - start;
    if (unit === 'lookups/s') batch = prepare(4096); // fresh, never-seen names
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const perCpuSecond = Math.round((n / cpuMs) * 1000);
  console.log(
    `cost ${label}: ${perCpuSecond.toLocaleString('en-US')} ${unit} per CPU-second (${((cpuMs * 1000) / n).toFixed(3)} µs each; wall clock ${Math.round((n / elapsed) * 1000).toLocaleString('en-US')}/s; checksum ${sink > 0 ? 'ok' : 'zero'})`,
  );
}

let fresh = 0;
measure('priceCall warm', 'calls/s', (n) => Array.from({ length: n }, (_, i) => makeCall(i)));
// Cold: distinct dated names the memo has never seen (e.g. a new snapshot every call).
measure('priceCall cold', 'lookups/s', (n) =>
  Array.from({ length: n }, (_, i) => {
    fresh++;
    const c = makeCall(i);
    return { ...c, model: `${c.model}-x${fresh}` };
  }),
);
console.log(
  `cost book build: ${buildMs.toFixed(0)} ms (${catalogueModels} catalogue models, ${catalogue.reduce((s, p) => s + p.entries.length, 0)} entry versions)`,
);
