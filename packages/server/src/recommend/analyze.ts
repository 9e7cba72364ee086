/**
 * Savings recommendations, token efficiency, cost per user, session and outcome, and the
 * chargeback of shared spend, all computed from stored calls and the price book. Pure functions:
 * the calls and the book are passed in.
 *
 * Every amount is in USD over the analysed range, then scaled to a 30-day month
 * (`× 30 days / range`). Unpriced calls count as $0 (and are counted).
 */
import { costOfUsage, type LlmCall, type PriceBook, type PriceRates } from '@reskpoints/core';

export const DAY_MS = 86_400_000;
export const MONTH_DAYS = 30;
/** Characters per token when a prompt prefix is measured on its stored excerpt (English text: ~4). */
export const CHARS_PER_TOKEN = 4;
/** Metadata keys that carry a call's max_tokens, in order of preference. */
export const MAX_TOKENS_KEYS = ['gen_ai.request.max_tokens', 'max_tokens', 'maxTokens', 'llm.request.max_tokens'];

export interface RecommendOptions {
  fromMs: number;
  toMs: number;
  /** Short prompts: at most this many input tokens … */
  shortInputTokens: number;
  /** … and at most this many output tokens. */
  shortOutputTokens: number;
  /** Model → cheaper model with which short prompts are priced. */
  downgrades: Readonly<Record<string, string>>;
  /** Calls sharing a prompt prefix of at least this many characters … */
  minPrefixChars: number;
  /** … at least this many times, without cache reads, are a caching candidate. */
  minPrefixRepeats: number;
  /** An identical request within this long after the previous one is a duplicate. */
  duplicateWindowMs: number;
  /** A failed call followed by the same request within this long was retried. */
  retryWindowMs: number;
  /** Tags starting with this name an outcome (`outcome:resolved`). */
  outcomeTagPrefix: string;
  /** Rows per cost-per list. */
  limit: number;
}

export type RecommendationKind =
  | 'cheaper-model'
  | 'prompt-caching'
  | 'errors'
  | 'truncated-completions'
  | 'duplicate-requests';

export interface Recommendation {
  kind: RecommendationKind;
  projectId: string;
  model: string | null;
  title: string;
  detail: string;
  /** What following it saves per 30-day month, USD. */
  savingsUsdPerMonth: number;
  /** Spend per month of the calls it is about, USD. */
  affectedUsdPerMonth: number;
  /** Calls in the analysed range it is about. */
  calls: number;
  evidence: Record<string, string | number>;
}

export interface EfficiencyDriver {
  kind: RecommendationKind;
  usdPerMonth: number;
  /** Share of the project's spend. */
  shareOfSpend: number;
}

export interface ProjectEfficiency {
  projectId: string;
  /** 0–100: the share of spend not lost to the findings (100 = nothing found). */
  score: number;
  spendUsdPerMonth: number;
  wasteUsdPerMonth: number;
  drivers: EfficiencyDriver[];
  calls: number;
  /** Cache reads / input tokens. */
  cacheHitRate: number;
  /** Output tokens / input tokens. */
  outputInputRatio: number;
  errorRate: number;
}

export interface CostPerRow {
  key: string;
  costUsd: number;
  calls: number;
  sessions: number;
  /** costUsd / calls. */
  costPerCallUsd: number;
}

export interface OutcomeRow {
  outcome: string;
  /** Cost of every call of the sessions that reached the outcome (a call without a session is its own). */
  costUsd: number;
  /** Sessions (or session-less calls) that reached it. */
  outcomes: number;
  costPerOutcomeUsd: number;
}

export interface RecommendationReport {
  fromMs: number;
  toMs: number;
  /** 30 days / the range: what turns range amounts into monthly ones. */
  monthFactor: number;
  callsAnalyzed: number;
  unpricedCalls: number;
  /** More calls matched than were read (recommend.maxCalls): amounts cover the newest ones. */
  truncated: boolean;
  totalSpendUsd: number;
  recommendations: Recommendation[];
  notes: string[];
  efficiency: ProjectEfficiency[];
  costPerUser: CostPerRow[];
  costPerSession: (CostPerRow & { userId: string | null })[];
  costPerOutcome: OutcomeRow[];
}

const usd = (c: LlmCall) => c.cost.totalUsd ?? 0;
const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
const money = (n: number) => `$${n.toFixed(2)}`;

function ratesOf(book: PriceBook, provider: string, model: string, projectId: string, atMs: number, input: number) {
  const match = book.find({ provider, models: [model], atMs, projectId });
  if (match == null) return null;
  let rates: PriceRates = match.entry.rates;
  for (const t of match.entry.contextTiers) if (input > t.aboveInputTokens) rates = t.rates;
  return { rates, matchedModel: match.matchedModel };
}

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

export function maxTokensOf(call: LlmCall): number | null {
  for (const k of MAX_TOKENS_KEYS) {
    const v = call.metadata[k];
    if (v === undefined) continue;
    const n = Number(v);
    if (Number.isInteger(n) && n > 0) return n;
  }
  return null;
}

/** The identity of a request for duplicate and retry detection. */
const requestKey = (c: LlmCall) => `${c.projectId}\u0000${c.model}\u0000${c.promptExcerpt ?? ''}`;

export function analyzeCalls(
  calls: readonly LlmCall[],
  book: PriceBook,
  opts: RecommendOptions,
  truncated = false,
): RecommendationReport {
  const monthFactor = (MONTH_DAYS * DAY_MS) / (opts.toMs - opts.fromMs);
  const perMonth = (n: number) => round6(n * monthFactor);
  const recs: Recommendation[] = [];
  const notes: string[] = [];
  // Oldest first: duplicates and retries look back in time.
  const sorted = [...calls].sort((a, b) => a.startTimeMs - b.startTimeMs || a.id.localeCompare(b.id));

  // ---- Duplicate requests: an identical prompt to the same model soon after the previous one.
  const duplicates = new Set<string>();
  const lastSeen = new Map<string, number>();
  const dupByProjectModel = new Map<string, { projectId: string; model: string; calls: number; usd: number }>();
  for (const c of sorted) {
    if (c.status !== 'ok' || !c.promptExcerpt) continue;
    const k = requestKey(c);
    const prev = lastSeen.get(k);
    lastSeen.set(k, c.startTimeMs);
    if (prev === undefined || c.startTimeMs - prev > opts.duplicateWindowMs) continue;
    duplicates.add(c.id + c.projectId);
    const g = `${c.projectId}\u0000${c.model}`;
    const e = dupByProjectModel.get(g) ?? { projectId: c.projectId, model: c.model, calls: 0, usd: 0 };
    e.calls++;
    e.usd += usd(c);
    dupByProjectModel.set(g, e);
  }
  for (const e of dupByProjectModel.values()) {
    if (e.usd <= 0) continue;
    recs.push({
      kind: 'duplicate-requests',
      projectId: e.projectId,
      model: e.model,
      title: `Cache responses to identical ${e.model} requests in project ${e.projectId}`,
      detail: `${e.calls} calls repeated an identical prompt within ${Math.round(opts.duplicateWindowMs / 60_000)} minutes of the previous one; serving them from a response cache saves their whole cost.`,
      savingsUsdPerMonth: perMonth(e.usd),
      affectedUsdPerMonth: perMonth(e.usd),
      calls: e.calls,
      evidence: { duplicateCalls: e.calls, duplicateSpendUsd: round6(e.usd) },
    });
  }
  const isDuplicate = (c: LlmCall) => duplicates.has(c.id + c.projectId);

  // ---- Expensive model for short prompts: the same tokens at the cheaper model's price.
  const short = new Map<
    string,
    { projectId: string; model: string; target: string; calls: number; usd: number; candidateUsd: number }
  >();
  for (const c of sorted) {
    const target = opts.downgrades[c.model];
    if (target === undefined || c.status !== 'ok' || c.cost.totalUsd == null || isDuplicate(c)) continue;
    if (c.usage.inputTokens > opts.shortInputTokens || c.usage.outputTokens > opts.shortOutputTokens) continue;
    const r = ratesOf(book, c.provider, target, c.projectId, c.startTimeMs, c.usage.inputTokens);
    if (r == null) continue;
    const g = `${c.projectId}\u0000${c.model}`;
    const e = short.get(g) ?? { projectId: c.projectId, model: c.model, target, calls: 0, usd: 0, candidateUsd: 0 };
    e.calls++;
    e.usd += usd(c);
    e.candidateUsd += costOfUsage(c.usage, r.rates).totalUsd ?? 0;
    short.set(g, e);
  }
  for (const e of short.values()) {
    const saving = e.usd - e.candidateUsd;
    if (saving <= 0) continue;
    recs.push({
      kind: 'cheaper-model',
      projectId: e.projectId,
      model: e.model,
      title: `Use ${e.target} instead of ${e.model} for short prompts in project ${e.projectId}`,
      detail: `${e.calls} calls with at most ${opts.shortInputTokens} input and ${opts.shortOutputTokens} output tokens cost ${money(perMonth(e.usd))} a month on ${e.model}; the same tokens on ${e.target} would cost ${money(perMonth(e.candidateUsd))}.`,
      savingsUsdPerMonth: perMonth(saving),
      affectedUsdPerMonth: perMonth(e.usd),
      calls: e.calls,
      evidence: {
        candidateModel: e.target,
        currentSpendUsd: round6(e.usd),
        candidateSpendUsd: round6(e.candidateUsd),
      },
    });
  }

  // ---- Repeated prompt prefixes without cache reads: the prefix at the cache-read price.
  const prefixGroups = new Map<string, LlmCall[]>();
  for (const c of sorted) {
    if (c.status !== 'ok' || isDuplicate(c) || c.usage.cacheReadTokens > 0) continue;
    const p = c.promptExcerpt;
    if (p == null || p.length < opts.minPrefixChars) continue;
    const g = `${c.projectId}\u0000${c.provider}\u0000${c.model}\u0000${p.slice(0, opts.minPrefixChars)}`;
    const list = prefixGroups.get(g);
    if (list) list.push(c);
    else prefixGroups.set(g, [c]);
  }
  const caching = new Map<
    string,
    { projectId: string; model: string; calls: number; usd: number; saving: number; prefixTokens: number }
  >();
  for (const group of prefixGroups.values()) {
    if (group.length < opts.minPrefixRepeats) continue;
    const first = group[0] as LlmCall;
    let prefixChars = (first.promptExcerpt as string).length;
    for (const c of group)
      prefixChars = Math.min(prefixChars, commonPrefixLength(first.promptExcerpt as string, c.promptExcerpt as string));
    const prefixTokensEstimate = Math.floor(prefixChars / CHARS_PER_TOKEN);
    let saving = 0;
    let spend = 0;
    let tokens = 0;
    group.forEach((c, i) => {
      const r = ratesOf(book, c.provider, c.model, c.projectId, c.startTimeMs, c.usage.inputTokens);
      const cacheRead = r?.rates.cacheReadPerMtokUsd;
      if (r == null || cacheRead == null) return;
      const prefixTokens = Math.min(c.usage.inputTokens, prefixTokensEstimate);
      spend += usd(c);
      tokens = Math.max(tokens, prefixTokens);
      // Every call after the first reads the prefix from the cache; the first writes it.
      if (i > 0) saving += (prefixTokens * (r.rates.inputPerMtokUsd - cacheRead)) / 1e6;
      else
        saving -=
          (prefixTokens *
            Math.max(0, (r.rates.cacheWritePerMtokUsd ?? r.rates.inputPerMtokUsd) - r.rates.inputPerMtokUsd)) /
          1e6;
    });
    if (saving <= 0) continue;
    const g = `${first.projectId}\u0000${first.model}`;
    const e = caching.get(g) ?? {
      projectId: first.projectId,
      model: first.model,
      calls: 0,
      usd: 0,
      saving: 0,
      prefixTokens: 0,
    };
    e.calls += group.length;
    e.usd += spend;
    e.saving += saving;
    e.prefixTokens = Math.max(e.prefixTokens, tokens);
    caching.set(g, e);
  }
  for (const e of caching.values()) {
    recs.push({
      kind: 'prompt-caching',
      projectId: e.projectId,
      model: e.model,
      title: `Enable prompt caching for repeated prompt prefixes on ${e.model} in project ${e.projectId}`,
      detail: `${e.calls} calls start with the same prompt prefix (about ${e.prefixTokens} tokens, measured on the stored excerpts at ${CHARS_PER_TOKEN} characters a token) and read nothing from the provider's cache; reading the prefix at the cache-read price instead of the input price saves this (net of one cache write per prefix).`,
      savingsUsdPerMonth: perMonth(e.saving),
      affectedUsdPerMonth: perMonth(e.usd),
      calls: e.calls,
      evidence: { prefixTokens: e.prefixTokens, repeatedCalls: e.calls },
    });
  }

  // ---- Spend lost to errors, and how many failed calls were retried.
  const errors = new Map<string, { calls: number; usd: number; retried: number; types: Map<string, number> }>();
  const failedAt = new Map<string, number>();
  for (const c of sorted) {
    const k = requestKey(c);
    if (c.status === 'error') {
      const e = errors.get(c.projectId) ?? { calls: 0, usd: 0, retried: 0, types: new Map() };
      e.calls++;
      e.usd += usd(c);
      const t = c.errorType ?? 'error';
      e.types.set(t, (e.types.get(t) ?? 0) + 1);
      errors.set(c.projectId, e);
      if (c.promptExcerpt) failedAt.set(k, c.startTimeMs);
      continue;
    }
    const failed = failedAt.get(k);
    if (failed !== undefined && c.startTimeMs - failed <= opts.retryWindowMs) {
      const e = errors.get(c.projectId);
      if (e) e.retried++;
      failedAt.delete(k);
    }
  }
  for (const [projectId, e] of errors) {
    if (e.usd <= 0) continue;
    const types = [...e.types.entries()].sort((a, b) => b[1] - a[1]);
    recs.push({
      kind: 'errors',
      projectId,
      model: null,
      title: `Stop paying for failed calls in project ${projectId}`,
      detail: `${e.calls} failed calls were billed (${types
        .slice(0, 3)
        .map(([t, n]) => `${t} ${n}`)
        .join(
          ', ',
        )}); ${e.retried} were retried with the same prompt, paying again. Fixing the cause (or failing before the call) saves their cost.`,
      savingsUsdPerMonth: perMonth(e.usd),
      affectedUsdPerMonth: perMonth(e.usd),
      calls: e.calls,
      evidence: { failedCalls: e.calls, retried: e.retried, failedSpendUsd: round6(e.usd) },
    });
  }

  // ---- Completions cut off at max_tokens (when max_tokens is stored).
  let withMaxTokens = 0;
  const cut = new Map<string, { projectId: string; model: string; calls: number; usd: number; maxTokens: number }>();
  for (const c of sorted) {
    const max = maxTokensOf(c);
    if (max == null) continue;
    withMaxTokens++;
    if (c.status !== 'ok' || c.usage.outputTokens < max) continue;
    const g = `${c.projectId}\u0000${c.model}`;
    const e = cut.get(g) ?? { projectId: c.projectId, model: c.model, calls: 0, usd: 0, maxTokens: 0 };
    e.calls++;
    e.usd += usd(c);
    e.maxTokens = Math.max(e.maxTokens, max);
    cut.set(g, e);
  }
  for (const e of cut.values()) {
    if (e.usd <= 0) continue;
    recs.push({
      kind: 'truncated-completions',
      projectId: e.projectId,
      model: e.model,
      title: `Completions cut off at max_tokens on ${e.model} in project ${e.projectId}`,
      detail: `${e.calls} completions used all of their max_tokens (up to ${e.maxTokens}): the answer was cut off, so what they cost is likely wasted (and paid again on a retry). Raise max_tokens or ask for shorter answers.`,
      savingsUsdPerMonth: perMonth(e.usd),
      affectedUsdPerMonth: perMonth(e.usd),
      calls: e.calls,
      evidence: { truncatedCalls: e.calls, maxTokens: e.maxTokens },
    });
  }
  if (calls.length > 0 && withMaxTokens === 0)
    notes.push(
      `max_tokens is not stored with these calls (metadata ${MAX_TOKENS_KEYS.join(', ')}), so completions cut off at max_tokens cannot be found; send it as call metadata to enable this check.`,
    );

  recs.sort((a, b) => b.savingsUsdPerMonth - a.savingsUsdPerMonth || a.title.localeCompare(b.title));

  // ---- Token efficiency per project.
  const projects = new Map<
    string,
    { spend: number; calls: number; errors: number; input: number; output: number; cacheRead: number }
  >();
  let unpriced = 0;
  let total = 0;
  for (const c of calls) {
    const p = projects.get(c.projectId) ?? { spend: 0, calls: 0, errors: 0, input: 0, output: 0, cacheRead: 0 };
    p.spend += usd(c);
    p.calls++;
    if (c.status === 'error') p.errors++;
    p.input += c.usage.inputTokens;
    p.output += c.usage.outputTokens;
    p.cacheRead += c.usage.cacheReadTokens;
    projects.set(c.projectId, p);
    if (c.cost.totalUsd == null) unpriced++;
    total += usd(c);
  }
  const efficiency: ProjectEfficiency[] = [...projects.entries()].map(([projectId, p]) => {
    const spendMonth = perMonth(p.spend);
    const byKind = new Map<RecommendationKind, number>();
    for (const r of recs)
      if (r.projectId === projectId) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + r.savingsUsdPerMonth);
    const waste = Math.min(
      spendMonth,
      [...byKind.values()].reduce((s, x) => s + x, 0),
    );
    return {
      projectId,
      score: spendMonth > 0 ? Math.round(100 * (1 - waste / spendMonth)) : 100,
      spendUsdPerMonth: spendMonth,
      wasteUsdPerMonth: round6(waste),
      drivers: [...byKind.entries()]
        .map(([kind, v]) => ({ kind, usdPerMonth: round6(v), shareOfSpend: spendMonth > 0 ? v / spendMonth : 0 }))
        .sort((a, b) => b.usdPerMonth - a.usdPerMonth),
      calls: p.calls,
      cacheHitRate: p.input > 0 ? p.cacheRead / p.input : 0,
      outputInputRatio: p.input > 0 ? p.output / p.input : 0,
      errorRate: p.errors / p.calls,
    };
  });
  efficiency.sort((a, b) => a.score - b.score || b.spendUsdPerMonth - a.spendUsdPerMonth);

  // ---- Cost per user, per session and per outcome.
  const users = new Map<string, { usd: number; calls: number; sessions: Set<string> }>();
  const sessions = new Map<string, { usd: number; calls: number; user: string | null }>();
  for (const c of calls) {
    if (c.userId) {
      const u = users.get(c.userId) ?? { usd: 0, calls: 0, sessions: new Set<string>() };
      u.usd += usd(c);
      u.calls++;
      if (c.sessionId) u.sessions.add(c.sessionId);
      users.set(c.userId, u);
    }
    if (c.sessionId) {
      const s = sessions.get(c.sessionId) ?? { usd: 0, calls: 0, user: c.userId };
      s.usd += usd(c);
      s.calls++;
      sessions.set(c.sessionId, s);
    }
  }
  const costPerUser = [...users.entries()]
    .map(([key, u]) => ({
      key,
      costUsd: round6(u.usd),
      calls: u.calls,
      sessions: u.sessions.size,
      costPerCallUsd: round6(u.usd / u.calls),
    }))
    .sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key))
    .slice(0, opts.limit);
  const costPerSession = [...sessions.entries()]
    .map(([key, s]) => ({
      key,
      userId: s.user,
      costUsd: round6(s.usd),
      calls: s.calls,
      sessions: 1,
      costPerCallUsd: round6(s.usd / s.calls),
    }))
    .sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key))
    .slice(0, opts.limit);
  const outcomeUnits = new Map<string, Set<string>>();
  for (const c of calls)
    for (const t of c.tags) {
      if (!t.startsWith(opts.outcomeTagPrefix) || t.length === opts.outcomeTagPrefix.length) continue;
      const outcome = t.slice(opts.outcomeTagPrefix.length);
      const set = outcomeUnits.get(outcome) ?? new Set<string>();
      set.add(c.sessionId ? `s:${c.sessionId}` : `c:${c.projectId}:${c.id}`);
      outcomeUnits.set(outcome, set);
    }
  const unitCost = new Map<string, number>();
  for (const c of calls) {
    const k = c.sessionId ? `s:${c.sessionId}` : `c:${c.projectId}:${c.id}`;
    unitCost.set(k, (unitCost.get(k) ?? 0) + usd(c));
  }
  const costPerOutcome = [...outcomeUnits.entries()]
    .map(([outcome, units]) => {
      let cost = 0;
      for (const u of units) cost += unitCost.get(u) ?? 0;
      return { outcome, costUsd: round6(cost), outcomes: units.size, costPerOutcomeUsd: round6(cost / units.size) };
    })
    .sort((a, b) => b.costUsd - a.costUsd || a.outcome.localeCompare(b.outcome))
    .slice(0, opts.limit);

  return {
    fromMs: opts.fromMs,
    toMs: opts.toMs,
    monthFactor,
    callsAnalyzed: calls.length,
    unpricedCalls: unpriced,
    truncated,
    totalSpendUsd: round6(total),
    recommendations: recs,
    notes,
    efficiency,
    costPerUser,
    costPerSession,
    costPerOutcome,
  };
}

// ---- Chargeback --------------------------------------------------------------------------

export interface ChargebackOptions {
  fromMs: number;
  toMs: number;
  /** Tags starting with this name a team (`team:search`). */
  tagPrefix: string;
  /** How untagged (shared) spend is allocated: in proportion to each team's direct spend, or evenly. */
  method: 'proportional' | 'even';
}

export interface ChargebackRow {
  team: string;
  /** Spend of calls tagged with the team (a call tagged with several teams is split evenly). */
  directUsd: number;
  /** The team's part of the shared spend. */
  sharedUsd: number;
  totalUsd: number;
  /** totalUsd / all spend. */
  share: number;
  calls: number;
}

export interface ChargebackReport {
  fromMs: number;
  toMs: number;
  tagPrefix: string;
  method: 'proportional' | 'even';
  totalUsd: number;
  /** Spend of calls without a team tag. */
  sharedUsd: number;
  /** Shared spend no team could take (there is no team). */
  unallocatedUsd: number;
  callsAnalyzed: number;
  truncated: boolean;
  rows: ChargebackRow[];
}

export function chargeback(calls: readonly LlmCall[], opts: ChargebackOptions, truncated = false): ChargebackReport {
  const teams = new Map<string, { direct: number; calls: number }>();
  let shared = 0;
  let total = 0;
  for (const c of calls) {
    const cost = usd(c);
    total += cost;
    const names = [
      ...new Set(
        c.tags
          .filter((t) => t.startsWith(opts.tagPrefix) && t.length > opts.tagPrefix.length)
          .map((t) => t.slice(opts.tagPrefix.length)),
      ),
    ];
    if (names.length === 0) {
      shared += cost;
      continue;
    }
    for (const n of names) {
      const e = teams.get(n) ?? { direct: 0, calls: 0 };
      e.direct += cost / names.length;
      e.calls++;
      teams.set(n, e);
    }
  }
  const directTotal = [...teams.values()].reduce((s, t) => s + t.direct, 0);
  const useEven = opts.method === 'even' || directTotal === 0;
  const rows: ChargebackRow[] = [...teams.entries()].map(([team, t]) => {
    const sharedPart = teams.size === 0 ? 0 : useEven ? shared / teams.size : (shared * t.direct) / directTotal;
    const totalUsd = t.direct + sharedPart;
    return {
      team,
      directUsd: round6(t.direct),
      sharedUsd: round6(sharedPart),
      totalUsd: round6(totalUsd),
      share: total > 0 ? totalUsd / total : 0,
      calls: t.calls,
    };
  });
  rows.sort((a, b) => b.totalUsd - a.totalUsd || a.team.localeCompare(b.team));
  return {
    fromMs: opts.fromMs,
    toMs: opts.toMs,
    tagPrefix: opts.tagPrefix,
    method: opts.method,
    totalUsd: round6(total),
    sharedUsd: round6(shared),
    unallocatedUsd: teams.size === 0 ? round6(shared) : 0,
    callsAnalyzed: calls.length,
    truncated,
    rows,
  };
}

const csvCell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

export function chargebackToCsv(r: ChargebackReport): string {
  const lines = ['team,direct_usd,shared_usd,total_usd,share,calls'];
  for (const row of r.rows)
    lines.push(
      [csvCell(row.team), row.directUsd, row.sharedUsd, row.totalUsd, row.share.toFixed(6), row.calls].join(','),
    );
  if (r.unallocatedUsd > 0)
    lines.push(
      `(unallocated),0,${r.unallocatedUsd},${r.unallocatedUsd},${(r.unallocatedUsd / r.totalUsd).toFixed(6)},0`,
    );
  return `${lines.join('\n')}\n`;
}
