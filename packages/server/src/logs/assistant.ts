/**
 * LLM-assisted sampling policies, cost advice and anomaly explanations, with the deterministic
 * answer as the fallback. Every LLM answer is parsed as JSON, validated against its schema and
 * put through the same checks: pattern ids must be ones the input named, and every sampling
 * rate it proposes must pass the policy safety validator (warnings and errors kept, rare
 * patterns kept, no pattern dropped entirely). An answer that fails, a failing provider, or no
 * provider at all gives the deterministic result, with the reason.
 *
 * Each call to the provider is recorded as an LLM call of the project it was made for
 * (service `reskpoints`, tag `reskpoints:<feature>`), so it is priced and shows up in cost
 * reports like the project's own calls.
 */
import {
  type LogSeverity,
  type SamplingPolicy,
  type SamplingRule,
  samplingRuleSchema,
  severityRank,
  validatePolicySafety,
} from '@reskpoints/core';
import { z } from 'zod';
import type { LlmMessage, LlmProvider } from '../llm/provider.js';
import {
  generatePolicy,
  type LogCostModel,
  type PatternStats,
  projectSavings,
  type SavingsProjection,
} from './policy-generator.js';
import { advicePrompt, explainPrompt, policyPrompt } from './prompts.js';

export type AssistFeature = 'policy' | 'advice' | 'explain';

/** One call to the provider, as it is recorded. */
export interface AssistCall {
  projectId: string;
  feature: AssistFeature;
  service: string;
  provider: string;
  model: string;
  requestModel: string;
  startedAtMs: number;
  latencyMs: number;
  status: 'ok' | 'error';
  errorMessage: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  prompt: string;
  response: string;
}

export interface AssistantDeps {
  /** The configured provider, or null (deterministic only). */
  provider: () => LlmProvider | null;
  /** Stores a call (the module sends it through the ingest path); false when it could not be stored. */
  record: (call: AssistCall) => Promise<boolean>;
  nowMs: () => number;
  /** Upper bound on generated tokens per answer. */
  maxTokens: () => number;
  temperature?: number;
}

export interface AssistOutcome<T> {
  result: T;
  generatedBy: 'llm' | 'deterministic';
  /** Why the deterministic answer was used; null when the LLM's answer was. */
  fallbackReason: string | null;
  /** The provider call, when one was made. */
  llm: {
    provider: string;
    model: string;
    inputTokens: number | null;
    outputTokens: number | null;
    latencyMs: number;
    recorded: boolean;
  } | null;
}

const shortText = (max: number) =>
  z
    .string()
    .max(max)
    // Control characters other than new lines and tabs have no place in advice for people.
    .transform((s) => stripControl(s).trim());

function stripControl(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c === 9 || c === 10 || (c >= 32 && c !== 127)) out += ch;
  }
  return out;
}

const llmPolicySchema = z.object({
  rules: z
    .array(
      samplingRuleSchema
        .pick({ patternId: true, rate: true, maxPerMinute: true, severity: true })
        .extend({ reason: shortText(500).optional() }),
    )
    .max(1000),
  summary: shortText(2000).optional(),
});

const adviceSchema = z.object({
  summary: shortText(2000),
  actions: z
    .array(
      z.object({
        title: shortText(200),
        detail: shortText(2000),
        patternId: z.string().max(64).optional(),
        suggestedRate: z.number().min(0).max(1).optional(),
        estimatedSavingsUsdPerMonth: z.number().min(0).max(1e9).optional(),
      }),
    )
    .max(8),
});
export type LogAdvice = z.output<typeof adviceSchema>;

const explanationSchema = z.object({
  summary: shortText(2000),
  likelyCauses: z.array(shortText(500)).max(5),
  suggestedChecks: z.array(shortText(500)).max(5),
});
export type AnomalyExplanation = z.output<typeof explanationSchema>;

/** Reads the first JSON object of an answer (models sometimes wrap it in a code fence). */
export function parseJsonAnswer(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  const t = text.trim();
  const fenced = /^```(?:json)?\s*([\s\S]*?)\s*```$/i.exec(t);
  const body = fenced ? (fenced[1] as string) : t;
  try {
    const value: unknown = JSON.parse(body);
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      return { ok: false, reason: 'the answer is not a JSON object' };
    return { ok: true, value };
  } catch (e) {
    return { ok: false, reason: `the answer is not JSON: ${(e as Error).message}` };
  }
}

function zodReason(error: z.ZodError): string {
  const i = error.issues[0];
  return `the answer does not have the expected shape: ${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid'}`;
}

export interface PolicyAssistInput {
  projectId: string;
  service: string;
  stats: readonly PatternStats[];
  windowMs: number;
  targetPerMinute: number;
  minRate: number;
  capFactor?: number;
}

export interface AdviceAssistInput {
  projectId: string;
  service: string;
  stats: readonly PatternStats[];
  windowMs: number;
  targetPerMinute: number;
  minRate: number;
  costModel: LogCostModel;
  current: SamplingPolicy | null;
}

export interface ExplainAssistInput {
  projectId: string;
  service: string;
  pattern: {
    patternId: string;
    template: string;
    examples: readonly string[];
    severities: Partial<Record<LogSeverity, number>>;
    ratePerMinute: number;
    isNew: boolean;
    rateChange: { zScore: number; lastBucketCount: number; baselineMean: number } | null;
  };
  neighbours: ReadonlyArray<{ patternId: string; template: string; zScore: number | null; isNew: boolean }>;
}

export interface AskOptions {
  /** Skip the provider and answer deterministically. */
  deterministic?: boolean;
}

const minutesOf = (windowMs: number) => Math.max(windowMs / 60_000, 1 / 60);

export class LogAssistant {
  constructor(private readonly deps: AssistantDeps) {}

  /** The checks every proposed rule set must pass: known patterns, and the policy safety validator. */
  private checkRules(
    rules: ReadonlyArray<{ patternId: string; rate: number; severity?: LogSeverity; maxPerMinute?: number }>,
    stats: readonly PatternStats[],
    windowMs: number,
    minRate: number,
    service: string,
  ): string | null {
    const known = new Map(stats.map((s) => [s.patternId, s]));
    for (const [i, r] of rules.entries())
      if (!known.has(r.patternId)) return `rules.${i}.patternId: ${r.patternId} is not a pattern of ${service}`;
    const policy: SamplingPolicy = {
      service,
      alwaysKeepFrom: 'warn',
      defaultRate: 1,
      rules: rules.map((r) => ({ ...r })),
    };
    const rates = new Map(stats.map((s) => [s.patternId, s.count / minutesOf(windowMs)]));
    const problems = validatePolicySafety(policy, { minRate }, rates);
    // A pattern made only of warnings and errors cannot be sampled, whatever the rule says; a
    // rule on it means the model misread the statistics.
    for (const [i, r] of rules.entries()) {
      const s = known.get(r.patternId) as PatternStats;
      const low =
        s.count -
        Object.entries(s.severities).reduce(
          (n, [sev, c]) => n + (severityRank(sev as LogSeverity) >= severityRank('warn') ? (c ?? 0) : 0),
          0,
        );
      if (low <= 0 && r.rate < 1)
        problems.push({ path: `rules.${i}.rate`, message: `pattern ${r.patternId} has only warnings and errors` });
    }
    const first = problems[0];
    return first ? `unsafe: ${first.path}: ${first.message}` : null;
  }

  /** Asks the provider; the parsed, checked answer or the reason it cannot be used. */
  private async ask<T>(
    feature: AssistFeature,
    projectId: string,
    service: string,
    messages: LlmMessage[],
    check: (value: unknown) => { ok: true; value: T } | { ok: false; reason: string },
    opts: AskOptions,
  ): Promise<{ value: T | null; reason: string | null; llm: AssistOutcome<T>['llm'] }> {
    if (opts.deterministic) return { value: null, reason: 'not asked for (llm: false)', llm: null };
    const provider = this.deps.provider();
    if (!provider) return { value: null, reason: 'no LLM provider is configured', llm: null };
    const startedAtMs = this.deps.nowMs();
    const answer = await provider.complete({
      messages,
      maxTokens: this.deps.maxTokens(),
      temperature: this.deps.temperature ?? 0,
      json: true,
    });
    const call: AssistCall = {
      projectId,
      feature,
      service,
      provider: provider.provider,
      model: answer.ok ? answer.value.model : provider.model,
      requestModel: provider.model,
      startedAtMs,
      latencyMs: answer.ok ? answer.value.latencyMs : answer.error.latencyMs,
      status: answer.ok ? 'ok' : 'error',
      errorMessage: answer.ok ? null : answer.error.message,
      inputTokens: answer.ok ? answer.value.inputTokens : null,
      outputTokens: answer.ok ? answer.value.outputTokens : null,
      cacheReadTokens: answer.ok ? answer.value.cacheReadTokens : null,
      prompt: messages.map((m) => `${m.role}: ${m.content}`).join('\n'),
      response: answer.ok ? answer.value.text : '',
    };
    const recorded = await this.deps.record(call).catch(() => false);
    const llm = {
      provider: call.provider,
      model: call.model,
      inputTokens: call.inputTokens,
      outputTokens: call.outputTokens,
      latencyMs: call.latencyMs,
      recorded,
    };
    if (!answer.ok)
      return {
        value: null,
        reason: `the LLM provider failed: ${answer.error.status ? `${answer.error.status} ` : ''}${answer.error.message}`,
        llm,
      };
    const parsed = parseJsonAnswer(answer.value.text);
    if (!parsed.ok) return { value: null, reason: parsed.reason, llm };
    const checked = check(parsed.value);
    return checked.ok ? { value: checked.value, reason: null, llm } : { value: null, reason: checked.reason, llm };
  }

  /** A sampling policy from the LLM, checked; the deterministic generator's otherwise. */
  async policy(input: PolicyAssistInput, opts: AskOptions = {}): Promise<AssistOutcome<SamplingPolicy>> {
    const baseline = generatePolicy(input.service, [...input.stats], {
      windowMs: input.windowMs,
      targetPerMinute: input.targetPerMinute,
      minRate: input.minRate,
      ...(input.capFactor ? { capFactor: input.capFactor } : {}),
    });
    const templates = new Map(input.stats.map((s) => [s.patternId, s.template]));
    const r = await this.ask(
      'policy',
      input.projectId,
      input.service,
      policyPrompt({ ...input, baseline }),
      (value) => {
        const parsed = llmPolicySchema.safeParse(value);
        if (!parsed.success) return { ok: false, reason: zodReason(parsed.error) };
        const rules: SamplingRule[] = parsed.data.rules.map((r) => ({
          patternId: r.patternId,
          rate: r.rate,
          ...(r.severity ? { severity: r.severity } : {}),
          ...(r.maxPerMinute ? { maxPerMinute: r.maxPerMinute } : {}),
          template: templates.get(r.patternId) ?? '',
        }));
        const unsafe = this.checkRules(rules, input.stats, input.windowMs, input.minRate, input.service);
        if (unsafe) return { ok: false, reason: unsafe };
        return { ok: true, value: { service: input.service, alwaysKeepFrom: 'warn' as const, defaultRate: 1, rules } };
      },
      opts,
    );
    return r.value
      ? { result: r.value, generatedBy: 'llm', fallbackReason: null, llm: r.llm }
      : { result: baseline, generatedBy: 'deterministic', fallbackReason: r.reason, llm: r.llm };
  }

  /** Cost-optimisation advice from the LLM, checked; else the savings of the deterministic policy, rule by rule. */
  async advice(
    input: AdviceAssistInput,
    opts: AskOptions = {},
  ): Promise<AssistOutcome<LogAdvice> & { projection: SavingsProjection }> {
    const baseline = generatePolicy(input.service, [...input.stats], {
      windowMs: input.windowMs,
      targetPerMinute: input.targetPerMinute,
      minRate: input.minRate,
    });
    const projection = projectSavings(baseline, [...input.stats], input.windowMs, input.costModel);
    const r = await this.ask(
      'advice',
      input.projectId,
      input.service,
      advicePrompt({ ...input, projection }),
      (value) => {
        const parsed = adviceSchema.safeParse(value);
        if (!parsed.success) return { ok: false, reason: zodReason(parsed.error) };
        const known = new Set(input.stats.map((s) => s.patternId));
        for (const [i, a] of parsed.data.actions.entries())
          if (a.patternId !== undefined && !known.has(a.patternId))
            return { ok: false, reason: `actions.${i}.patternId: ${a.patternId} is not a pattern of ${input.service}` };
        const suggested = parsed.data.actions.flatMap((a) =>
          a.patternId !== undefined && a.suggestedRate !== undefined
            ? [{ patternId: a.patternId, rate: a.suggestedRate }]
            : [],
        );
        const unsafe = this.checkRules(suggested, input.stats, input.windowMs, input.minRate, input.service);
        if (unsafe) return { ok: false, reason: unsafe };
        return { ok: true, value: parsed.data };
      },
      opts,
    );
    if (r.value) return { result: r.value, generatedBy: 'llm', fallbackReason: null, llm: r.llm, projection };
    return {
      result: deterministicAdvice(input, baseline, projection),
      generatedBy: 'deterministic',
      fallbackReason: r.reason,
      llm: r.llm,
      projection,
    };
  }

  /** An explanation of a new or surging pattern from the LLM, checked; else one built from the statistics. */
  async explain(input: ExplainAssistInput, opts: AskOptions = {}): Promise<AssistOutcome<AnomalyExplanation>> {
    const r = await this.ask(
      'explain',
      input.projectId,
      input.service,
      explainPrompt({ service: input.service, ...input.pattern, neighbours: input.neighbours }),
      (value) => {
        const parsed = explanationSchema.safeParse(value);
        if (!parsed.success) return { ok: false, reason: zodReason(parsed.error) };
        // Pattern ids the explanation names must exist: a made-up id would send people searching for nothing.
        const known = new Set([input.pattern.patternId, ...input.neighbours.map((n) => n.patternId)]);
        const text = [parsed.data.summary, ...parsed.data.likelyCauses, ...parsed.data.suggestedChecks].join(' ');
        for (const id of text.match(/\bp_[0-9a-f]{6,}\b/g) ?? [])
          if (!known.has(id)) return { ok: false, reason: `names ${id}, which is not a pattern of ${input.service}` };
        return { ok: true, value: parsed.data };
      },
      opts,
    );
    return r.value
      ? { result: r.value, generatedBy: 'llm', fallbackReason: null, llm: r.llm }
      : { result: deterministicExplanation(input), generatedBy: 'deterministic', fallbackReason: r.reason, llm: r.llm };
  }
}

const usd = (n: number) => `$${n.toFixed(2)}`;

function deterministicAdvice(
  input: AdviceAssistInput,
  policy: SamplingPolicy,
  projection: SavingsProjection,
): LogAdvice {
  const templates = new Map(input.stats.map((s) => [s.patternId, s.template]));
  const actions = [...projection.byRule]
    .sort((a, b) => b.savedUsdPerMonth - a.savedUsdPerMonth)
    .slice(0, 8)
    .map((r) => ({
      title: `Sample ${r.patternId} at ${r.rate}`,
      detail: `"${templates.get(r.patternId) ?? r.patternId}" is among the noisiest patterns; keeping ${(r.rate * 100).toPrecision(3)}% of its lines below warn saves ${r.savedGbPerMonth.toFixed(3)} GB a month.`,
      patternId: r.patternId,
      suggestedRate: r.rate,
      estimatedSavingsUsdPerMonth: Number(r.savedUsdPerMonth.toFixed(4)),
    }));
  const summary =
    policy.rules.length === 0
      ? `${input.service} logs ${projection.before.gbPerMonth.toFixed(3)} GB a month (${usd(projection.before.usdPerMonth)}); no pattern is above ${input.targetPerMinute} lines per minute, so sampling would save little.`
      : `${input.service} logs ${projection.before.gbPerMonth.toFixed(3)} GB a month (${usd(projection.before.usdPerMonth)}). Sampling its ${policy.rules.length} noisiest pattern(s) to about ${input.targetPerMinute} lines per minute saves ${usd(projection.savedUsdPerMonth)} a month (${(projection.savedShare * 100).toFixed(1)}% of bytes), keeping every warning and error.`;
  return { summary, actions };
}

function deterministicExplanation(input: ExplainAssistInput): AnomalyExplanation {
  const p = input.pattern;
  const high = (p.severities.error ?? 0) + (p.severities.fatal ?? 0);
  const what = p.isNew
    ? `Pattern ${p.patternId} ("${p.template}") is new in ${input.service}`
    : p.rateChange && Math.abs(p.rateChange.zScore) >= 3
      ? `Pattern ${p.patternId} ("${p.template}") changed rate in ${input.service}: ${p.rateChange.lastBucketCount} lines in the last bucket against ${p.rateChange.baselineMean.toFixed(1)} on average (z-score ${p.rateChange.zScore.toFixed(1)})`
      : `Pattern ${p.patternId} ("${p.template}") logs ${p.ratePerMinute.toFixed(2)} lines per minute in ${input.service}, without a marked change`;
  const likelyCauses: string[] = [];
  if (p.isNew) likelyCauses.push('A deployment or configuration change that added or changed this log line');
  if (high > 0) likelyCauses.push(`A failure: ${high} of its lines are errors`);
  if (p.rateChange && p.rateChange.zScore >= 3)
    likelyCauses.push('More traffic, retries, or a loop around this code path');
  if (p.rateChange && p.rateChange.zScore <= -3) likelyCauses.push('Less traffic, or the code path stopped running');
  const changed = input.neighbours.filter((n) => n.isNew || (n.zScore !== null && Math.abs(n.zScore) >= 3));
  if (changed.length) likelyCauses.push(`${changed.length} other pattern(s) of the service changed at the same time`);
  return {
    summary: `${what}.`,
    likelyCauses: likelyCauses.slice(0, 5),
    suggestedChecks: [
      `Search the logs of ${input.service} with pattern=${p.patternId} around the change`,
      'Open the traces of lines that carry a trace id',
      'Compare with recent deployments of the service',
    ],
  };
}
