/**
 * The leader job's work: evaluates every budget, persists its status, records each threshold
 * crossing once per period (the event's key is budget, period and threshold, so neither a
 * restart nor a new leader repeats one), puts a threshold's action in force through a quota that
 * ends with the period, and removes the quotas of ended periods. Writes go through the leader's
 * fence; live events and the signal wake-up follow each commit.
 */
import type { Logger } from 'pino';
import type { PlatformEvents } from '../platform/events.js';
import { type Fence, fencedTransaction } from '../platform/fencing.js';
import type { Signal, SignalHub } from '../platform/signals.js';
import type { SqlDatabase } from '../platform/sql.js';
import { QuotaRepo } from '../quota/quota-repo.js';
import { actionQuota, type Budget, budgetProject, quotaScope } from './definition.js';
import { type BudgetStatus, type EvaluateOptions, evaluateBudget, ForecastCache, type Summarize } from './evaluate.js';
import { type BudgetEvent, BudgetRepo, eventId } from './repo.js';

export const BUDGETS_TOPIC = 'budgets';
export const BUDGET_SIGNAL = 'budget';

/** Quota ids of a budget's actions: `budget.<budget id>.<threshold id>`. */
export const quotaPrefix = (budgetId: string) => `budget.${budgetId}.`;

export interface EvaluatorDeps {
  state: SqlDatabase;
  summarize: Summarize;
  events: PlatformEvents;
  signals: SignalHub;
  logger: Pick<Logger, 'warn'>;
  forecastHistoryDays: () => number;
  /** The quota module runs (its table exists): actions can be put in force. */
  quotas: boolean;
}

export function eventDto(e: BudgetEvent) {
  return {
    id: e.id,
    budgetId: e.budgetId,
    projectId: e.projectId,
    thresholdId: e.thresholdId,
    kind: e.kind,
    atMs: e.atMs,
    periodStartMs: e.periodStartMs,
    periodEndMs: e.periodEndMs,
    spendUsd: e.spendUsd,
    amountUsd: e.amountUsd,
    targetUsd: e.targetUsd,
    ...e.detail,
  };
}

export class BudgetEvaluator {
  readonly cache = new ForecastCache();

  constructor(private readonly deps: EvaluatorDeps) {}

  /** Evaluates every budget; a budget that fails is logged and the others go on. */
  async evaluateAll(nowMs: number, fence: Fence): Promise<void> {
    const budgets = await new BudgetRepo(this.deps.state).list();
    let changed = false;
    for (const b of budgets) {
      try {
        changed = (await this.evaluate(b, nowMs, fence)) || changed;
      } catch (e) {
        if ((e as Error).name === 'StaleFenceError') throw e;
        this.deps.logger.warn({ err: e, budget: b.id }, 'budget evaluation failed; it runs again next time');
      }
    }
    if (changed) this.deps.signals.changed(BUDGET_SIGNAL);
  }

  /** Returns true when a signal may have changed (a new event, or an active condition began or ended). */
  async evaluate(b: Budget, nowMs: number, fence: Fence): Promise<boolean> {
    const opts: EvaluateOptions = {
      summarize: this.deps.summarize,
      nowMs,
      forecastHistoryDays: this.deps.forecastHistoryDays(),
      cache: this.cache,
    };
    const { status, period, crossings } = await evaluateBudget(b, opts);
    const projectId = budgetProject(b);
    const { fresh, previous } = await fencedTransaction(this.deps.state, fence, nowMs, async (tx) => {
      const repo = new BudgetRepo(tx);
      const quotas = this.deps.quotas ? new QuotaRepo(tx) : null;
      const previous = await repo.status<BudgetStatus>(b.id);
      // Actions of ended periods (or of a budget switched off) end: their quotas go.
      if (period) await quotas?.deleteExpired(quotaPrefix(b.id), nowMs);
      else await quotas?.deletePrefix(quotaPrefix(b.id));
      const fresh: BudgetEvent[] = [];
      if (period) {
        for (const c of crossings) {
          const t = c.threshold;
          const e: BudgetEvent = {
            id: eventId(b.id, period.startMs, t.id),
            budgetId: b.id,
            projectId,
            periodStartMs: period.startMs,
            periodEndMs: period.endMs,
            thresholdId: t.id,
            kind: t.kind,
            atMs: nowMs,
            spendUsd: status.spendUsd,
            amountUsd: b.amountUsd,
            targetUsd: c.targetUsd,
            detail: {
              message: c.message,
              percentUsed: status.percentUsed,
              ...(c.projectedUsd !== undefined ? { projectedUsd: c.projectedUsd } : {}),
              ...(c.crossesAtMs !== undefined ? { crossesAtMs: c.crossesAtMs } : {}),
              ...(c.burnRate !== undefined ? { burnRate: c.burnRate } : {}),
              ...(c.shortBurnRate !== undefined ? { shortBurnRate: c.shortBurnRate } : {}),
              ...(c.windowMs !== undefined ? { windowMs: c.windowMs } : {}),
              ...(c.shortWindowMs !== undefined ? { shortWindowMs: c.shortWindowMs } : {}),
            },
          };
          if (t.action && quotas) {
            const quotaId = `${quotaPrefix(b.id)}${t.id}`;
            e.detail.action = { kind: t.action.kind, quotaId, untilMs: period.endMs };
          }
          if (!(await repo.insertEvent(e))) continue;
          fresh.push(e);
          if (quotas && t.action && e.detail.action) {
            const q = actionQuota(t.action);
            await quotas.put(
              {
                id: e.detail.action.quotaId,
                description: `budget ${b.id}: ${t.action.kind} after ${t.id} (${c.message})`.slice(0, 1000),
                scope: quotaScope(b.scope),
                metric: q.metric,
                limit: q.limit,
                windowMs: q.windowMs,
                window: 'fixed',
                enabled: true,
                expiresAtMs: period.endMs,
              },
              nowMs,
            );
          }
        }
        const crossed = new Map(
          (await repo.events(b.id, { limit: 100, periodStartMs: period.startMs })).map((e) => [e.thresholdId, e.atMs]),
        );
        for (const t of status.thresholds) t.crossedAtMs = crossed.get(t.id) ?? null;
      }
      await repo.putStatus(b.id, nowMs, status);
      return { fresh, previous };
    });
    for (const e of fresh)
      this.deps.events.publish({ topic: BUDGETS_TOPIC, projectId: e.projectId, atMs: e.atMs, data: eventDto(e) });
    const activeBefore = (previous?.thresholds ?? [])
      .filter((t) => t.active && t.crossedAtMs !== null)
      .map((t) => t.id);
    const activeNow = status.thresholds.filter((t) => t.active && t.crossedAtMs !== null).map((t) => t.id);
    return (
      fresh.length > 0 || previous?.periodStartMs !== status.periodStartMs || activeBefore.join() !== activeNow.join()
    );
  }
}

/**
 * The `budget` signal source: each threshold crossed in a budget's current period whose
 * condition still holds (spend stays over an amount until the period ends; a projection or a burn
 * rate may fall back), labelled with the budget, the threshold and the budget's scope.
 */
export async function activeBudgetSignals(state: SqlDatabase, nowMs: number): Promise<Signal[]> {
  const repo = new BudgetRepo(state);
  const [events, statuses, budgets] = await Promise.all([
    repo.openPeriodEvents(nowMs),
    repo.statuses<BudgetStatus>(),
    repo.list(),
  ]);
  const byId = new Map(budgets.map((b) => [b.id, b]));
  const out: Signal[] = [];
  for (const e of events) {
    const b = byId.get(e.budgetId);
    const s = statuses.get(e.budgetId);
    if (!b || !s || s.periodStartMs !== e.periodStartMs || e.periodStartMs > nowMs) continue;
    if (!s.thresholds.find((t) => t.id === e.thresholdId)?.active) continue;
    const labels: Record<string, string> = { budget: b.id, threshold: e.thresholdId, kind: e.kind };
    for (const [d, v] of Object.entries(b.scope)) if (v.length === 1) labels[d] = v[0] as string;
    out.push({
      key: e.id,
      labels,
      value: s.percentUsed,
      startsAtMs: e.atMs,
      projectId: e.projectId,
      annotations: {
        summary: `Budget ${b.name}: ${e.detail.message}`,
        spend: `${s.spendUsd.toFixed(2)} USD of ${b.amountUsd.toFixed(2)} USD`,
        ...(s.forecast ? { projected: `${s.forecast.projectedUsd.toFixed(2)} USD` } : {}),
        periodEnd: new Date(e.periodEndMs).toISOString(),
      },
    });
  }
  return out;
}
