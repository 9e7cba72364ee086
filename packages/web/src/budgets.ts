/**
 * What the Budgets page shows, as pure functions (the browser test checks the page against the
 * API with the same ones): the bar's scale and marks, threshold rules and burn rates as text.
 */
import { formatPercent, formatUsd } from './format.js';

export interface BudgetThreshold {
  id: string;
  kind: 'percent' | 'absolute' | 'forecast' | 'burn-rate';
  percent?: number;
  usd?: number;
  withinDays?: number;
  window?: string;
  shortWindow?: string;
  rate?: number;
  action?: { kind: 'block' | 'throttle'; metric?: string; limit?: number; window?: string };
}

export interface BudgetStatus {
  evaluatedAtMs: number;
  state: 'active' | 'not-started' | 'disabled';
  periodStartMs: number | null;
  periodEndMs: number | null;
  spendUsd: number;
  amountUsd: number;
  percentUsed: number;
  unpricedCalls: number;
  evenRateUsdPerHour: number;
  forecast: {
    projectedUsd: number;
    loUsd: number;
    hiUsd: number;
    crossesAtMs: number | null;
    model: string;
    backtestMape: number | null;
    step: 'day' | 'hour';
  } | null;
  burnRates: { windowMs: number; spendUsd: number; rate: number }[];
  thresholds: { id: string; kind: string; targetUsd: number | null; active: boolean; crossedAtMs: number | null }[];
}

export interface Budget {
  id: string;
  name: string;
  scope: Record<string, string[]>;
  period: { kind: string; start?: string; length?: string };
  timeZone: string;
  amountUsd: number;
  thresholds: BudgetThreshold[];
  enabled: boolean;
  status: BudgetStatus | null;
}

export interface BudgetEvent {
  id: string;
  thresholdId: string;
  kind: string;
  atMs: number;
  periodStartMs: number;
  spendUsd: number;
  message: string;
  action?: { kind: string; quotaId: string; untilMs: number };
}

export const scopeText = (scope: Record<string, string[]>) =>
  Object.entries(scope)
    .map(([k, v]) => `${k} ${v.join(' or ')}`)
    .join(', ') || 'all calls';

export const periodText = (b: Pick<Budget, 'period' | 'timeZone'>) =>
  `${b.period.kind === 'custom' ? `every ${b.period.length} from ${b.period.start}` : b.period.kind} · ${b.timeZone}`;

export function windowText(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 60_000)}m`;
}

/** `1h 2.4×` for each burn-rate window. */
export const burnText = (s: BudgetStatus) =>
  s.burnRates.map((r) => `${windowText(r.windowMs)} ${r.rate.toFixed(1)}×`).join(' · ');

export function thresholdRule(t: BudgetThreshold): string {
  let s: string;
  if (t.kind === 'percent') s = `${t.percent}% spent`;
  else if (t.kind === 'absolute') s = `${formatUsd(t.usd ?? 0)} spent`;
  else if (t.kind === 'forecast')
    s = `projected to reach ${t.percent}%${t.withinDays ? ` within ${t.withinDays} days` : ''}`;
  else s = `burning over ${t.rate}× for ${t.window}${t.shortWindow ? ` and ${t.shortWindow}` : ''}`;
  if (t.action)
    s +=
      t.action.kind === 'block'
        ? ', then block'
        : `, then throttle to ${t.action.limit} ${t.action.metric}/${t.action.window}`;
  return s;
}

/** The bar's scale: the amount, or more when spend or the projection goes past it. */
export function barScaleUsd(s: BudgetStatus): number {
  return Math.max(s.amountUsd, s.spendUsd, s.forecast?.projectedUsd ?? 0) || 1;
}

/** Position on the bar, percent of its width (0..100). */
export const barPosition = (usd: number, scaleUsd: number) => Math.max(0, Math.min(100, (usd / scaleUsd) * 100));

/** The bar's accessible description. */
export function barLabel(s: BudgetStatus): string {
  const parts = [`${formatUsd(s.spendUsd)} of ${formatUsd(s.amountUsd)} spent (${formatPercent(s.percentUsed / 100)})`];
  if (s.forecast) parts.push(`projected ${formatUsd(s.forecast.projectedUsd)} at period end`);
  const marks = s.thresholds.filter((t) => t.targetUsd !== null);
  if (marks.length) parts.push(`thresholds at ${marks.map((t) => formatUsd(t.targetUsd)).join(', ')}`);
  return parts.join('; ');
}

/** `2026-11-25 14:00` in the budget's time zone. */
export function zonedTime(ms: number, timeZone: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return `${p['year']}-${p['month']}-${p['day']} ${p['hour']}:${p['minute']}`;
}
