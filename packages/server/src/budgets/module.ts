/**
 * The budgets module: spend budgets on any scope of dimensions, over daily, weekly, monthly or
 * custom periods in a time zone, with amount, forecast and burn-rate thresholds
 * (docs/spend-control.md). A leader job evaluates them from committed telemetry — woken by
 * commits, at most every `minEvaluationGapMs`, and every `evaluateEveryMs` regardless, since
 * time alone moves forecasts, burn rates and periods — and records each crossing once per
 * threshold and period. Crossings go out on the `budgets` live-event topic, feed the `budget`
 * signal source of alert rules, and may block or throttle the scope through a quota until the
 * period ends. List it after the quota module (its actions write quota rules).
 */
import { z } from 'zod';
import { defineModule } from '../platform/module.js';
import { BUDGET_MIGRATIONS } from './repo.js';

export const budgetsConfigSchema = z.object({
  evaluateEveryMs: z
    .number()
    .int()
    .min(1_000)
    .max(3_600_000)
    .default(60_000)
    .describe('Every budget is evaluated at least this often, commits or not, ms'),
  minEvaluationGapMs: z
    .number()
    .int()
    .min(1_000)
    .max(600_000)
    .default(5_000)
    .describe('Commits wake the evaluation at most this often, ms'),
  forecastHistoryDays: z
    .number()
    .int()
    .min(7)
    .max(400)
    .default(56)
    .describe('Days of history the period-end forecast is fitted on (14 at most for periods of two days or less)'),
  maxBudgets: z.number().int().min(1).max(100_000).default(1_000).describe('Most budgets that may be defined'),
});

export type BudgetsConfig = z.infer<typeof budgetsConfigSchema>;

export const budgetsModule = defineModule<BudgetsConfig>({
  name: 'budgets',
  config: { schema: budgetsConfigSchema, hotReloadable: ['forecastHistoryDays', 'maxBudgets', 'evaluateEveryMs'] },
  stateMigrations: BUDGET_MIGRATIONS,
  async create(ctx) {
    const [{ BudgetEvaluator, activeBudgetSignals, BUDGET_SIGNAL }, { registerBudgetRoutes }] = await Promise.all([
      import('./evaluator.js'),
      import('./routes.js'),
    ]);
    const telemetry = ctx.telemetry;
    // Actions write quota rules: only where the quota module runs (its migrations applied).
    const quotaRows = await ctx.state.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM rp_module_migrations WHERE module = 'quota'",
    );
    const quotas = (quotaRows[0]?.n ?? 0) > 0;
    const evaluator = telemetry
      ? new BudgetEvaluator({
          state: ctx.state,
          summarize: (q) => telemetry.summarize(q),
          events: ctx.events,
          signals: ctx.signals,
          logger: ctx.logger,
          forecastHistoryDays: () => ctx.config().forecastHistoryDays,
          quotas,
        })
      : null;

    // Why the next run evaluates: a commit, a changed definition, or evaluateEveryMs elapsed.
    let committed = true;
    let lastStartMs = Number.NEGATIVE_INFINITY;
    let lastFullMs = Number.NEGATIVE_INFINITY;
    let lastDefinitions = '';
    const unsubscribe = ctx.commits.subscribe(() => {
      committed = true;
      if (ctx.clock.nowMs() - lastStartMs >= ctx.config().minEvaluationGapMs) ctx.wake('evaluate');
    });
    const definitionsVersion = async () => {
      const rows = await ctx.state.query<{ n: number; latest: number | null }>(
        'SELECT COUNT(*) AS n, MAX(updated_at_ms) AS latest FROM budgets_definitions',
      );
      return `${rows[0]?.n ?? 0}|${rows[0]?.latest ?? 0}`;
    };

    return {
      routes: (api, helpers) =>
        registerBudgetRoutes(api, helpers, {
          state: ctx.state,
          nowMs: () => ctx.clock.nowMs(),
          maxBudgets: () => ctx.config().maxBudgets,
          quotas,
          changed: (id) => {
            evaluator?.cache.delete(id);
            ctx.wake('evaluate');
          },
        }),
      jobs: evaluator
        ? [
            {
              name: 'evaluate',
              scope: 'leader',
              everyMs: ctx.config().minEvaluationGapMs,
              async run({ nowMs, fence }) {
                if (!fence) return;
                const version = await definitionsVersion();
                const due =
                  committed || version !== lastDefinitions || nowMs - lastFullMs >= ctx.config().evaluateEveryMs;
                if (!due) return;
                committed = false;
                lastStartMs = nowMs;
                lastFullMs = nowMs;
                lastDefinitions = version;
                await evaluator.evaluateAll(nowMs, fence);
              },
            },
          ]
        : [],
      signalSources: [
        {
          name: BUDGET_SIGNAL,
          description:
            'Budget thresholds crossed in the current period whose condition still holds, labelled budget, threshold, kind and the scope (project, model, …); value = percent of the amount spent',
          active: (nowMs: number) => activeBudgetSignals(ctx.state, nowMs),
        },
      ],
      async stop() {
        unsubscribe();
      },
    };
  },
});
