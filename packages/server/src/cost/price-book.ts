/**
 * The price index. Built once from the catalogue, the user's entries and the model aliases,
 * then asked for a price on every ingested call. Lookups are memoised by provider, project and
 * model names, so the matchers (maps for exact names and prefixes, a regex list) run once per
 * distinct name, not once per call.
 *
 * Resolution order (docs/cost.md):
 * 1. layers: entries of the call's project, then global user entries, then the catalogue;
 * 2. within a layer, candidate names most specific first: response model, request model,
 *    canonical model — each tried as an alias target, as reported, without a `vendor/` path,
 *    without a Bedrock region prefix, with a compact snapshot date (20241022) written with dashes;
 * 3. within a user layer, exact before prefix (longest first) before regex (oldest entry first);
 *    the catalogue keeps its own order (first matching model), then its fallback providers;
 * 4. of the chosen entry, the newest version effective at the call's start time. An entry with
 *    no version effective then is skipped and resolution continues.
 */
import {
  inUtcWindow,
  type ModelMatch,
  type PriceBook,
  type PriceEntry,
  type PriceMatch,
  type PriceQuery,
} from '@reskpoints/core';
import type { CatalogueProvider } from './catalogue.js';

/** Maps a model name (an Azure deployment, an internal alias) to the model it serves. */
export interface ModelAlias {
  /** Null for a global alias; a project id for one project. */
  projectId: string | null;
  name: string;
  model: string;
}

export interface PriceBookInput {
  catalogue: CatalogueProvider[];
  /** Every version of every user entry (global and per project). */
  userEntries: PriceEntry[];
  aliases: ModelAlias[];
  /** Bound on memoised lookups; the memo is cleared when it is reached. Default 50,000. */
  memoMaxKeys?: number;
}

/** Provider names reported by instrumentations (OTel `gen_ai.provider.name`/`gen_ai.system`, LiteLLM) → catalogue id. */
const PROVIDER_ALIASES: Record<string, string> = {
  'az.ai.openai': 'azure',
  'azure.ai.openai': 'azure',
  'az.ai.inference': 'azure',
  'azure.ai.inference': 'azure',
  azure_openai: 'azure',
  azure_ai: 'azure',
  'aws.bedrock': 'aws',
  bedrock: 'aws',
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google',
  'gcp.gen_ai': 'google',
  vertex_ai: 'google',
  gemini: 'google',
  mistral_ai: 'mistral',
  mistralai: 'mistral',
  x_ai: 'x-ai',
  xai: 'x-ai',
};

const BEDROCK_REGION_PREFIX = /^(?:us|eu|apac|ap|global|us-gov|jp|au|ca)\.(?=[a-z0-9-]+\.)/;
const COMPACT_DATE = /-(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=-|:|@|$)/g;

type Predicate = (lowerName: string) => boolean;

function compileMatch(m: ModelMatch): Predicate {
  if (m.kind === 'exact') {
    const v = m.value.toLowerCase();
    return (n) => n === v;
  }
  if (m.kind === 'prefix') {
    const v = m.value.toLowerCase();
    return (n) => n.startsWith(v);
  }
  const re = new RegExp(m.pattern, 'i');
  return (n) => re.test(n);
}

interface Ranked {
  entry: PriceEntry;
  rank: number;
}

/** Specificity index over one layer of user entries. */
class SpecificityIndex {
  private readonly exact = new Map<string, Ranked[]>();
  private readonly prefix = new Map<string, Ranked[]>();
  private prefixLengths: number[] = [];
  private readonly regexes: { test: Predicate; ranked: Ranked }[] = [];

  constructor(entries: PriceEntry[]) {
    const lengths = new Set<number>();
    // Oldest entry first among regexes: order by the first version's effective date, then id.
    const regexOrder = new Map<string, number>();
    const byFirstSeen = [...entries].sort((a, b) => a.effectiveFromMs - b.effectiveFromMs || a.id.localeCompare(b.id));
    for (const e of byFirstSeen) if (!regexOrder.has(e.id)) regexOrder.set(e.id, regexOrder.size);
    for (const entry of entries) {
      for (const m of entry.match) {
        if (m.kind === 'exact') push(this.exact, m.value.toLowerCase(), { entry, rank: 0 });
        else if (m.kind === 'prefix') {
          const v = m.value.toLowerCase();
          lengths.add(v.length);
          push(this.prefix, v, { entry, rank: 1_000_000 - v.length });
        } else {
          let test: Predicate;
          try {
            test = compileMatch(m);
          } catch {
            continue; // validated at write time; an invalid stored pattern never matches
          }
          this.regexes.push({ test, ranked: { entry, rank: 2_000_000 + (regexOrder.get(entry.id) ?? 0) } });
        }
      }
    }
    this.prefixLengths = [...lengths].sort((a, b) => b - a);
  }

  /** Matching versions, most specific first, newest version first within an entry. */
  lookup(lowerName: string, providerOk: (p: string) => boolean): Ranked[] {
    const out: Ranked[] = [];
    const add = (list: Ranked[] | undefined): void => {
      if (list != null) for (const r of list) if (providerOk(r.entry.provider)) out.push(r);
    };
    add(this.exact.get(lowerName));
    for (const len of this.prefixLengths) if (len <= lowerName.length) add(this.prefix.get(lowerName.slice(0, len)));
    for (const r of this.regexes) if (providerOk(r.ranked.entry.provider) && r.test(lowerName)) out.push(r.ranked);
    return out.sort(
      (a, b) => a.rank - b.rank || a.entry.id.localeCompare(b.entry.id) || byWindowThenNewest(a.entry, b.entry),
    );
  }
}

function byWindowThenNewest(a: PriceEntry, b: PriceEntry): number {
  const aw = a.utcWindow == null ? 1 : 0;
  const bw = b.utcWindow == null ? 1 : 0;
  return aw - bw || b.effectiveFromMs - a.effectiveFromMs || versionNumber(b) - versionNumber(a);
}

/** User versions are numbered 1, 2, …; of two versions effective at the same instant the later one wins. */
function versionNumber(e: PriceEntry): number {
  const n = Number(e.version);
  return Number.isFinite(n) ? n : 0;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list == null) map.set(key, [value]);
  else list.push(value);
}

interface CatalogueModel {
  id: string;
  tests: Predicate[];
  /** Newest version first. */
  versions: PriceEntry[];
}

interface IndexedProvider {
  provider: CatalogueProvider;
  models: CatalogueModel[];
  providerTests: Predicate[];
  modelTests: Predicate[];
}

interface Candidate {
  entry: PriceEntry;
  matchedModel: string;
}

export class IndexedPriceBook implements PriceBook {
  private readonly providers = new Map<string, IndexedProvider>();
  private readonly providerOrder: IndexedProvider[] = [];
  private readonly globalIndex: SpecificityIndex;
  private readonly projectIndexes = new Map<string, SpecificityIndex>();
  private readonly globalAliases = new Map<string, string>();
  private readonly projectAliases = new Map<string, Map<string, string>>();
  private readonly memo = new Map<string, Candidate[]>();
  private readonly providerMemo = new Map<string, IndexedProvider | null>();
  private readonly memoMaxKeys: number;

  constructor(input: PriceBookInput) {
    this.memoMaxKeys = input.memoMaxKeys ?? 50_000;
    for (const p of input.catalogue) {
      const models = new Map<string, CatalogueModel>();
      for (const e of p.entries) {
        let m = models.get(e.id);
        if (m == null) {
          m = { id: e.id, tests: e.match.map(compileMatch), versions: [] };
          models.set(e.id, m);
        }
        m.versions.push(e);
      }
      // Windowed (peak-hour) versions first: inside their window they win, as in the catalogue.
      for (const m of models.values()) m.versions.sort(byWindowThenNewest);
      const indexed: IndexedProvider = {
        provider: p,
        models: [...models.values()],
        providerTests: p.providerMatch.map(compileMatch),
        modelTests: p.modelMatch.map(compileMatch),
      };
      this.providers.set(p.id, indexed);
      this.providerOrder.push(indexed);
    }
    const global: PriceEntry[] = [];
    const byProject = new Map<string, PriceEntry[]>();
    for (const e of input.userEntries) {
      if (e.projectId == null) global.push(e);
      else push(byProject, e.projectId, e);
    }
    this.globalIndex = new SpecificityIndex(global);
    for (const [projectId, entries] of byProject) this.projectIndexes.set(projectId, new SpecificityIndex(entries));
    for (const a of input.aliases) {
      const target = a.projectId == null ? this.globalAliases : getOrCreate(this.projectAliases, a.projectId);
      target.set(a.name.toLowerCase(), a.model);
    }
  }

  find(query: PriceQuery): PriceMatch | null {
    const key = `${query.projectId}\u0001${query.provider}\u0001${query.models.join('\u0002')}`;
    let candidates = this.memo.get(key);
    if (candidates == null) {
      if (this.memo.size >= this.memoMaxKeys) this.memo.clear();
      candidates = this.resolve(query);
      this.memo.set(key, candidates);
    }
    for (const c of candidates) {
      if (c.entry.effectiveFromMs <= query.atMs && inUtcWindow(c.entry, query.atMs))
        return { entry: c.entry, matchedModel: c.matchedModel };
    }
    return null;
  }

  /** The catalogue provider a reported provider name means, or null when unknown. */
  catalogueProvider(reported: string): CatalogueProvider | null {
    return this.indexedProvider(reported)?.provider ?? null;
  }

  /** Candidate names for a query, most specific first (see the module comment). */
  expandNames(projectId: string, models: string[]): string[] {
    const out: string[] = [];
    const add = (n: string | undefined): void => {
      if (n == null) return;
      const v = n.trim().toLowerCase();
      if (v !== '' && !out.includes(v)) out.push(v);
    };
    const projectAliases = this.projectAliases.get(projectId);
    const alias = (n: string): string | undefined =>
      projectAliases?.get(n.toLowerCase()) ?? this.globalAliases.get(n.toLowerCase());
    for (const reported of models) {
      const base = reported.trim();
      const tail = base.includes('/') ? base.slice(base.lastIndexOf('/') + 1) : null;
      add(alias(base));
      if (tail != null) add(alias(tail));
      add(base);
      if (tail != null) add(tail);
      const unregioned = (tail ?? base).toLowerCase().replace(BEDROCK_REGION_PREFIX, '');
      add(unregioned);
      add(unregioned.replace(COMPACT_DATE, '-$1-$2-$3'));
    }
    return out;
  }

  private indexedProvider(reported: string): IndexedProvider | null {
    const lower = reported.trim().toLowerCase();
    const known = this.providerMemo.get(lower);
    if (known !== undefined) return known;
    let found: IndexedProvider | null = this.providers.get(PROVIDER_ALIASES[lower] ?? lower) ?? null;
    if (found == null) found = this.providerOrder.find((p) => p.providerTests.some((t) => t(lower))) ?? null;
    this.providerMemo.set(lower, found);
    return found;
  }

  private resolve(query: PriceQuery): Candidate[] {
    const names = this.expandNames(query.projectId, query.models);
    const provider = this.indexedProvider(query.provider);
    const providerKeys = new Set<string>(['*', query.provider.trim().toLowerCase()]);
    if (provider != null) {
      providerKeys.add(provider.provider.id);
      for (const f of provider.provider.fallbackProviders) providerKeys.add(f);
    }
    const providerOk = (p: string): boolean => providerKeys.has(p.toLowerCase());
    const out: Candidate[] = [];
    const layers: SpecificityIndex[] = [];
    const projectIndex = this.projectIndexes.get(query.projectId);
    if (projectIndex != null) layers.push(projectIndex);
    layers.push(this.globalIndex);
    for (const layer of layers) {
      for (const name of names) {
        for (const r of layer.lookup(name, providerOk)) out.push({ entry: r.entry, matchedModel: name });
      }
    }
    for (const name of names) {
      const model = this.catalogueModel(provider, name);
      if (model != null) for (const v of model.versions) out.push({ entry: v, matchedModel: name });
    }
    return out;
  }

  private catalogueModel(provider: IndexedProvider | null, name: string): CatalogueModel | null {
    if (provider != null) {
      const own = firstMatch(provider, name);
      if (own != null) return own;
      for (const f of provider.provider.fallbackProviders) {
        const fp = this.providers.get(f);
        const m = fp == null ? null : firstMatch(fp, name);
        if (m != null) return m;
      }
      return null;
    }
    // Provider unknown: the first catalogue provider whose model names look like this one.
    for (const p of this.providerOrder) {
      if (p.modelTests.some((t) => t(name))) {
        const m = firstMatch(p, name);
        if (m != null) return m;
      }
    }
    return null;
  }
}

function firstMatch(p: IndexedProvider, name: string): CatalogueModel | null {
  for (const m of p.models) if (m.tests.some((t) => t(name))) return m;
  return null;
}

function getOrCreate<K, V>(map: Map<K, Map<string, V>>, key: K): Map<string, V> {
  let m = map.get(key);
  if (m == null) {
    m = new Map();
    map.set(key, m);
  }
  return m;
}
