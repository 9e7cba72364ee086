import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { calcPrice } from '@pydantic/genai-prices';
import { emptyRawUsage, normaliseUsage, priceCall } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { CATALOGUE_PROVIDERS, CATALOGUE_SOURCE, convertMatch, loadCatalogue } from './catalogue.js';
import { IndexedPriceBook } from './price-book.js';

const catalogue = loadCatalogue();
const book = new IndexedPriceBook({ catalogue, userEntries: [], aliases: [] });

/** Names the catalogue itself spells out (exact names and prefixes) for every model. */
function sampleNames(): { provider: string; name: string }[] {
  const out: { provider: string; name: string }[] = [];
  for (const p of catalogue) {
    const seen = new Set<string>();
    for (const e of p.entries) {
      for (const m of e.match) {
        if (m.kind === 'regex') continue;
        if (!seen.has(m.value)) {
          seen.add(m.value);
          out.push({ provider: p.id, name: m.value });
        }
      }
    }
  }
  return out;
}

describe('the built-in catalogue', () => {
  it('loads every listed provider with hundreds of models', () => {
    expect(catalogue.map((p) => p.id)).toEqual([...CATALOGUE_PROVIDERS]);
    const models = new Set(catalogue.flatMap((p) => p.entries.map((e) => e.id)));
    expect(models.size).toBeGreaterThan(400);
  });

  it('names the installed catalogue release in every price version', () => {
    // The package exports only its entry point; find its package.json next to it.
    const entry = createRequire(import.meta.url).resolve('@pydantic/genai-prices');
    const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
    expect(CATALOGUE_SOURCE).toBe(`genai-prices@${pkg.version}`);
  });

  it('converts match expressions with the catalogue semantics', () => {
    expect(convertMatch({ or: [{ equals: 'GPT-4o' }, { starts_with: 'gpt-4o-2024' }] })).toEqual([
      { kind: 'exact', value: 'gpt-4o' },
      { kind: 'prefix', value: 'gpt-4o-2024' },
    ]);
    const [m] = convertMatch({ and: [{ starts_with: 'gemini-2.5-pro' }, { regex: '^(?!.*-tts)' }] });
    const re = new RegExp((m as { pattern: string }).pattern, 'i');
    expect(re.test('gemini-2.5-pro-preview')).toBe(true);
    expect(re.test('gemini-2.5-pro-preview-tts')).toBe(false);
    expect(re.test('x-gemini-2.5-pro')).toBe(false);
    const [c] = convertMatch({ contains: 'claude-3-5-sonnet' });
    expect(new RegExp((c as { pattern: string }).pattern, 'i').test('us.anthropic.claude-3-5-sonnet-v2:0')).toBe(true);
  });

  // The catalogue's own calculator is the oracle: the same name, time and usage must resolve
  // to the same model and the same price in ReskPoints' index.
  it.each([
    ['2025-01-15T12:00:00Z', 1_000, 500, 0, 0],
    ['2026-11-20T03:00:00Z', 250_000, 2_000, 100_000, 20_000],
    ['2026-11-20T13:00:00Z', 300_000, 1_000, 0, 0],
  ])('agrees with genai-prices on every named model (%s, %i input)', (at, input, output, cacheRead, cacheWrite) => {
    const atMs = Date.parse(at);
    let compared = 0;
    const disagreements: string[] = [];
    for (const { provider, name } of sampleNames()) {
      const oracle = calcPrice(
        { input_tokens: input, output_tokens: output, cache_read_tokens: cacheRead, cache_write_tokens: cacheWrite },
        name,
        { providerId: provider, timestamp: new Date(atMs) },
      );
      const match = book.find({ provider, models: [name], atMs, projectId: 'p' });
      if (oracle == null) {
        if (match != null && match.entry.provider === provider) disagreements.push(`${provider} ${name}: only ours`);
        continue;
      }
      const oracleId = `${oracle.provider.id}/${oracle.model.id}`;
      const raw = {
        ...emptyRawUsage('input-includes-cached'),
        inputTokens: input,
        outputTokens: output,
        cacheReadTokens: cacheRead,
        cacheWriteTokens: cacheWrite,
      };
      const cost = priceCall(
        {
          provider,
          model: name,
          requestModel: null,
          startTimeMs: atMs,
          usageRaw: raw,
          usage: normaliseUsage(raw),
          metadata: {},
          projectId: 'p',
          promptExcerpt: null,
          responseExcerpt: null,
          operation: 'chat',
        },
        book,
      );
      // Models priced in units the engine does not bill (audio seconds, pages) are absent from ours.
      const tokenPriced = oracle.model_price['input_mtok'] != null || oracle.model_price['output_mtok'] != null;
      if (!tokenPriced) continue;
      compared++;
      if (match?.entry.id !== oracleId) disagreements.push(`${provider} ${name}: ${match?.entry.id} vs ${oracleId}`);
      else if (Math.abs((cost.totalUsd ?? -1) - oracle.total_price) > 1e-9)
        disagreements.push(`${provider} ${name}: $${cost.totalUsd} vs $${oracle.total_price}`);
    }
    expect(compared).toBeGreaterThan(500);
    expect(disagreements).toEqual([]);
  });
});
