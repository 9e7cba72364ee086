/**
 * What every channel shares: the notification as stored in the outbox (Alertmanager's webhook
 * v4 shape, rendered into each channel's message at delivery time), the variables channel
 * templates see, template validation in config schemas, and an HTTP POST whose answer is
 * classified for retries. Nothing here puts a URL, header or key into a reason or a log line:
 * channel URLs and keys are secrets.
 */
import { z } from 'zod';
import { checkTemplate, expandTemplate, type TemplateScope } from '../template.js';
import { classifyHttp, type DeliveryOutcome } from './delivery.js';
import type { webhookPayload } from './webhook.js';

export type NotificationPayload = ReturnType<typeof webhookPayload>;
export type PayloadAlert = NotificationPayload['alerts'][number];

/** Per attempt: the outbox row id (the idempotency key), the clock and the attempt timeout. */
export interface SendContext {
  id: string;
  nowMs: number;
  timeoutMs: number;
}

const TOP_NAMES = [
  'status',
  'receiver',
  'groupKey',
  'title',
  'alertCount',
  'firingCount',
  'resolvedCount',
  'externalURL',
] as const;
const TOP_MAPS = ['groupLabels', 'commonLabels', 'commonAnnotations'] as const;
const ITEM_NAMES = [
  'status',
  'summary',
  'labelsText',
  'startsAt',
  'endsAt',
  'fingerprint',
  'generatorURL',
  'alertname',
] as const;
const ITEM_MAPS = ['labels', 'annotations'] as const;
const LISTS = { alerts: ITEM_NAMES, firing: ITEM_NAMES, resolved: ITEM_NAMES };

/** The variables of channel templates, for docs and error messages. */
export const TEMPLATE_VARIABLES = {
  top: [...TOP_NAMES, ...TOP_MAPS],
  lists: Object.keys(LISTS),
  item: [...ITEM_NAMES, ...ITEM_MAPS],
};

/** `k=v, k=v` sorted by name. */
export function labelsText(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(', ');
}

/** Alertmanager's default title: `[FIRING:2] <group label values>`. */
export function defaultTitle(p: NotificationPayload): string {
  const firing = p.alerts.filter((a) => a.status === 'firing').length;
  const values = Object.keys(p.groupLabels)
    .sort()
    .map((k) => p.groupLabels[k]);
  const what = values.length ? values.join(' ') : (p.commonLabels['alertname'] ?? labelsText(p.commonLabels));
  return `[${p.status.toUpperCase()}${p.status === 'firing' ? `:${firing}` : ''}] ${what}`.trimEnd();
}

function itemScope(a: PayloadAlert): TemplateScope {
  return {
    status: a.status,
    labels: a.labels,
    annotations: a.annotations,
    summary: a.annotations['summary'] ?? a.annotations['description'] ?? a.labels['alertname'] ?? '',
    labelsText: labelsText(a.labels),
    startsAt: a.startsAt,
    endsAt: a.status === 'resolved' ? a.endsAt : '',
    fingerprint: a.fingerprint,
    generatorURL: a.generatorURL,
    alertname: a.labels['alertname'] ?? '',
  };
}

export function notificationScope(p: NotificationPayload): TemplateScope {
  const alerts = p.alerts.map(itemScope);
  const firing = p.alerts.filter((a) => a.status === 'firing').map(itemScope);
  const resolved = p.alerts.filter((a) => a.status === 'resolved').map(itemScope);
  return {
    status: p.status,
    receiver: p.receiver,
    groupKey: p.groupKey,
    title: defaultTitle(p),
    alertCount: alerts.length,
    firingCount: firing.length,
    resolvedCount: resolved.length,
    externalURL: p.externalURL,
    groupLabels: p.groupLabels,
    commonLabels: p.commonLabels,
    commonAnnotations: p.commonAnnotations,
    alerts,
    firing,
    resolved,
  };
}

export function render(
  template: string,
  p: NotificationPayload | TemplateScope,
  escapeValue?: (s: string) => string,
): string {
  const scope = 'version' in p ? notificationScope(p as NotificationPayload) : (p as TemplateScope);
  return expandTemplate(template, scope, escapeValue);
}

/** A template string in a channel config, checked against the notification variables. */
export const template = z
  .string()
  .max(16_384)
  .superRefine((t, ctx) => {
    const problems = checkTemplate(
      t,
      { names: TOP_NAMES, maps: TOP_MAPS, lists: LISTS },
      { names: ITEM_NAMES, maps: ITEM_MAPS },
    );
    for (const message of problems) ctx.addIssue({ code: 'custom', message });
  });

/** An http(s) URL; it may carry a token, so it is a secret. */
export const secretUrl = z
  .string()
  .max(4096)
  .refine((u) => {
    try {
      return ['http:', 'https:'].includes(new URL(u).protocol);
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

/** `https://host/…` without path, query or credentials: what the API shows of a secret URL. */
export function redactUrl(u: string): string {
  const url = new URL(u);
  return `${url.protocol}//${url.host}/<redacted>`;
}

/** Cuts `s` to `max` characters, ending with `…` when cut. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/**
 * Replaces every secret (and a URL's path and query, where webhook tokens live) in a text
 * taken from a receiver's answer, which may echo the request.
 */
export function scrub(text: string, secrets: readonly string[]): string {
  const parts: string[] = [];
  for (const s of secrets) {
    if (!s) continue;
    parts.push(s);
    try {
      const u = new URL(s);
      if (u.pathname.length > 1) parts.push(u.pathname);
      if (u.search) parts.push(u.search.slice(1));
    } catch {
      // not a URL
    }
  }
  let out = text;
  for (const p of parts.filter((x) => x.length >= 4).sort((a, b) => b.length - a.length))
    out = out.split(p).join('<redacted>');
  return out;
}

/** POSTs JSON and classifies the answer; the reason never carries the URL or a secret. */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  ctx: SendContext,
  secrets: readonly string[] = [],
): Promise<DeliveryOutcome> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'ReskPoints-Alerting', ...headers },
      body,
      signal: AbortSignal.timeout(ctx.timeoutMs),
    });
    const text = await res.text().catch(() => '');
    const outcome = classifyHttp(res.status, res.headers.get('retry-after'), ctx.nowMs);
    // The answer's first words help ("invalid_blocks", "channel_not_found"); they hold no secret of ours.
    if (outcome.kind !== 'delivered' && text)
      return {
        ...outcome,
        reason: `${outcome.reason}: ${truncate(
          scrub(text, [url, ...secrets])
            .replace(/\s+/g, ' ')
            .trim(),
          200,
        )}`,
      };
    return outcome;
  } catch (e) {
    return { kind: 'retry', reason: (e as Error).name === 'TimeoutError' ? 'timeout' : 'connection failed' };
  }
}
