/**
 * The channels a receiver can have, at most one of each kind: each notification to the
 * receiver becomes one outbox row per channel, delivered and retried on its own.
 */
import type { ReceiverConfig } from '../config.js';
import type { NotificationPayload, SendContext } from './common.js';
import type { DeliveryOutcome } from './delivery.js';
import { describeEmail, sendEmail } from './email.js';
import { describePagerDuty, sendPagerDuty } from './pagerduty.js';
import { describeSlack, sendSlack } from './slack.js';
import { describeTeams, sendTeams } from './teams.js';
import { sendWebhook } from './webhook.js';

export const CHANNEL_KINDS = ['webhook', 'slack', 'teams', 'email', 'pagerduty'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** The kinds configured on a receiver, in a fixed order. */
export function channelsOf(r: ReceiverConfig): ChannelKind[] {
  return CHANNEL_KINDS.filter((k) => r[k] !== undefined);
}

/** The channels a notification of this status goes to: `acknowledged` only to PagerDuty. */
export function channelsFor(r: ReceiverConfig, status: string): ChannelKind[] {
  const kinds = channelsOf(r);
  return status === 'acknowledged' ? kinds.filter((k) => k === 'pagerduty') : kinds;
}

/**
 * Sends one outbox row through one channel of its receiver. `body` is the stored notification
 * (webhook v4 JSON), posted as is by the webhook channel so its signature covers those bytes.
 */
export async function sendChannel(
  r: ReceiverConfig,
  kind: ChannelKind,
  body: string,
  ctx: SendContext,
): Promise<DeliveryOutcome> {
  const payload = () => JSON.parse(body) as NotificationPayload;
  switch (kind) {
    case 'webhook':
      if (r.webhook) return sendWebhook(r.webhook, body, ctx.nowMs, ctx.timeoutMs, ctx.id);
      break;
    case 'slack':
      if (r.slack) return sendSlack(r.slack, payload(), ctx);
      break;
    case 'teams':
      if (r.teams) return sendTeams(r.teams, payload(), ctx);
      break;
    case 'email':
      if (r.email) return sendEmail(r.email, payload(), ctx);
      break;
    case 'pagerduty':
      if (r.pagerduty) return sendPagerDuty(r.pagerduty, payload(), ctx);
      break;
  }
  return { kind: 'failed', reason: `receiver "${r.name}" has no ${kind} channel configured` };
}

/** The receiver's channels as the API shows them: kinds and hosts, secrets redacted. */
export function describeChannels(r: ReceiverConfig): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (r.webhook) {
    const u = new URL(r.webhook.url);
    out.push({
      type: 'webhook',
      host: u.host,
      url: `${u.protocol}//${u.host}/<redacted>`,
      signed: !!r.webhook.secret,
      ...(r.webhook.headers ? { headers: Object.keys(r.webhook.headers) } : {}),
    });
  }
  if (r.slack) out.push(describeSlack(r.slack));
  if (r.teams) out.push(describeTeams(r.teams));
  if (r.email) out.push(describeEmail(r.email));
  if (r.pagerduty) out.push(describePagerDuty(r.pagerduty));
  return out;
}
