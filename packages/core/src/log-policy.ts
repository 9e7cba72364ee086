/**
 * Log sampling policies: what the server generates and serves, and what the SDK applies where
 * logs are produced. Browser-safe; no I/O.
 *
 * A policy keeps every line by default. Rules lower the keep rate of named patterns (optionally of
 * one severity only) and may cap lines per minute. Lines at or above `alwaysKeepFrom` (warn by
 * default) are always kept, whatever a rule says: a policy can only ever drop noise.
 */
import { z } from 'zod';

export const LOG_SEVERITIES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogSeverity = (typeof LOG_SEVERITIES)[number];

const SEVERITY_RANK: Record<LogSeverity, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5 };

export function severityRank(s: LogSeverity): number {
  return SEVERITY_RANK[s];
}

/** OpenTelemetry SeverityNumber (1–24) to a severity; 0 / unknown is `info`. */
export function severityFromNumber(n: number): LogSeverity {
  if (n >= 21) return 'fatal';
  if (n >= 17) return 'error';
  if (n >= 13) return 'warn';
  if (n >= 9 || n <= 0) return 'info';
  if (n >= 5) return 'debug';
  return 'trace';
}

const TEXT_SEVERITY: Record<string, LogSeverity> = {
  trace: 'trace',
  trc: 'trace',
  debug: 'debug',
  dbg: 'debug',
  info: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  inf: 'info',
  warn: 'warn',
  warning: 'warn',
  wrn: 'warn',
  error: 'error',
  err: 'error',
  severe: 'error',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  fatal: 'fatal',
  panic: 'fatal',
};

/** Severity text as loggers spell it (`WARNING`, `err`, pino's level numbers 10–60). */
export function severityFromText(text: string | number | null | undefined): LogSeverity {
  if (typeof text === 'number') {
    // pino / bunyan numeric levels.
    if (text >= 60) return 'fatal';
    if (text >= 50) return 'error';
    if (text >= 40) return 'warn';
    if (text >= 30) return 'info';
    if (text >= 20) return 'debug';
    return 'trace';
  }
  if (!text) return 'info';
  return TEXT_SEVERITY[text.trim().toLowerCase()] ?? 'info';
}

export const samplingRuleSchema = z.object({
  patternId: z.string().min(1),
  /** Applies to lines of this severity only; all severities below `alwaysKeepFrom` when absent. */
  severity: z.enum(LOG_SEVERITIES).optional(),
  /** Share of matching lines kept, in [0, 1]. */
  rate: z.number().min(0).max(1),
  /** At most this many matching lines kept per minute (after the rate); none when absent. */
  maxPerMinute: z.number().int().positive().optional(),
  /** The pattern's template, for people reading the policy. */
  template: z.string().optional(),
});
export type SamplingRule = z.infer<typeof samplingRuleSchema>;

export const samplingPolicySchema = z.object({
  service: z.string().min(1),
  /** Lines at or above this severity are always kept. */
  alwaysKeepFrom: z.enum(LOG_SEVERITIES).default('warn'),
  /** Keep rate for patterns no rule names (new and rare ones). */
  defaultRate: z.number().min(0).max(1).default(1),
  rules: z.array(samplingRuleSchema).max(10_000).default([]),
});
export type SamplingPolicy = z.infer<typeof samplingPolicySchema>;

export interface PolicySafetyLimits {
  /** The lowest keep rate a rule may set (something of every pattern stays visible). Default 0.001. */
  minRate?: number;
  /** `alwaysKeepFrom` may not be above this. Default `warn`. */
  maxAlwaysKeepFrom?: LogSeverity;
  /** Patterns seen fewer times per minute than this must be kept whole. Default 1. */
  rarePerMinute?: number;
}

export interface PolicyProblem {
  path: string;
  message: string;
}

/**
 * Rejects policies that could lose what must not be lost: errors and warnings, new or rare
 * patterns, or a pattern entirely. `ratesPerMinute` (pattern id → lines per minute) lets it check
 * that rare patterns are not sampled.
 */
export function validatePolicySafety(
  policy: SamplingPolicy,
  limits: PolicySafetyLimits = {},
  ratesPerMinute?: ReadonlyMap<string, number>,
): PolicyProblem[] {
  const minRate = limits.minRate ?? 0.001;
  const maxKeepFrom = limits.maxAlwaysKeepFrom ?? 'warn';
  const rare = limits.rarePerMinute ?? 1;
  const problems: PolicyProblem[] = [];
  if (severityRank(policy.alwaysKeepFrom) > severityRank(maxKeepFrom))
    problems.push({
      path: 'alwaysKeepFrom',
      message: `must be ${maxKeepFrom} or lower so that ${maxKeepFrom} and error lines are always kept`,
    });
  if (policy.defaultRate < 1)
    problems.push({ path: 'defaultRate', message: 'must be 1: new and rare patterns are always kept' });
  const seen = new Set<string>();
  policy.rules.forEach((r, i) => {
    const path = `rules.${i}`;
    const key = `${r.patternId}\u0000${r.severity ?? '*'}`;
    if (seen.has(key)) problems.push({ path, message: `a second rule for pattern ${r.patternId}` });
    seen.add(key);
    if (r.rate < minRate && (r.maxPerMinute === undefined || r.rate === 0))
      problems.push({
        path: `${path}.rate`,
        message: `must be at least ${minRate}: a rule may not drop a pattern entirely`,
      });
    if (r.severity && severityRank(r.severity) >= severityRank(policy.alwaysKeepFrom) && r.rate < 1)
      problems.push({
        path: `${path}.severity`,
        message: `${r.severity} lines are always kept; a rule cannot sample them`,
      });
    const perMinute = ratesPerMinute?.get(r.patternId);
    if (perMinute !== undefined && perMinute < rare && r.rate < 1)
      problems.push({
        path: `${path}.rate`,
        message: `pattern ${r.patternId} is rare (${perMinute.toFixed(2)}/min < ${rare}/min) and must be kept whole`,
      });
  });
  return problems;
}

/** Per-minute counters for caps, keyed by rule; the caller owns one per process. */
export class SamplingCaps {
  private minute = -1;
  private readonly counts = new Map<string, number>();

  /** True when another line may be kept under `max` in the minute of `nowMs`. */
  take(key: string, max: number, nowMs: number): boolean {
    const m = Math.floor(nowMs / 60_000);
    if (m !== this.minute) {
      this.minute = m;
      this.counts.clear();
    }
    const n = this.counts.get(key) ?? 0;
    if (n >= max) return false;
    this.counts.set(key, n + 1);
    return true;
  }
}

/** A policy compiled for fast decisions: pattern id → rule per severity. */
export class CompiledPolicy {
  private readonly keepFromRank: number;
  private readonly bySeverity = new Map<string, SamplingRule>();
  private readonly anySeverity = new Map<string, SamplingRule>();

  constructor(readonly policy: SamplingPolicy) {
    this.keepFromRank = severityRank(policy.alwaysKeepFrom);
    for (const r of policy.rules) {
      if (r.severity) this.bySeverity.set(`${r.patternId}\u0000${r.severity}`, r);
      else this.anySeverity.set(r.patternId, r);
    }
  }

  /** The rule that applies to a line, or null when it is kept whole. */
  ruleFor(patternId: string, severity: LogSeverity): SamplingRule | null {
    if (severityRank(severity) >= this.keepFromRank) return null;
    return this.bySeverity.get(`${patternId}\u0000${severity}`) ?? this.anySeverity.get(patternId) ?? null;
  }

  /**
   * Keep or drop one line. `random` is in [0, 1); caps count per rule and minute.
   * Lines at or above `alwaysKeepFrom` are always kept.
   */
  keep(patternId: string, severity: LogSeverity, random: number, caps?: SamplingCaps, nowMs = 0): boolean {
    const rule = this.ruleFor(patternId, severity);
    if (!rule) return random < this.policy.defaultRate || severityRank(severity) >= this.keepFromRank;
    if (random >= rule.rate) return false;
    if (rule.maxPerMinute !== undefined && caps)
      return caps.take(`${rule.patternId}\u0000${rule.severity ?? '*'}`, rule.maxPerMinute, nowMs);
    return true;
  }
}
