/**
 * The alerting module: rules evaluated on committed telemetry by a leader job that commits
 * wake early, the notification pipeline (grouping, inhibition, silences, dedup, rate limits,
 * routing), a durable outbox with retrying delivery, and its HTTP API. See docs/alerting.md.
 */
import { defineModule } from '../platform/module.js';
import { type AlertingConfig, alertingConfigSchema } from './config.js';
import { ALERTING_MIGRATIONS } from './repo.js';

export const alertingModule = defineModule<AlertingConfig>({
  name: 'alerting',
  config: {
    schema: alertingConfigSchema,
    hotReloadable: [
      'rulesFile',
      'rules',
      'route',
      'receivers',
      'inhibitRules',
      'timeIntervals',
      'resolveTimeout',
      'webhookFiringTtl',
    ],
  },
  stateMigrations: ALERTING_MIGRATIONS,
  async create(ctx) {
    const [
      { AlertingEngine },
      { AlertingRepo },
      { compilePipeline },
      { RulesSource },
      { registerAlertingRoutes },
      { registerAlertmanagerRoutes },
      { registerRuleRoutes },
    ] = await Promise.all([
      import('./engine.js'),
      import('./repo.js'),
      import('./pipeline-config.js'),
      import('./rules-source.js'),
      import('./routes.js'),
      import('./alertmanager-api.js'),
      import('./rules-routes.js'),
    ]);
    const repo = new AlertingRepo();
    const rules = new RulesSource(ctx.config, ctx.logger, { db: ctx.state, repo });
    const compile = () => {
      const r = compilePipeline(ctx.config());
      if (!r.ok) throw new Error(`alerting configuration: ${r.error.join('; ')}`);
      return r.value;
    };
    let pipeline = compile();
    ctx.onConfigChange(() => {
      try {
        pipeline = compile();
      } catch (e) {
        ctx.logger.warn({ err: e }, 'alerting configuration change refused; keeping the running one');
      }
      rules.refresh(true);
    });
    const telemetry = ctx.telemetry;
    const engine = new AlertingEngine({
      db: ctx.state,
      repo,
      clock: ctx.clock,
      logger: ctx.logger,
      summarize: telemetry ? (q) => telemetry.summarize(q) : null,
      rules: () => rules.current(),
      pipeline: () => pipeline,
      receivers: () => ctx.config().receivers,
      delivery: () => ctx.config().delivery,
      externalUrl: () => '',
      signals: ctx.signals,
      events: ctx.events,
    });
    const unsubscribe: (() => void)[] = [];
    return {
      jobs: ctx.config().enabled
        ? [
            {
              name: 'evaluate',
              scope: 'leader',
              everyMs: ctx.config().evaluationTickMs,
              async run({ nowMs, fence }) {
                if (!fence) return;
                rules.refresh();
                await rules.refreshApi();
                await engine.pass(fence, nowMs);
              },
            },
          ]
        : [],
      routes: (api, helpers) => {
        const deps = { ctx, repo, engine, rules, wake: () => ctx.wake('evaluate') };
        registerAlertingRoutes(api, helpers, deps);
        registerRuleRoutes(api, helpers, deps);
        registerAlertmanagerRoutes(api, helpers, { ...deps, pipeline: () => pipeline });
      },
      async start() {
        unsubscribe.push(
          ctx.commits.subscribe(() => {
            engine.noteCommit();
            ctx.wake('evaluate');
          }),
          ctx.signals.onChanged((source) => {
            engine.noteSignal(source);
            ctx.wake('evaluate');
          }),
        );
      },
      async stop() {
        for (const u of unsubscribe.splice(0)) u();
      },
    };
  },
});
