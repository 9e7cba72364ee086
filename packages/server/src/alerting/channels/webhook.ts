/**
 * Generic webhook: the notification as JSON (Alertmanager's webhook v4 shape, so receivers
 * written for Alertmanager take it), signed with HMAC-SHA256 over `<timestamp>.<body>` when a
 * secret is configured, in `X-ReskPoints-Signature: sha256=<hex>` and `X-ReskPoints-Timestamp`
 * (epoch seconds) headers, so a receiver can refuse replays. `Idempotency-Key` carries the
 * notification id, the same on every attempt, so a receiver can drop a second copy.
 */
import { createHmac } from 'node:crypto';
import type { Notification } from '../dispatcher.js';
import { postJson } from './common.js';
import type { DeliveryOutcome } from './delivery.js';

export interface WebhookTarget {
  url: string;
  secret?: string | undefined;
  headers?: Record<string, string> | undefined;
}

export function webhookPayload(n: Notification, receiver: string, externalUrl: string) {
  const common = (key: 'labels' | 'annotations') => {
    const all = n.alerts.map((a) => a[key]);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(all[0] ?? {})) if (all.every((x) => x[k] === v)) out[k] = v;
    return out;
  };
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: 0,
    status: n.status,
    receiver,
    groupLabels: n.groupLabels,
    commonLabels: common('labels'),
    commonAnnotations: common('annotations'),
    externalURL: externalUrl,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: new Date(a.startsAtMs).toISOString(),
      endsAt: a.status === 'resolved' ? new Date(a.endsAtMs).toISOString() : '0001-01-01T00:00:00Z',
      generatorURL: a.generatorUrl ?? '',
      fingerprint: a.fingerprint,
    })),
  };
}

export function signBody(secret: string, timestampSec: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`;
}

/** Posts the stored body; `Idempotency-Key` is the notification id, the same on every retry. */
export async function sendWebhook(
  target: WebhookTarget,
  body: string,
  nowMs: number,
  timeoutMs: number,
  id?: string,
): Promise<DeliveryOutcome> {
  const ts = Math.floor(nowMs / 1000);
  const headers: Record<string, string> = {
    ...(target.headers ?? {}),
    'x-reskpoints-timestamp': String(ts),
    ...(id ? { 'idempotency-key': id } : {}),
  };
  if (target.secret) headers['x-reskpoints-signature'] = signBody(target.secret, ts, body);
  return postJson(target.url, body, headers, { id: id ?? '', nowMs, timeoutMs }, [
    ...(target.secret ? [target.secret] : []),
    ...Object.values(target.headers ?? {}),
  ]);
}
