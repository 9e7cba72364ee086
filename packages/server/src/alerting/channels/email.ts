/**
 * Email over SMTP (nodemailer): a message with a text and an HTML part, its `Message-ID` made
 * from the notification id so a mail system can drop a second copy. SMTP 4xx answers and
 * connection failures are transient (retried); 5xx answers are final. The password is a secret.
 */
import { z } from 'zod';
import { type NotificationPayload, render, type SendContext, scrub, template, truncate } from './common.js';
import type { DeliveryOutcome } from './delivery.js';

export const EMAIL_DEFAULTS = {
  subject: '{{ $title }}',
  text: '{{ $title }}\n\n{{ range $alerts }}[{{ $status }}] {{ $summary }}\n  labels: {{ $labelsText }}\n  since: {{ $startsAt }}\n{{ end }}',
  html:
    '<!doctype html><html><body style="font-family:sans-serif">' +
    '<h2>{{ $title }}</h2><table cellpadding="6" style="border-collapse:collapse">' +
    '<tr><th align="left">Status</th><th align="left">Alert</th><th align="left">Labels</th><th align="left">Since</th></tr>' +
    '{{ range $alerts }}<tr><td>{{ $status }}</td><td>{{ $summary }}</td><td>{{ $labelsText }}</td><td>{{ $startsAt }}</td></tr>{{ end }}' +
    '</table><p style="color:#666">Receiver {{ $receiver }}</p></body></html>',
};

const address = z.string().min(3).max(320).regex(/@/, 'must be an email address');

export const emailSchema = z
  .object({
    to: z.union([address, z.array(address).min(1).max(100)]).describe('Recipient address(es)'),
    from: z.string().min(3).max(320).describe('Sender, e.g. "ReskPoints <alerts@example.com>"'),
    host: z.string().min(1).max(255).describe('SMTP server'),
    port: z.number().int().min(1).max(65_535).default(587),
    secure: z.boolean().default(false).describe('TLS from the start (port 465); otherwise STARTTLS when offered'),
    requireTls: z.boolean().default(false).describe('Refuse to send unless STARTTLS succeeds'),
    tlsRejectUnauthorized: z.boolean().default(true).describe('Verify the server certificate'),
    auth: z
      .object({ username: z.string().min(1).max(512), password: z.string().max(4096).describe('secret') })
      .strict()
      .optional(),
    subject: template.optional(),
    text: template.optional().describe('Plain-text part'),
    html: template.optional().describe('HTML part (values are HTML-escaped)'),
    headers: z.record(z.string(), z.string().max(4096)).optional(),
  })
  .strict();
export type EmailConfig = z.input<typeof emailSchema>;

export const htmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

export function emailMessage(c: EmailConfig, p: NotificationPayload, id: string) {
  return {
    from: c.from,
    to: c.to,
    subject: truncate(
      render(c.subject ?? EMAIL_DEFAULTS.subject, p)
        .replace(/\s+/g, ' ')
        .trim(),
      998,
    ),
    text: render(c.text ?? EMAIL_DEFAULTS.text, p),
    html: render(c.html ?? EMAIL_DEFAULTS.html, p, htmlEscape),
    messageId: `<${id}@reskpoints.alerting>`,
    headers: { ...(c.headers ?? {}), 'X-ReskPoints-Notification-Id': id },
  };
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** SMTP reply codes: 4xx transient, 5xx permanent; no reply (connection, timeout, TLS) transient. */
export function classifySmtp(e: SmtpError, secrets: readonly string[]): DeliveryOutcome {
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const text = e.response ? `: ${truncate(scrub(e.response, secrets).replace(/\s+/g, ' ').trim(), 200)}` : '';
  if (code !== undefined && code >= 500) return { kind: 'failed', reason: `SMTP ${code}${text} (not retried)` };
  if (code !== undefined && code >= 400) return { kind: 'retry', reason: `SMTP ${code}${text}` };
  if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE' || e.code === 'ECONFIG')
    return { kind: 'failed', reason: `SMTP ${e.code} (not retried)` };
  return {
    kind: 'retry',
    reason: e.code === 'ETIMEDOUT' ? 'timeout' : `connection failed${e.code ? ` (${e.code})` : ''}`,
  };
}

export async function sendEmail(c: EmailConfig, p: NotificationPayload, ctx: SendContext): Promise<DeliveryOutcome> {
  // Loaded on first use: a server without email receivers never loads the SMTP client.
  const nodemailer = (await import('nodemailer')).default;
  const transport = nodemailer.createTransport({
    host: c.host,
    port: c.port ?? 587,
    secure: c.secure ?? false,
    requireTLS: c.requireTls ?? false,
    tls: { rejectUnauthorized: c.tlsRejectUnauthorized ?? true },
    ...(c.auth ? { auth: { user: c.auth.username, pass: c.auth.password } } : {}),
    connectionTimeout: ctx.timeoutMs,
    greetingTimeout: ctx.timeoutMs,
    socketTimeout: ctx.timeoutMs,
    logger: false,
    debug: false,
  });
  try {
    const info = await transport.sendMail(emailMessage(c, p, ctx.id));
    return { kind: 'delivered', status: Number.parseInt(String(info.response ?? '250'), 10) || 250 };
  } catch (e) {
    return classifySmtp(e as SmtpError, c.auth ? [c.auth.password] : []);
  } finally {
    transport.close();
  }
}

export function describeEmail(c: EmailConfig) {
  return {
    type: 'email',
    host: `${c.host}:${c.port ?? 587}`,
    to: Array.isArray(c.to) ? c.to : [c.to],
    from: c.from,
    ...(c.auth ? { auth: { username: c.auth.username, password: '<redacted>' } } : {}),
  };
}
