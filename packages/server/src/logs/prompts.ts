/**
 * Prompt templates for the LLM-assisted parts of the logs module: sampling-policy generation,
 * cost-optimisation advice and the explanation of a pattern anomaly. Each asks for one JSON
 * object of a stated shape; `assistant.ts` validates every answer and applies the policy safety
 * checks before anything is used. Inputs are statistics, templates and a few examples (cut to a
 * bounded size), never whole logs.
 */
import type { LogSeverity, SamplingPolicy } from '@reskpoints/core';
import type { LlmMessage } from '../llm/provider.js';
import type { LogCostModel, PatternStats, SavingsProjection } from './policy-generator.js';

/** Patterns listed in a prompt, busiest first; the rest are summarised in one line. */
const MAX_PATTERNS = 60;
const MAX_TEMPLATE_CHARS = 300;

const SYSTEM = [
  'You are the log-volume assistant of ReskPoints, an AI-operations platform.',
  'You answer with exactly one JSON object of the requested shape and nothing else.',
  'Never suggest dropping or sampling warnings, errors or fatal lines, new patterns or rare patterns (fewer than one line per minute).',
  'Only name pattern ids that appear in the input.',
].join(' ');

const cut = (s: string, n = MAX_TEMPLATE_CHARS) => (s.length <= n ? s : `${s.slice(0, n)}…`);

function patternTable(stats: readonly PatternStats[], windowMs: number): string {
  const minutes = Math.max(windowMs / 60_000, 1 / 60);
  const sorted = [...stats].sort((a, b) => b.bytes - a.bytes || a.patternId.localeCompare(b.patternId));
  const shown = sorted.slice(0, MAX_PATTERNS).map((s) => ({
    patternId: s.patternId,
    template: cut(s.template),
    linesPerMinute: Number((s.count / minutes).toFixed(3)),
    bytesPerMinute: Math.round(s.bytes / minutes),
    severities: s.severities,
  }));
  const rest = sorted.slice(MAX_PATTERNS);
  const tail = rest.length
    ? `\n(${rest.length} smaller patterns not listed: ${rest.reduce((n, s) => n + s.count, 0)} lines, ${rest.reduce((n, s) => n + s.bytes, 0)} bytes; leave them alone)`
    : '';
  return `${JSON.stringify(shown, null, 1)}${tail}`;
}

export interface PolicyPromptInput {
  service: string;
  stats: readonly PatternStats[];
  windowMs: number;
  targetPerMinute: number;
  minRate: number;
  /** What the deterministic generator proposes, as a starting point. */
  baseline: SamplingPolicy;
}

export function policyPrompt(input: PolicyPromptInput): LlmMessage[] {
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Write a log sampling policy for the service "${input.service}".
Pattern statistics over the last ${Math.round(input.windowMs / 60_000)} minutes (busiest first by bytes):
${patternTable(input.stats, input.windowMs)}

Goal: cut log volume and cost while keeping what people need to debug. Keep about ${input.targetPerMinute} lines per minute of each noisy pattern; patterns that carry unique diagnostic value (state changes, failures logged at info) may keep more.
Constraints: a rule's rate is the share of lines kept, between ${input.minRate} and 1; a rule may set "maxPerMinute" (integer) and "severity" (one of trace, debug, info); warnings and errors are always kept; patterns not named by a rule are kept whole.
The deterministic generator proposes: ${JSON.stringify(input.baseline.rules.map((r) => ({ patternId: r.patternId, rate: r.rate })))}

Answer with: {"rules":[{"patternId":"p_…","rate":0.05,"maxPerMinute":120,"reason":"…"}],"summary":"one or two sentences"}`,
    },
  ];
}

export interface AdvicePromptInput {
  service: string;
  stats: readonly PatternStats[];
  windowMs: number;
  costModel: LogCostModel;
  /** The policy in force, if any. */
  current: SamplingPolicy | null;
  /** Savings the deterministic policy would bring. */
  projection: SavingsProjection;
}

export function advicePrompt(input: AdvicePromptInput): LlmMessage[] {
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Give cost-optimisation advice for the logs of the service "${input.service}".
Prices: $${input.costModel.ingestUsdPerGb} per GB ingested, $${input.costModel.retainUsdPerGbMonth} per GB per month kept, kept ${input.costModel.retentionMonths} month(s).
Current monthly projection: ${input.projection.before.gbPerMonth.toFixed(3)} GB, $${input.projection.before.usdPerMonth.toFixed(2)}; sampling noisy patterns would save $${input.projection.savedUsdPerMonth.toFixed(2)} per month.
Policy in force: ${input.current ? JSON.stringify(input.current.rules.map((r) => ({ patternId: r.patternId, rate: r.rate }))) : 'none (every line kept)'}
Pattern statistics over the last ${Math.round(input.windowMs / 60_000)} minutes:
${patternTable(input.stats, input.windowMs)}

Answer with: {"summary":"…","actions":[{"title":"…","detail":"…","patternId":"p_… (optional)","suggestedRate":0.1,"estimatedSavingsUsdPerMonth":1.5}]} — at most 8 actions, most valuable first. "patternId", "suggestedRate" and "estimatedSavingsUsdPerMonth" are optional.`,
    },
  ];
}

export interface ExplainPromptInput {
  service: string;
  patternId: string;
  template: string;
  examples: readonly string[];
  severities: Partial<Record<LogSeverity, number>>;
  ratePerMinute: number;
  isNew: boolean;
  rateChange: { zScore: number; lastBucketCount: number; baselineMean: number } | null;
  /** Other patterns of the service that changed at the same time, for context. */
  neighbours: ReadonlyArray<{ patternId: string; template: string; zScore: number | null; isNew: boolean }>;
}

export function explainPrompt(input: ExplainPromptInput): LlmMessage[] {
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Explain an anomaly in the logs of the service "${input.service}" to an on-call engineer.
Pattern ${input.patternId}: ${cut(input.template)}
Examples: ${JSON.stringify(input.examples.slice(0, 3).map((e) => cut(e)))}
Severity mix: ${JSON.stringify(input.severities)}; ${input.ratePerMinute.toFixed(2)} lines per minute over the range.
${input.isNew ? 'The pattern is new: first seen in the second half of the range.' : 'The pattern is not new.'}
${input.rateChange ? `Rate change: last bucket ${input.rateChange.lastBucketCount} lines against a mean of ${input.rateChange.baselineMean.toFixed(1)} (z-score ${input.rateChange.zScore.toFixed(1)}).` : 'Too little history for a rate change.'}
Other patterns of the service that changed: ${JSON.stringify(input.neighbours.slice(0, 10).map((n) => ({ ...n, template: cut(n.template, 160) })))}

Answer with: {"summary":"what is happening, in one or two sentences","likelyCauses":["…"],"suggestedChecks":["…"]} — at most 5 causes and 5 checks.`,
    },
  ];
}
