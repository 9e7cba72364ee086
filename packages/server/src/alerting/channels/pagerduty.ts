/**
 * PagerDuty Events API v2: a firing notification is a `trigger`, a resolved one a `resolve`,
 * an acknowledged one (every firing alert of the group silenced) an `acknowledge`, all with
 * the same `dedup_key`, derived from the receiver and the group key, so PagerDuty keeps one
 * incident per alert group across repeats and restarts. The routing key is a secret.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  type NotificationPayload,
  postJson,
  redactUrl,
  render,
  type SendContext,
  secretUrl,
  template,
  truncate,
} from './common.js';
import type { DeliveryOutcome } from './delivery.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export const PAGERDUTY_DEFAULTS = {
  summary: '{{ $title }}',
  source: 'ReskPoints',
  severity: '{{ $commonLabels.severity }}',
};

export const pagerdutySchema = z
  .object({
    routingKey: z.string().min(1).max(256).describe('Integration (routing) key of the service (secret)'),
    url: secretUrl.default(PAGERDUTY_EVENTS_URL).describe('Events API v2 endpoint'),
    summary: template.optional().describe('payload.summary (at most 1024 characters)'),
    source: template.optional(),
    severity: template
      .optional()
      .describe('critical, error, warning or info; "page" counts as critical, anything else as error'),
    component: template.optional(),
    group: template.optional(),
    class: template.optional(),
    acknowledgeSilenced: z
      .boolean()
      .default(true)
      .describe('Acknowledge the incident while every firing alert of its group is silenced'),
    client: z.string().max(256).default('ReskPoints'),
    clientUrl: z.string().url().optional(),
  })
  .strict();
export type PagerDutyConfig = z.input<typeof pagerdutySchema>;

const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);

export function pagerdutySeverity(v: string): 'critical' | 'error' | 'warning' | 'info' {
  const s = v.trim().toLowerCase();
  if (SEVERITIES.has(s)) return s as 'critical' | 'error' | 'warning' | 'info';
  if (s === 'page') return 'critical';
  if (s === 'warn') return 'warning';
  return 'error';
}

/** Stable per receiver and alert group: sha256 hex of `<receiver>\0<group key>`. */
export function pagerdutyDedupKey(receiver: string, groupKey: string): string {
  return createHash('sha256').update(`${receiver}\u0000${groupKey}`).digest('hex');
}

export function pagerdutyEvent(c: PagerDutyConfig, p: NotificationPayload) {
  const action = p.status === 'resolved' ? 'resolve' : p.status === 'acknowledged' ? 'acknowledge' : 'trigger';
  const base = {
    routing_key: c.routingKey,
    event_action: action,
    dedup_key: pagerdutyDedupKey(p.receiver, p.groupKey),
  };
  if (action !== 'trigger') return base;
  const opt = (t: string | undefined) => (t ? render(t, p).trim() || undefined : undefined);
  const firing = p.alerts.filter((a) => a.status === 'firing');
  const earliest = Math.min(...firing.map((a) => Date.parse(a.startsAt)).filter((x) => !Number.isNaN(x)));
  const component = opt(c.component);
  const group = opt(c.group);
  const klass = opt(c.class);
  return {
    ...base,
    payload: {
      summary: truncate(render(c.summary ?? PAGERDUTY_DEFAULTS.summary, p).trim() || p.status, 1024),
      source: truncate(render(c.source ?? PAGERDUTY_DEFAULTS.source, p).trim() || 'ReskPoints', 255),
      severity: pagerdutySeverity(render(c.severity ?? PAGERDUTY_DEFAULTS.severity, p)),
      ...(Number.isFinite(earliest) ? { timestamp: new Date(earliest).toISOString() } : {}),
      ...(component ? { component } : {}),
      ...(group ? { group } : {}),
      ...(klass ? { class: klass } : {}),
      custom_details: {
        firing: firing.map((a) => ({ labels: a.labels, annotations: a.annotations, startsAt: a.startsAt })),
        num_firing: firing.length,
        num_resolved: p.alerts.length - firing.length,
        group_labels: p.groupLabels,
      },
    },
    client: c.client ?? 'ReskPoints',
    ...(c.clientUrl ? { client_url: c.clientUrl } : {}),
  };
}

export function sendPagerDuty(c: PagerDutyConfig, p: NotificationPayload, ctx: SendContext): Promise<DeliveryOutcome> {
  return postJson(c.url ?? PAGERDUTY_EVENTS_URL, JSON.stringify(pagerdutyEvent(c, p)), {}, ctx, [c.routingKey]);
}

export function describePagerDuty(c: PagerDutyConfig) {
  const url = c.url ?? PAGERDUTY_EVENTS_URL;
  return { type: 'pagerduty', host: new URL(url).host, url: redactUrl(url), routingKey: '<redacted>' };
}
