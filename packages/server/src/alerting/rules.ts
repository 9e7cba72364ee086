/**
 * Alert rules: their schema (the YAML file, the API and the config share it), validation that
 * reports every problem, durations like `5m`, and annotation templates. Pure.
 */
import { err, ok, type Result, SUMMARY_DIMENSIONS } from '@reskpoints/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseMatchers } from './matchers.js';
import { expandTemplate } from './template.js';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `5m`, `1h`, `7d` or a number of ms. */
export function parseDurationMs(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  const m = DURATION_RE.exec(v.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
}

export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (e.g. 30s, 5m, 1h, 7d, or ms)` });
    return z.NEVER;
  }
  return ms;
});

/** What a rule measures over its window, from the telemetry summary. */
export const RULE_METRICS = [
  'costUsd',
  'requests',
  'requestRatePerSecond',
  'errors',
  'errorRate',
  'totalTokens',
  'inputTokens',
  'outputTokens',
  'latencyP50Ms',
  'latencyP95Ms',
  'latencyP99Ms',
  'ttftP95Ms',
] as const;
export type RuleMetric = (typeof RULE_METRICS)[number];

/** Metrics that add up over time (a baseline is scaled to the window); the rest are ratios. */
export const ADDITIVE_METRICS: ReadonlySet<RuleMetric> = new Set([
  'costUsd',
  'requests',
  'errors',
  'totalTokens',
  'inputTokens',
  'outputTokens',
]);

const op = z.enum(['>', '>=', '<', '<=', '==', '!=']);
export type CompareOp = z.infer<typeof op>;

const filter = z
  .object({
    projectIds: z.array(z.string()).optional(),
    environments: z.array(z.string()).optional(),
    providers: z.array(z.string()).optional(),
    models: z.array(z.string()).optional(),
    operations: z.array(z.string()).optional(),
    statuses: z.array(z.enum(['ok', 'error'])).optional(),
    services: z.array(z.string()).optional(),
    userIds: z.array(z.string()).optional(),
    tags: z.array(z.string()).optional(),
  })
  .strict();

const labelMap = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'label names are [A-Za-z_][A-Za-z0-9_]*'),
  z.string(),
);

export const ruleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_:.-]{0,127}$/, 'rule names are letters, digits, _ : . - (max 128)'),
    /** What the rule measures (every kind but `signal`). */
    metric: z.enum(RULE_METRICS).optional(),
    window: duration.default(300_000),
    filter: filter.default({}),
    groupBy: z.array(z.enum(SUMMARY_DIMENSIONS)).default([]),
    /** Fires when the metric compares true against `value`. */
    threshold: z.object({ op: op, value: z.number() }).strict().optional(),
    /** Fires when the metric changed by `percent` against its average over `baseline` before the window. */
    change: z
      .object({ op: op.default('>'), percent: z.number(), baseline: duration })
      .strict()
      .optional(),
    /** Fires when no call matched for the window (per group: groups seen in `lookback` before it). */
    absent: z
      .object({ lookback: duration.default(86_400_000) })
      .strict()
      .optional(),
    /**
     * Fires for each active signal of another module's source (`anomaly`, `budget`, …; see
     * `platform/signals.ts`) whose labels match `matchers` and whose value is at least `minValue`.
     */
    signal: z
      .object({
        source: z.string().min(1).max(64),
        matchers: z.array(z.string()).default([]),
        minValue: z.number().optional(),
      })
      .strict()
      .optional(),
    interval: duration.default(60_000),
    for: duration.default(0),
    keepFiringFor: duration.default(0),
    labels: labelMap.default({}),
    annotations: labelMap.default({}),
  })
  .strict()
  .superRefine((r, ctx) => {
    const kinds = [r.threshold, r.change, r.absent, r.signal].filter((k) => k !== undefined).length;
    if (kinds !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of threshold, change, absent, signal' });
    if (!r.signal && r.metric === undefined)
      ctx.addIssue({ code: 'custom', path: ['metric'], message: `give a metric (${RULE_METRICS.join(', ')})` });
    if (r.signal) {
      const m = parseMatchers(r.signal.matchers);
      if (!m.ok) for (const message of m.error) ctx.addIssue({ code: 'custom', path: ['signal', 'matchers'], message });
    }
    if (r.window < 1000) ctx.addIssue({ code: 'custom', path: ['window'], message: 'window must be at least 1s' });
    if (r.interval < 1000)
      ctx.addIssue({ code: 'custom', path: ['interval'], message: 'interval must be at least 1s' });
  });

export interface RuleIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Validates one rule and returns every problem. Zod skips an object's refinements once a
 * field failed, so the cross-field checks are repeated on the raw input then: a rule with a
 * bad duration and no kind hears about both.
 */
export function checkRule(item: unknown): { ok: true; rule: Rule } | { ok: false; issues: RuleIssue[] } {
  const r = ruleSchema.safeParse(item);
  if (r.success) return { ok: true, rule: r.data };
  const issues: RuleIssue[] = r.error.issues.map((i) => ({
    path: i.path.map((p) => p as string | number),
    message: i.message,
  }));
  if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
    const raw = item as Record<string, unknown>;
    const has = (m: string) => issues.some((i) => i.message === m);
    const kinds = (['threshold', 'change', 'absent', 'signal'] as const).filter((k) => raw[k] !== undefined).length;
    const kindMessage = 'give exactly one of threshold, change, absent, signal';
    if (kinds !== 1 && !has(kindMessage)) issues.push({ path: [], message: kindMessage });
    const metricMessage = `give a metric (${RULE_METRICS.join(', ')})`;
    if (raw['signal'] === undefined && raw['metric'] === undefined && !has(metricMessage))
      issues.push({ path: ['metric'], message: metricMessage });
  }
  return { ok: false, issues };
}

export type RuleSpec = z.input<typeof ruleSchema>;
export type Rule = z.output<typeof ruleSchema>;

export const ruleFileSchema = z.object({ rules: z.array(z.unknown()).default([]) }).strict();

function issues(prefix: string, e: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string[] {
  return e.issues.map((i) => `${prefix}${i.path.length ? `.${i.path.map(String).join('.')}` : ''}: ${i.message}`);
}

/** Validates a list of rules; every problem is reported with the rule's position and name. */
export function parseRules(items: readonly unknown[], where = 'rules'): Result<Rule[], string[]> {
  const out: Rule[] = [];
  const problems: string[] = [];
  const names = new Set<string>();
  items.forEach((item, i) => {
    const name = (item as { name?: unknown } | null)?.name;
    const prefix = `${where}[${i}]${typeof name === 'string' ? ` (${name})` : ''}`;
    const r = checkRule(item);
    if (!r.ok) {
      problems.push(...issues(prefix, r));
      return;
    }
    if (names.has(r.rule.name)) problems.push(`${prefix}: duplicate rule name "${r.rule.name}"`);
    names.add(r.rule.name);
    out.push(r.rule);
  });
  return problems.length ? err(problems) : ok(out);
}

/** Parses a rules YAML document (`rules: [...]`). */
export function parseRulesYaml(text: string, fileName = 'rules'): Result<Rule[], string[]> {
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (e) {
    return err([`${fileName}: not valid YAML: ${(e as Error).message}`]);
  }
  const f = ruleFileSchema.safeParse(doc);
  if (!f.success) return err(issues(fileName, f.error));
  return parseRules(f.data.rules, `${fileName}: rules`);
}

export function compare(value: number, o: CompareOp, bound: number): boolean {
  switch (o) {
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '==':
      return value === bound;
    case '!=':
      return value !== bound;
  }
}

/**
 * Fills `{{ $value }}`, `{{ $labels.name }}` and `{{ $threshold }}` in annotation templates.
 * Numbers are printed with at most 4 significant decimals; unknown names become empty.
 */
export function renderTemplate(
  template: string,
  vars: { value: number; labels: Record<string, string>; threshold?: number },
): string {
  return expandTemplate(template, {
    value: vars.value,
    labels: vars.labels,
    ...(vars.threshold !== undefined ? { threshold: vars.threshold } : {}),
  });
}

export type RuleKind = 'threshold' | 'change' | 'absent' | 'signal';

export function ruleKind(r: Rule): RuleKind {
  if (r.signal) return 'signal';
  if (r.change) return 'change';
  if (r.absent) return 'absent';
  return 'threshold';
}
