/**
 * The `alerting` config section: rules (inline and from a YAML file), the routing tree,
 * receivers, inhibition rules and named time intervals. Durations are strings like `5m` or ms.
 */
import { z } from 'zod';
import { emailSchema } from './channels/email.js';
import { pagerdutySchema } from './channels/pagerduty.js';
import { slackSchema } from './channels/slack.js';
import { teamsSchema } from './channels/teams.js';
import { compilePipeline } from './pipeline-config.js';
import { duration } from './rules.js';

export interface RouteConfig {
  receiver?: string | undefined;
  matchers?: string[] | undefined;
  continue?: boolean | undefined;
  groupBy?: string[] | undefined;
  groupWait?: number | undefined;
  groupInterval?: number | undefined;
  repeatInterval?: number | undefined;
  muteTimeIntervals?: string[] | undefined;
  activeTimeIntervals?: string[] | undefined;
  routes?: RouteConfig[] | undefined;
}

const routeSchema: z.ZodType<RouteConfig, unknown> = z.lazy(() =>
  z
    .object({
      receiver: z.string().optional(),
      matchers: z.array(z.string()).optional().describe('e.g. ["severity=\\"page\\"", "team=~\\"ml|data\\""]'),
      continue: z.boolean().optional(),
      groupBy: z.array(z.string()).optional(),
      groupWait: duration.optional(),
      groupInterval: duration.optional(),
      repeatInterval: duration.optional(),
      muteTimeIntervals: z.array(z.string()).optional(),
      activeTimeIntervals: z.array(z.string()).optional(),
      routes: z.array(routeSchema).optional(),
    })
    .strict(),
);

const secret = z.string().max(4096);

export const receiverSchema = z
  .object({
    name: z.string().min(1).max(128),
    sendResolved: z.boolean().default(true),
    rateLimit: z
      .object({ max: z.number().int().min(1), window: duration })
      .strict()
      .optional(),
    webhook: z
      .object({
        url: z.string().url(),
        /** Signs the body: `X-ReskPoints-Signature: sha256=<hex of HMAC(secret, timestamp + "." + body)>`. */
        secret: secret.optional(),
        headers: z.record(z.string(), secret).optional(),
      })
      .strict()
      .optional(),
    slack: slackSchema.optional().describe('Slack incoming webhook (Block Kit)'),
    teams: teamsSchema.optional().describe('Microsoft Teams workflow webhook (Adaptive Card)'),
    email: emailSchema.optional().describe('Email over SMTP (text and HTML)'),
    pagerduty: pagerdutySchema.optional().describe('PagerDuty Events API v2'),
  })
  .strict();
export type ReceiverConfig = z.infer<typeof receiverSchema>;

export const alertingConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Evaluate alert rules and deliver notifications'),
    rulesFile: z
      .string()
      .default('')
      .describe(
        'YAML file with `rules: [...]`, reloaded when it changes (checked at every evaluation pass); empty for none',
      ),
    rules: z.array(z.unknown()).default([]).describe('Alert rules given inline (same shape as in the rules file)'),
    evaluationTickMs: z
      .number()
      .int()
      .min(50)
      .max(60_000)
      .default(1_000)
      .describe('How often the evaluator looks for due rules and groups; commits wake it at once'),
    resolveTimeout: duration
      .default(300_000)
      .describe(
        'An alert received through the Alertmanager API without endsAt resolves this long after it was last received (Alertmanager resolve_timeout)',
      ),
    webhookFiringTtl: duration
      .default(86_400_000)
      .describe(
        'A firing alert received through the Alertmanager webhook receiver stays firing this long unless re-sent or resolved (keep it above the sender repeat_interval)',
      ),
    route: routeSchema
      .default({ receiver: 'default' })
      .describe(
        'The routing tree: receiver, matchers, continue, groupBy, groupWait, groupInterval, repeatInterval, routes',
      ),
    receivers: z
      .array(receiverSchema)
      .default([])
      .describe(
        'Notification receivers (name, sendResolved, rateLimit; channels webhook, slack, teams, email, pagerduty)',
      ),
    inhibitRules: z
      .array(
        z
          .object({
            sourceMatchers: z.array(z.string()),
            targetMatchers: z.array(z.string()),
            equal: z.array(z.string()).default([]),
          })
          .strict(),
      )
      .default([])
      .describe('A firing source alert mutes target alerts whose `equal` labels match'),
    timeIntervals: z
      .record(z.string(), z.array(z.record(z.string(), z.unknown())))
      .default({})
      .describe(
        'Named recurring intervals (Alertmanager shape: times, weekdays, days_of_month, months, years, location)',
      ),
    delivery: z
      .object({
        maxAttempts: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(10)
          .describe('Attempts per notification before it is recorded as failed'),
        initialBackoffMs: z
          .number()
          .int()
          .min(1)
          .max(600_000)
          .default(1_000)
          .describe('Backoff before the second attempt; doubles per attempt, with jitter'),
        maxBackoffMs: z
          .number()
          .int()
          .min(1)
          .max(3_600_000)
          .default(300_000)
          .describe('Longest backoff between attempts'),
        timeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe('Timeout of one delivery attempt'),
      })
      .default({ maxAttempts: 10, initialBackoffMs: 1_000, maxBackoffMs: 300_000, timeoutMs: 10_000 })
      .describe('Retries of failed deliveries: exponential backoff with jitter, honouring Retry-After'),
  })
  .superRefine((c, ctx) => {
    // Matchers, receivers named by routes and time intervals are checked with the rest of the config.
    const r = compilePipeline(c as AlertingConfig);
    if (!r.ok) for (const message of r.error) ctx.addIssue({ code: 'custom', message });
  });
export type AlertingConfig = z.output<typeof alertingConfigSchema>;
