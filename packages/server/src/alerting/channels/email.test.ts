/**
 * Email through a started server on a fake clock, against a local SMTP server (smtp-server)
 * that records each message: a text and an HTML part from the templates, the Message-ID made
 * from the notification id (the same on the retry), SMTP 451 retried, 550 for a recipient and
 * 535 for a login not retried, and the password never in the API or the logs.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { type AlertingHarness, sentLog, startAlerting } from './testing.js';

const PASSWORD = 'smtpPassw0rd-do-not-log';

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

/** Accepts mail for user "alerts" with PASSWORD; answers DATA from `dataAnswers` (null accepts). */
async function smtpRecorder(dataAnswers: (number | null)[]) {
  const mails: Mail[] = [];
  let attempts = 0;
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'alerts' && auth.password === PASSWORD) cb(null, { user: 'alerts' });
      else cb(smtpError(535, '5.7.8 Authentication credentials invalid'));
    },
    onRcptTo(address, _session, cb) {
      if (address.address.startsWith('nobody@')) cb(smtpError(550, '5.1.1 No such user here'));
      else cb();
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.on('data', (c: Buffer) => {
        raw += c.toString('utf8');
      });
      stream.on('end', () => {
        attempts++;
        const answer = dataAnswers.shift() ?? null;
        if (answer !== null) return cb(smtpError(answer, '4.3.0 Mailbox busy, try again later'));
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    mails,
    attempts: () => attempts,
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The decoded body of the MIME part with this content type (quoted-printable or 7bit). */
function part(raw: string, type: string): string {
  const boundary = /boundary="?([^";\r\n]+)"?/.exec(raw)?.[1];
  if (!boundary) throw new Error('not multipart');
  const p = raw.split(`--${boundary}`).find((x) => new RegExp(`Content-Type: ${type}`, 'i').test(x));
  if (!p) throw new Error(`no ${type} part`);
  const [head, ...rest] = p.split(/\r?\n\r?\n/);
  const body = rest.join('\n\n');
  if (!/quoted-printable/i.test(head ?? '')) return body.replace(/\r\n/g, '\n').trim();
  return Buffer.from(
    body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  )
    .toString('utf8')
    .replace(/\r\n/g, '\n')
    .trim();
}

function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
  return new RegExp(`^${name}: (.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head)?.[1]?.replace(/\r?\n[ \t]/g, ' ');
}

describe('email channel', () => {
  let h: AlertingHarness | null = null;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await h?.stop();
    h = null;
    for (const c of closers.splice(0)) await c();
  });

  it('sends text and HTML over SMTP, retries 4xx, gives up on 5xx, hides the password', async () => {
    const smtp = await smtpRecorder([451]);
    closers.push(smtp.close);
    const server = { host: '127.0.0.1', port: smtp.port, tlsRejectUnauthorized: false };
    h = await startAlerting(
      [
        {
          name: 'mail',
          email: {
            ...server,
            to: ['oncall@example.com', 'lead@example.com'],
            from: 'ReskPoints <alerts@example.com>',
            auth: { username: 'alerts', password: PASSWORD },
          },
        },
        {
          name: 'mail-custom',
          email: {
            ...server,
            to: 'nobody@example.com',
            from: 'alerts@example.com',
            subject: '{{ $commonLabels.alertname }}: {{ $firingCount }} firing',
          },
        },
        {
          name: 'mail-wrong-login',
          email: {
            ...server,
            to: 'oncall@example.com',
            from: 'alerts@example.com',
            auth: { username: 'alerts', password: 'wrong-password' },
          },
        },
      ],
      {
        routes: [
          { receiver: 'mail', continue: true },
          { receiver: 'mail-custom', continue: true },
          { receiver: 'mail-wrong-login' },
        ],
      },
    );
    await h.postAlerts([
      {
        labels: { alertname: 'CostHigh', model: 'gpt-4o' },
        annotations: { summary: 'cost <b>up</b> 60% & rising' },
      },
    ]);
    const done = async () => (await sentLog(h as AlertingHarness)).length >= 2;
    for (let i = 0; i < 100 && !(await done()); i++) {
      await h.advance(0);
      await new Promise((r) => setTimeout(r, 50));
    }
    // 550 for the recipient and 535 for the login are final at the first attempt; 451 waits.
    let sent = await sentLog(h);
    expect(sent.find((s) => s.receiver === 'mail-custom')).toMatchObject({
      channel: 'email',
      outcome: 'failed',
      attempts: 1,
    });
    expect(sent.find((s) => s.receiver === 'mail-custom').detail).toMatch(
      /^SMTP 550: .*No such user here \(not retried\)$/,
    );
    expect(sent.find((s) => s.receiver === 'mail-wrong-login').detail).toMatch(/^SMTP 535: .*\(not retried\)$/);
    expect(smtp.mails).toHaveLength(0);
    expect(smtp.attempts()).toBe(1);
    const pending = (await h.api('GET', '/api/v1/alerts/notifications')).body.pending;
    expect(pending).toMatchObject([{ receiver: 'mail', channel: 'email', attempts: 1 }]);
    expect(pending[0].lastError).toMatch(/^SMTP 451: .*try again later$/);

    for (let i = 0; i < 100 && smtp.mails.length === 0; i++) {
      await h.advance(100);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(smtp.mails).toHaveLength(1);
    sent = await sentLog(h);
    expect(sent.find((s) => s.receiver === 'mail')).toMatchObject({ outcome: 'delivered', attempts: 2 });

    const mail = smtp.mails[0] as Mail;
    expect(mail.from).toBe('alerts@example.com');
    expect(mail.to).toEqual(['oncall@example.com', 'lead@example.com']);
    expect(header(mail.raw, 'Subject')).toBe('[FIRING:1] CostHigh');
    const id = pending[0].id;
    expect(header(mail.raw, 'Message-ID')).toBe(`<${id}@reskpoints.alerting>`);
    expect(header(mail.raw, 'X-ReskPoints-Notification-Id')).toBe(id);
    expect(header(mail.raw, 'Content-Type')).toMatch(/^multipart\/alternative/);
    expect(part(mail.raw, 'text/plain')).toBe(
      '[FIRING:1] CostHigh\n\n[firing] cost <b>up</b> 60% & rising\n  labels: alertname=CostHigh, model=gpt-4o\n  since: ' +
        new Date(sent.find((s) => s.receiver === 'mail').createdAtMs).toISOString(),
    );
    const html = part(mail.raw, 'text/html');
    expect(html).toContain('<h2>[FIRING:1] CostHigh</h2>');
    expect(html).toContain('<td>cost &lt;b&gt;up&lt;/b&gt; 60% &amp; rising</td>');
    expect(html).toContain('<td>alertname=CostHigh, model=gpt-4o</td>');

    const receivers = await h.api('GET', '/api/v1/alerts/receivers');
    expect(receivers.body.receivers[0].channels).toEqual([
      {
        type: 'email',
        host: `127.0.0.1:${smtp.port}`,
        to: ['oncall@example.com', 'lead@example.com'],
        from: 'ReskPoints <alerts@example.com>',
        auth: { username: 'alerts', password: '<redacted>' },
      },
    ]);
    const everything = JSON.stringify([receivers.body, await h.api('GET', '/api/v1/alerts/notifications'), h.logs]);
    expect(h.logs.join('')).toContain('notification not delivered');
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain('wrong-password');
  });
});
