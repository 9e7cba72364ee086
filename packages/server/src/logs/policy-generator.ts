/**
 * Deterministic sampling-policy generation from pattern statistics, the log cost model that
 * projects volume and monthly savings, and policy diffs. Pure functions.
 */
import {
  LOG_SEVERITIES,
  type LogSeverity,
  type SamplingPolicy,
  type SamplingRule,
  severityRank,
} from '@reskpoints/core';

/** What is known of one pattern of one service over an observation window. */
export interface PatternStats {
  patternId: string;
  template: string;
  /** Lines seen in the window. */
  count: number;
  /** Bytes of those lines (message plus attributes as received). */
  bytes: number;
  /** Lines per severity (need not cover every line; the rest count as info). */
  severities: Partial<Record<LogSeverity, number>>;
}

export interface PolicyGeneratorOptions {
  /** The window the counts cover. */
  windowMs: number;
  /** Lines per minute each noisy pattern is sampled down to. Default 60. */
  targetPerMinute?: number;
  /** Patterns below this many lines per minute are kept whole. Default 1. */
  rarePerMinute?: number;
  /** The lowest rate a rule gets. Default 0.001. */
  minRate?: number;
  /** Lines at or above this severity are always kept. Default warn. */
  alwaysKeepFrom?: LogSeverity;
  /** Adds a per-minute cap of this many times the target to every rule. None by default. */
  capFactor?: number;
}

/** Prices of log volume. Defaults: Grafana Cloud Logs list prices ($0.40 per GB written, $0.10 per GB per extra 30 days kept). */
export interface LogCostModel {
  /** USD per GB ingested (written). */
  ingestUsdPerGb: number;
  /** USD per GB per 30 days kept. */
  retainUsdPerGbMonth: number;
  /** Months (30 days) kept; each is charged at `retainUsdPerGbMonth`. */
  retentionMonths: number;
}

export const DEFAULT_LOG_COST_MODEL: LogCostModel = {
  ingestUsdPerGb: 0.4,
  retainUsdPerGbMonth: 0.1,
  retentionMonths: 1,
};

const MINUTES_PER_MONTH = 30 * 24 * 60;
const BYTES_PER_GB = 1e9;

function lowSeverityShare(s: PatternStats, keepFrom: LogSeverity): number {
  if (s.count === 0) return 0;
  let high = 0;
  for (const sev of LOG_SEVERITIES) if (severityRank(sev) >= severityRank(keepFrom)) high += s.severities[sev] ?? 0;
  return Math.max(0, Math.min(1, (s.count - high) / s.count));
}

function roundRate(r: number): number {
  return Number(r.toPrecision(3));
}

/** A policy that samples each noisy pattern down to about `targetPerMinute` lines, keeping warnings, errors and rare patterns. */
export function generatePolicy(service: string, stats: PatternStats[], opts: PolicyGeneratorOptions): SamplingPolicy {
  const minutes = Math.max(opts.windowMs / 60_000, 1 / 60);
  const target = opts.targetPerMinute ?? 60;
  const rare = opts.rarePerMinute ?? 1;
  const minRate = opts.minRate ?? 0.001;
  const keepFrom = opts.alwaysKeepFrom ?? 'warn';
  const rules: SamplingRule[] = [];
  for (const s of [...stats].sort((a, b) => b.count - a.count || a.patternId.localeCompare(b.patternId))) {
    const perMinute = s.count / minutes;
    if (perMinute < rare) continue;
    const lowPerMinute = perMinute * lowSeverityShare(s, keepFrom);
    if (lowPerMinute <= target) continue;
    const rate = roundRate(Math.max(minRate, target / lowPerMinute));
    if (rate >= 1) continue;
    const rule: SamplingRule = { patternId: s.patternId, rate, template: s.template };
    if (opts.capFactor) rule.maxPerMinute = Math.ceil(target * opts.capFactor);
    rules.push(rule);
  }
  return { service, alwaysKeepFrom: keepFrom, defaultRate: 1, rules };
}

export interface VolumeProjection {
  linesPerMonth: number;
  gbPerMonth: number;
  usdPerMonth: number;
}

export interface SavingsProjection {
  before: VolumeProjection;
  after: VolumeProjection;
  savedGbPerMonth: number;
  savedUsdPerMonth: number;
  /** Share of bytes dropped, in [0, 1]. */
  savedShare: number;
  /** Per rule: the pattern and the bytes per month it drops. */
  byRule: Array<{ patternId: string; rate: number; savedGbPerMonth: number; savedUsdPerMonth: number }>;
}

function usd(gb: number, m: LogCostModel): number {
  return gb * (m.ingestUsdPerGb + m.retainUsdPerGbMonth * m.retentionMonths);
}

/** The fraction of a pattern's lines (and bytes) a policy keeps, from its severity mix and rate per minute. */
export function keptShare(policy: SamplingPolicy, s: PatternStats, windowMs: number): number {
  const rules = policy.rules.filter((r) => r.patternId === s.patternId);
  if (rules.length === 0 || s.count === 0) return policy.defaultRate;
  const minutes = Math.max(windowMs / 60_000, 1 / 60);
  const keepRank = severityRank(policy.alwaysKeepFrom);
  let kept = 0;
  let counted = 0;
  for (const sev of LOG_SEVERITIES) {
    const n = sev === 'info' ? s.count - otherThanInfo(s) : (s.severities[sev] ?? 0);
    if (n <= 0) continue;
    counted += n;
    if (severityRank(sev) >= keepRank) {
      kept += n;
      continue;
    }
    const rule = rules.find((r) => r.severity === sev) ?? rules.find((r) => !r.severity);
    if (!rule) {
      kept += n;
      continue;
    }
    let k = n * rule.rate;
    if (rule.maxPerMinute !== undefined) k = Math.min(k, rule.maxPerMinute * minutes);
    kept += k;
  }
  return counted === 0 ? 1 : kept / counted;
}

function otherThanInfo(s: PatternStats): number {
  let n = 0;
  for (const sev of LOG_SEVERITIES) if (sev !== 'info') n += s.severities[sev] ?? 0;
  return n;
}

/** Projects a month of volume and cost with and without the policy, from stats over `windowMs`. */
export function projectSavings(
  policy: SamplingPolicy,
  stats: PatternStats[],
  windowMs: number,
  model: LogCostModel = DEFAULT_LOG_COST_MODEL,
): SavingsProjection {
  const perMonth = MINUTES_PER_MONTH / Math.max(windowMs / 60_000, 1 / 60);
  let linesBefore = 0;
  let linesAfter = 0;
  let bytesBefore = 0;
  let bytesAfter = 0;
  const byRule: SavingsProjection['byRule'] = [];
  for (const s of stats) {
    const share = keptShare(policy, s, windowMs);
    linesBefore += s.count * perMonth;
    linesAfter += s.count * share * perMonth;
    bytesBefore += s.bytes * perMonth;
    bytesAfter += s.bytes * share * perMonth;
    const rule = policy.rules.find((r) => r.patternId === s.patternId);
    if (rule) {
      const savedGb = (s.bytes * (1 - share) * perMonth) / BYTES_PER_GB;
      byRule.push({
        patternId: s.patternId,
        rate: rule.rate,
        savedGbPerMonth: savedGb,
        savedUsdPerMonth: usd(savedGb, model),
      });
    }
  }
  const before = { linesPerMonth: linesBefore, gbPerMonth: bytesBefore / BYTES_PER_GB, usdPerMonth: 0 };
  before.usdPerMonth = usd(before.gbPerMonth, model);
  const after = { linesPerMonth: linesAfter, gbPerMonth: bytesAfter / BYTES_PER_GB, usdPerMonth: 0 };
  after.usdPerMonth = usd(after.gbPerMonth, model);
  byRule.sort((a, b) => b.savedGbPerMonth - a.savedGbPerMonth);
  return {
    before,
    after,
    savedGbPerMonth: before.gbPerMonth - after.gbPerMonth,
    savedUsdPerMonth: before.usdPerMonth - after.usdPerMonth,
    savedShare: bytesBefore === 0 ? 0 : 1 - bytesAfter / bytesBefore,
    byRule,
  };
}

export interface PolicyDiff {
  added: SamplingRule[];
  removed: SamplingRule[];
  changed: Array<{ patternId: string; severity: LogSeverity | null; from: SamplingRule; to: SamplingRule }>;
  settings: Array<{ field: 'alwaysKeepFrom' | 'defaultRate'; from: unknown; to: unknown }>;
}

/** What changed from policy `a` to policy `b`, rule by rule (a rule is named by pattern and severity). */
export function diffPolicies(a: SamplingPolicy, b: SamplingPolicy): PolicyDiff {
  const key = (r: SamplingRule) => `${r.patternId}\u0000${r.severity ?? ''}`;
  const left = new Map(a.rules.map((r) => [key(r), r]));
  const right = new Map(b.rules.map((r) => [key(r), r]));
  const diff: PolicyDiff = { added: [], removed: [], changed: [], settings: [] };
  for (const [k, r] of right) {
    const old = left.get(k);
    if (!old) diff.added.push(r);
    else if (old.rate !== r.rate || old.maxPerMinute !== r.maxPerMinute)
      diff.changed.push({ patternId: r.patternId, severity: r.severity ?? null, from: old, to: r });
  }
  for (const [k, r] of left) if (!right.has(k)) diff.removed.push(r);
  if (a.alwaysKeepFrom !== b.alwaysKeepFrom)
    diff.settings.push({ field: 'alwaysKeepFrom', from: a.alwaysKeepFrom, to: b.alwaysKeepFrom });
  if (a.defaultRate !== b.defaultRate)
    diff.settings.push({ field: 'defaultRate', from: a.defaultRate, to: b.defaultRate });
  return diff;
}
