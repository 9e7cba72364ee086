/**
 * Budget definitions: what a budget watches (its scope), over which period, how much, and the
 * thresholds whose crossing is an event. One zod schema serves the API (and so the OpenAPI
 * document) and the checks that span fields, so a bad definition is refused with every problem
 * named at once.
 */
import type { LlmCallFilter } from '@reskpoints/core';
import { z } from 'zod';
import type { QuotaDimension, QuotaMetric } from '../quota/quota-core.js';
import { isTimeZone, type PeriodSpec, parseLength, parseStart } from './periods.js';

export const BUDGET_DIMENSIONS = ['project', 'environment', 'model', 'provider', 'user', 'tag'] as const;
export type BudgetDimension = (typeof BUDGET_DIMENSIONS)[number];

export const BUDGET_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const THRESHOLD_ID = /^[a-z0-9][a-z0-9._-]{0,47}$/;

const DURATION = /^(\d{1,5})(m|h|d)$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `5m`, `1h`, `3d` → ms; null otherwise. */
export function parseWindow(v: string): number | null {
  const m = DURATION.exec(v.trim());
  if (!m) return null;
  const ms = Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return ms > 0 ? ms : null;
}

/** Longest burn-rate window. */
export const MAX_BURN_WINDOW_MS = 7 * 86_400_000;

const values = z
  .union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).min(1).max(20)])
  .transform((v) => (Array.isArray(v) ? [...new Set(v)] : [v]));

const scopeSchema = z
  .object({
    project: values.optional(),
    environment: values.optional(),
    model: values.optional(),
    provider: values.optional(),
    user: values.optional(),
    tag: values.optional().describe('Calls carrying every listed tag'),
  })
  .strict()
  .default({})
  .describe(
    'Calls the budget counts: each dimension one value or a list (any of; for tag: every tag); absent = any value',
  );

const actionSchema = z.discriminatedUnion('kind', [
  z
    .object({ kind: z.literal('block') })
    .strict()
    .describe('Refuse every quota reservation in the scope (429) until the period ends'),
  z
    .object({
      kind: z.literal('throttle'),
      metric: z.enum(['requests', 'tokens', 'costUsd']),
      limit: z.number().positive().max(1e15),
      window: z
        .string()
        .max(16)
        .refine((w) => parseWindow(w) !== null, { message: 'expected a window such as 1m or 1h' })
        .describe('Quota window, e.g. 1m or 1h'),
    })
    .strict()
    .describe('Hold the scope to a quota (limit per window) until the period ends'),
]);

const common = {
  id: z
    .string()
    .regex(THRESHOLD_ID, 'lower-case letters, digits, ".", "_" and "-", at most 48 characters')
    .optional()
    .describe('Stable name of the threshold (default derived from it, e.g. percent-80)'),
  action: actionSchema
    .optional()
    .describe('Enforced through a quota on the budget scope when the threshold is crossed'),
};

const thresholdSchema = z.discriminatedUnion('kind', [
  z
    .object({ kind: z.literal('percent'), percent: z.number().positive().max(10_000), ...common })
    .strict()
    .describe('Spend in the period reaches this percentage of the amount'),
  z
    .object({ kind: z.literal('absolute'), usd: z.number().positive().max(1e12), ...common })
    .strict()
    .describe('Spend in the period reaches this many USD'),
  z
    .object({
      kind: z.literal('forecast'),
      percent: z.number().positive().max(10_000).default(100),
      withinDays: z
        .number()
        .positive()
        .max(400)
        .optional()
        .describe('Warn only once the crossing is projected at most this many days ahead'),
      ...common,
    })
    .strict()
    .describe(
      'Spend is projected (forecast on the scope) to reach this percentage of the amount before the period ends',
    ),
  z
    .object({
      kind: z.literal('burn-rate'),
      window: z
        .string()
        .max(16)
        .refine((w) => (parseWindow(w) ?? Number.POSITIVE_INFINITY) <= MAX_BURN_WINDOW_MS, {
          message: 'expected a window from 1m to 7d such as 1h',
        })
        .describe('Long window, e.g. 1h or 6h'),
      shortWindow: z
        .string()
        .max(16)
        .refine((w) => parseWindow(w) !== null, { message: 'expected a window such as 5m' })
        .optional()
        .describe('Short window (default: a twelfth of the long one, at least 1m)'),
      rate: z.number().positive().max(1e6).describe('Multiple of the even rate (amount / period length), e.g. 14.4'),
      ...common,
    })
    .strict()
    .describe('Spend over both windows runs faster than rate × the even rate'),
]);

export const DEFAULT_PERCENTS = [50, 80, 100];

const periodSchema = z
  .union([
    z.enum(['daily', 'weekly', 'monthly']).transform((kind) => ({ kind })),
    z
      .object({
        kind: z.literal('custom'),
        start: z
          .string()
          .max(32)
          .refine((v) => parseStart(v) !== null, {
            message: 'expected a local date YYYY-MM-DD or date-time YYYY-MM-DDTHH:mm between 2000 and 2100',
          })
          .describe('Local date YYYY-MM-DD or date-time YYYY-MM-DDTHH:mm of the first period'),
        length: z
          .string()
          .max(16)
          .refine(
            (v) => {
              const l = parseLength(v);
              return l !== null && ('days' in l ? l.days <= 3660 : l.hours <= 87_840);
            },
            { message: 'expected a length such as 12h, 14d or 2w (at most 10 years)' },
          )
          .describe('Length of each period: 12h, 14d, 2w, …'),
      })
      .strict(),
  ])
  .describe('daily, weekly (from Monday), monthly, or {kind: custom, start, length}; in timeZone');

const budgetObject = z
  .object({
    name: z.string().min(1).max(200).optional().describe('Display name (default: the id)'),
    scope: scopeSchema,
    period: periodSchema,
    timeZone: z
      .string()
      .min(1)
      .max(64)
      .refine(isTimeZone, { message: 'unknown time zone; use an IANA name such as UTC or America/New_York' })
      .default('UTC')
      .describe('IANA time zone of the period, e.g. America/New_York'),
    amountUsd: z.number().positive().max(1e12),
    thresholds: z.array(thresholdSchema).max(20).optional().describe('Default: percent thresholds at 50, 80 and 100'),
    enabled: z.boolean().default(true),
  })
  .strict();

type BudgetFields = z.output<typeof budgetObject>;

/** Checks that span fields: threshold ids unique, short windows shorter, actions expressible as quotas. */
function checkBudget(b: BudgetFields, ctx: z.RefinementCtx): void {
  {
    const seen = new Set<string>();
    (b.thresholds ?? []).forEach((t, i) => {
      const id = thresholdId(t as ThresholdInput);
      if (seen.has(id))
        ctx.addIssue({ code: 'custom', path: ['thresholds', i], message: `threshold ${id} is given twice` });
      seen.add(id);
      if (t.kind === 'burn-rate' && t.shortWindow !== undefined) {
        const w = parseWindow(t.window);
        const sw = parseWindow(t.shortWindow);
        if (w !== null && sw !== null && sw >= w)
          ctx.addIssue({
            code: 'custom',
            path: ['thresholds', i, 'shortWindow'],
            message: `must be shorter than window (${t.window})`,
          });
      }
      if (t.action) {
        for (const d of ['environment', 'provider', 'tag'] as const)
          if (b.scope[d] !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: ['thresholds', i, 'action'],
              message: `quotas act on project, user and model only; this budget's scope has ${d}`,
            });
        for (const d of ['project', 'user', 'model'] as const)
          if ((b.scope[d]?.length ?? 0) > 1)
            ctx.addIssue({
              code: 'custom',
              path: ['thresholds', i, 'action'],
              message: `a quota takes one ${d}; this budget's scope lists ${b.scope[d]?.length}`,
            });
      }
    });
  }
}

export const budgetInputSchema = budgetObject.superRefine(checkBudget);
export const budgetCreateSchema = budgetObject
  .extend({
    id: z
      .string()
      .regex(BUDGET_ID, 'lower-case letters, digits, ".", "_" and "-", at most 64 characters')
      .describe('The budget id'),
  })
  .superRefine(checkBudget);

export type BudgetInput = z.output<typeof budgetInputSchema>;
export type ThresholdInput = NonNullable<BudgetInput['thresholds']>[number];
export type BudgetAction = NonNullable<ThresholdInput['action']>;
export type BudgetScope = Partial<Record<BudgetDimension, string[]>>;

/** A threshold as stored: with its id. */
export type Threshold = ThresholdInput & { id: string };

export interface Budget {
  id: string;
  name: string;
  scope: BudgetScope;
  period: PeriodSpec;
  timeZone: string;
  amountUsd: number;
  thresholds: Threshold[];
  enabled: boolean;
  createdAtMs: number;
  updatedAtMs: number;
}

const num = (n: number) => String(Number(n.toFixed(6)));

/** The threshold's given id, or one derived from it: `percent-80`, `absolute-250`, `forecast-100`, `burn-1h-14.4`. */
export function thresholdId(t: ThresholdInput): string {
  if (t.id) return t.id;
  switch (t.kind) {
    case 'percent':
      return `percent-${num(t.percent)}`;
    case 'absolute':
      return `absolute-${num(t.usd)}`;
    case 'forecast':
      return `forecast-${num(t.percent)}`;
    case 'burn-rate':
      return `burn-${t.window}-${num(t.rate)}`;
  }
}

/** The budget as stored, from a validated input. */
export function budgetFrom(id: string, input: BudgetInput, nowMs: number, createdAtMs = nowMs): Budget {
  const thresholds = input.thresholds ?? DEFAULT_PERCENTS.map((percent) => ({ kind: 'percent' as const, percent }));
  const scope: BudgetScope = {};
  for (const d of BUDGET_DIMENSIONS) if (input.scope[d] !== undefined) scope[d] = input.scope[d];
  return {
    id,
    name: input.name ?? id,
    scope,
    period: input.period as PeriodSpec,
    timeZone: input.timeZone,
    amountUsd: input.amountUsd,
    thresholds: thresholds.map((t) => ({ ...t, id: thresholdId(t) })),
    enabled: input.enabled,
    createdAtMs,
    updatedAtMs: nowMs,
  };
}

/** The summary filter of the calls the budget counts. */
export function scopeFilter(scope: BudgetScope): LlmCallFilter {
  const f: LlmCallFilter = {};
  if (scope.project) f.projectIds = scope.project;
  if (scope.environment) f.environments = scope.environment;
  if (scope.model) f.models = scope.model;
  if (scope.provider) f.providers = scope.provider;
  if (scope.user) f.userIds = scope.user;
  if (scope.tag) f.tags = scope.tag;
  return f;
}

/** The single project a budget concerns, or null when it spans several (or all). */
export function budgetProject(b: Pick<Budget, 'scope'>): string | null {
  return b.scope.project?.length === 1 ? (b.scope.project[0] as string) : null;
}

/** The quota scope of a budget whose thresholds carry actions (validated: project, user, model, one value each). */
export function quotaScope(scope: BudgetScope): Partial<Record<QuotaDimension, string>> {
  const out: Partial<Record<QuotaDimension, string>> = {};
  for (const d of ['project', 'user', 'model'] as const) {
    const v = scope[d]?.[0];
    if (v !== undefined) out[d] = v;
  }
  return out;
}

/** The target of an amount threshold in USD; null for forecast and burn-rate thresholds. */
export function targetUsd(t: Threshold, amountUsd: number): number | null {
  if (t.kind === 'percent') return (t.percent / 100) * amountUsd;
  if (t.kind === 'absolute') return t.usd;
  if (t.kind === 'forecast') return (t.percent / 100) * amountUsd;
  return null;
}

export function actionQuota(a: BudgetAction): { metric: QuotaMetric; limit: number; windowMs: number } {
  if (a.kind === 'block') return { metric: 'requests', limit: 0, windowMs: 60_000 };
  return { metric: a.metric, limit: a.limit, windowMs: parseWindow(a.window) ?? 60_000 };
}
