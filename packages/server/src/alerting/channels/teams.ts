/**
 * Microsoft Teams through a workflow webhook ("When a Teams webhook request is received"): a
 * message whose one attachment is an Adaptive Card (title, text, facts of the group labels).
 * The workflow URL carries its signature: it is a secret.
 */
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

export const TEAMS_DEFAULTS = {
  title: '{{ $title }}',
  text: '{{ range $alerts }}- **{{ $status }}** {{ $summary }} ({{ $labelsText }})\n{{ end }}',
};

export const teamsSchema = z
  .object({
    url: secretUrl.describe('Workflow webhook URL (secret: it carries the signature)'),
    title: template.optional(),
    text: template.optional().describe('Body (Adaptive Card markdown)'),
  })
  .strict();
export type TeamsConfig = z.infer<typeof teamsSchema>;

export function teamsMessage(c: TeamsConfig, p: NotificationPayload) {
  const title = truncate(render(c.title ?? TEAMS_DEFAULTS.title, p).trim() || p.status, 1_000);
  const text = truncate(render(c.text ?? TEAMS_DEFAULTS.text, p).trim(), 20_000);
  const facts = Object.keys(p.groupLabels)
    .sort()
    .map((k) => ({ title: k, value: p.groupLabels[k] ?? '' }));
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body: [
            {
              type: 'TextBlock',
              text: title,
              size: 'Large',
              weight: 'Bolder',
              wrap: true,
              color: p.status === 'firing' ? 'Attention' : 'Good',
            },
            ...(text ? [{ type: 'TextBlock', text, wrap: true }] : []),
            ...(facts.length ? [{ type: 'FactSet', facts }] : []),
          ],
        },
      },
    ],
  };
}

export function sendTeams(c: TeamsConfig, p: NotificationPayload, ctx: SendContext): Promise<DeliveryOutcome> {
  return postJson(c.url, JSON.stringify(teamsMessage(c, p)), {}, ctx);
}

export function describeTeams(c: TeamsConfig) {
  return { type: 'teams', host: new URL(c.url).host, url: redactUrl(c.url) };
}
