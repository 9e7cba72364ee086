/**
 * The logs module: pattern ids on ingested logs (the enrichment step), log search, pattern
 * statistics, and sampling policies (versions, history, comparison, generation with projected
 * savings) served to the logging SDK. See docs/logs.md.
 */
import { z } from 'zod';
import { defineModule } from '../platform/module.js';
import { LOG_MIGRATIONS } from './log-repo.js';

export const logsConfigSchema = z.object({
  targetPerMinute: z
    .number()
    .positive()
    .default(60)
    .describe('Generated policies sample each noisy pattern down to about this many lines per minute'),
  minRate: z.number().min(0).max(1).default(0.001).describe('The lowest keep rate a policy rule may set'),
  costModel: z
    .object({
      ingestUsdPerGb: z
        .number()
        .min(0)
        .default(0.4)
        .describe('USD per GB of logs ingested (Grafana Cloud Logs list price)'),
      retainUsdPerGbMonth: z.number().min(0).default(0.1).describe('USD per GB per 30 days kept'),
      retentionMonths: z.number().min(0).default(1).describe('Months (30 days) logs are kept'),
    })
    .default({ ingestUsdPerGb: 0.4, retainUsdPerGbMonth: 0.1, retentionMonths: 1 })
    .describe('Prices used to project the savings of a sampling policy'),
  maxMiners: z
    .number()
    .int()
    .min(1)
    .default(2_000)
    .describe('Template miners (one per project and service) kept in memory'),
  saveIntervalMs: z
    .number()
    .int()
    .min(1_000)
    .default(30_000)
    .describe('How often changed miners are saved to the state database'),
  genAiWaitMs: z
    .number()
    .int()
    .min(0)
    .default(3_600_000)
    .describe('How long the content of GenAI events (sent as logs) waits for its LLM call to be stored, ms'),
  signal: z
    .object({
      windowMinutes: z
        .number()
        .int()
        .min(12)
        .default(60)
        .describe(
          'log-pattern signals read this many minutes (12 buckets): new patterns in the second half, rate changes in the last bucket',
        ),
      zScore: z
        .number()
        .positive()
        .default(4)
        .describe('|z-score| of the last bucket that makes a rate change a signal'),
      minLines: z
        .number()
        .int()
        .min(0)
        .default(20)
        .describe('Lines the last bucket (rise) or the baseline (drop) must hold for a rate-change signal'),
    })
    .default({ windowMinutes: 60, zScore: 4, minLines: 20 })
    .describe('The log-pattern signal source (alert rules of kind signal)'),
  llm: z
    .object({
      api: z
        .enum(['none', 'openai', 'ollama'])
        .default('none')
        .describe(
          'LLM that proposes policies, cost advice and anomaly explanations: none (deterministic only), openai (any OpenAI-compatible chat completions API) or ollama (native /api/chat)',
        ),
      baseUrl: z
        .string()
        .default('https://api.openai.com/v1')
        .describe('openai: base URL including the version; ollama: the server, e.g. http://127.0.0.1:11434'),
      model: z.string().min(1).default('gpt-4o-mini').describe('Model asked for'),
      apiToken: z.string().default('').describe('Bearer token sent to the provider (empty: none)'),
      provider: z
        .string()
        .default('')
        .describe('Provider name the calls are recorded and priced under (default: openai or ollama)'),
      timeoutMs: z.number().int().min(100).default(30_000).describe('Per-request timeout, ms'),
      maxRetries: z.number().int().min(0).max(10).default(1).describe('Retries of failed requests (openai)'),
      maxTokens: z.number().int().min(16).max(32_000).default(2_000).describe('Upper bound on generated tokens'),
    })
    .default({
      api: 'none',
      baseUrl: 'https://api.openai.com/v1',
      model: 'gpt-4o-mini',
      apiToken: '',
      provider: '',
      timeoutMs: 30_000,
      maxRetries: 1,
      maxTokens: 2_000,
    })
    .describe('LLM assistance; the deterministic generator answers when none is configured or it fails'),
});

export type LogsConfig = z.infer<typeof logsConfigSchema>;

export const logsModule = defineModule<LogsConfig>({
  name: 'logs',
  config: {
    schema: logsConfigSchema,
    hotReloadable: [
      'targetPerMinute',
      'minRate',
      'costModel.ingestUsdPerGb',
      'costModel.retainUsdPerGbMonth',
      'costModel.retentionMonths',
      'signal.windowMinutes',
      'signal.zScore',
      'signal.minLines',
      'llm.api',
      'llm.baseUrl',
      'llm.model',
      'llm.apiToken',
      'llm.provider',
      'llm.timeoutMs',
      'llm.maxRetries',
      'llm.maxTokens',
    ],
  },
  stateMigrations: LOG_MIGRATIONS,
  async create(ctx) {
    const [
      { liveTailEvents },
      { patternSignals },
      { LogRepo },
      { PatternService },
      { registerLogRoutes },
      { attachInBatch },
      { GenAiExcerpts },
      { LogAssistant },
      { llmProviderFromConfig },
      { recordAssistCall },
    ] = await Promise.all([
      import('./live-tail.js'),
      import('./pattern-stats.js'),
      import('./log-repo.js'),
      import('./pattern-service.js'),
      import('./routes.js'),
      import('./genai-events.js'),
      import('./genai-excerpts.js'),
      import('./assistant.js'),
      import('../llm/from-config.js'),
      import('./assist-record.js'),
    ]);
    const repo = new LogRepo(ctx.state);
    const patterns = new PatternService({
      repo,
      nowMs: () => ctx.clock.nowMs(),
      maxMiners: ctx.config().maxMiners,
    });
    await patterns.load();
    // One provider per configuration in force (rebuilt after a hot reload changed `logs.llm`).
    let provider: { key: string; value: ReturnType<typeof llmProviderFromConfig> } | null = null;
    const assistant = new LogAssistant({
      provider: () => {
        const c = ctx.config().llm;
        const key = JSON.stringify(c);
        if (provider?.key !== key) provider = { key, value: llmProviderFromConfig(c) };
        return provider.value;
      },
      record: async (call) => {
        const r = await ctx.ingest(recordAssistCall(call));
        if (!r.ok) ctx.logger.warn({ error: r.error.message }, 'recording an assistant LLM call failed');
        return r.ok;
      },
      nowMs: () => ctx.clock.nowMs(),
      maxTokens: () => ctx.config().llm.maxTokens,
    });
    const telemetry = ctx.telemetry;
    const genAi = telemetry
      ? new GenAiExcerpts({
          repo,
          telemetry,
          nowMs: () => ctx.clock.nowMs(),
          excerptMaxChars: () => ctx.platformConfig().ingest.excerptMaxChars,
          waitMs: () => ctx.config().genAiWaitMs,
        })
      : null;
    const unsubscribe = ctx.commits.subscribe((n) => {
      if (n.llmCallsInserted > 0 && genAi) {
        genAi.callsCommitted(n.atMs);
        ctx.wake('genai-excerpts');
      }
      // The live tail: committed lines as `logs` events, a bounded number per commit and project.
      if (n.logs?.length) for (const e of liveTailEvents(n.logs, n.atMs)) ctx.events.publish(e);
    });
    return {
      routes: (api, helpers) =>
        registerLogRoutes(api, helpers, {
          telemetry: ctx.telemetry,
          repo,
          patterns,
          assistant,
          config: () => ctx.config(),
          maxRangeDays: () => ctx.platformConfig().query.maxRangeDays,
          nowMs: () => ctx.clock.nowMs(),
        }),
      signalSources: telemetry
        ? [
            {
              name: 'log-pattern',
              description:
                'New log patterns (first seen in the second half of logs.signal.windowMinutes) and patterns whose last-bucket rate deviates (|z-score| >= logs.signal.zScore), labelled project, service, pattern and kind (new, rate-rise, rate-drop); value = lines per minute (new) or z-score',
              async active(nowMs: number) {
                const c = ctx.config().signal;
                const out = [];
                for (const p of await ctx.stateStore.listProjects())
                  out.push(
                    ...(await patternSignals(telemetry, patterns, p.id, nowMs, {
                      windowMs: c.windowMinutes * 60_000,
                      zScore: c.zScore,
                      minLines: c.minLines,
                    })),
                  );
                return out;
              },
            },
          ]
        : [],
      enrichers: [
        {
          // Before pricing (200): a call without reported usage is priced from its excerpts.
          name: 'genai-excerpts',
          order: 150,
          async enrich(batch, ectx) {
            const waiting = attachInBatch(batch, ectx.excerptMaxChars);
            if (waiting.length === 0 || ectx.excerptMaxChars <= 0) return;
            await repo.addGenAiParts(waiting, ectx.excerptMaxChars, ectx.receivedAtMs);
            ctx.wake('genai-excerpts');
          },
        },
        { name: 'log-patterns', order: 300, enrich: (batch) => patterns.enrich(batch) },
      ],
      jobs: [
        {
          name: 'save-miners',
          scope: 'node',
          everyMs: ctx.config().saveIntervalMs,
          async run() {
            await patterns.save();
          },
        },
        ...(genAi
          ? [
              {
                name: 'genai-excerpts',
                scope: 'leader' as const,
                everyMs: 5_000,
                async run() {
                  await genAi.run();
                },
              },
            ]
          : []),
      ],
      async stop() {
        unsubscribe();
        await patterns.save().catch((e: unknown) => ctx.logger.warn({ err: e }, 'saving log miners failed'));
      },
    };
  },
});
