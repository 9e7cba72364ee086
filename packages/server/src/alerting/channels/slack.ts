/**
 * Slack through an incoming webhook: a Block Kit message (a header with the title, the text as
 * mrkdwn sections, a context line with receiver and group labels) and `text` as the fallback
 * for notifications. The webhook URL carries the token: it is a secret.
 */
import { z } from 'zod';
import {
  labelsText,
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

export const SLACK_DEFAULTS = {
  title: '{{ $title }}',
  text: '{{ range $alerts }}• *{{ $status }}* {{ $summary }} ({{ $labelsText }})\n{{ end }}',
};

export const slackSchema = z
  .object({
    url: secretUrl.describe('Incoming webhook URL (secret: it carries the token)'),
    title: template.optional().describe('Header (plain text, at most 150 characters)'),
    text: template.optional().describe('Body (mrkdwn; values are escaped)'),
    channel: z.string().max(256).optional().describe('Channel override (legacy webhooks only)'),
    username: z.string().max(256).optional(),
    iconEmoji: z.string().max(256).optional(),
  })
  .strict();
export type SlackConfig = z.infer<typeof slackSchema>;

/** Slack's mrkdwn control characters. */
export const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Block Kit limits: header 150, section text 3000, 50 blocks per message. */
export function slackMessage(c: SlackConfig, p: NotificationPayload) {
  const title = truncate(render(c.title ?? SLACK_DEFAULTS.title, p).trim() || p.status, 150);
  const text = render(c.text ?? SLACK_DEFAULTS.text, p, slackEscape).trim();
  const sections: string[] = [];
  for (let rest = text; rest.length > 0 && sections.length < 45; ) {
    let cut = rest.length <= 3000 ? rest.length : rest.lastIndexOf('\n', 3000);
    if (cut <= 0) cut = 3000;
    sections.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  const context = [`*${slackEscape(p.receiver)}*`, slackEscape(labelsText(p.groupLabels))].filter(Boolean).join(' · ');
  return {
    text: title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title, emoji: true } },
      ...sections.map((s) => ({ type: 'section', text: { type: 'mrkdwn', text: s } })),
      { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(context, 3000) }] },
    ],
    ...(c.channel ? { channel: c.channel } : {}),
    ...(c.username ? { username: c.username } : {}),
    ...(c.iconEmoji ? { icon_emoji: c.iconEmoji } : {}),
  };
}

export function sendSlack(c: SlackConfig, p: NotificationPayload, ctx: SendContext): Promise<DeliveryOutcome> {
  return postJson(c.url, JSON.stringify(slackMessage(c, p)), {}, ctx);
}

export function describeSlack(c: SlackConfig) {
  return {
    type: 'slack',
    host: new URL(c.url).host,
    url: redactUrl(c.url),
    ...(c.channel ? { channel: c.channel } : {}),
  };
}
