/**
 * Slack through a started server on a fake clock, against a local HTTP server standing in for
 * the incoming webhook: Block Kit payloads from default and custom templates, a 429 retried
 * no sooner than its Retry-After, a 500 retried with backoff, a 404 not retried, the resolved
 * notification, and the webhook token never in the API, the notification log or the logs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { alertingConfigSchema } from '../config.js';
import { type AlertingHarness, httpRecorder, type Recorder, sentLog, startAlerting } from './testing.js';

const TOKEN_PATH = '/services/T0001/B0002/xoxSlackSecret42';

describe('Slack channel', () => {
  let h: AlertingHarness | null = null;
  const recorders: Recorder[] = [];
  afterEach(async () => {
    await h?.stop();
    h = null;
    for (const r of recorders.splice(0)) await r.close();
  });

  it('posts Block Kit, honours 429 Retry-After, retries 5xx, gives up on 4xx, and keeps the URL secret', async () => {
    const ok = await httpRecorder([
      { status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' },
      { status: 500 },
    ]);
    const gone = await httpRecorder([], { status: 404, body: `no_service for ${TOKEN_PATH}` });
    recorders.push(ok, gone);
    h = await startAlerting(
      [
        {
          name: 'ops-slack',
          slack: {
            url: `${ok.base}${TOKEN_PATH}`,
            title: '{{ $commonLabels.alertname }} ({{ $firingCount }} firing, {{ $resolvedCount }} resolved)',
            text: '{{ range $alerts }}{{ $status }}: {{ $annotations.summary }} on {{ $labels.model }}\n{{ end }}',
          },
        },
        { name: 'old-slack', slack: { url: `${gone.base}${TOKEN_PATH}` } },
      ],
      { routes: [{ receiver: 'ops-slack', continue: true }, { receiver: 'old-slack' }] },
    );
    await h.postAlerts([
      {
        labels: { alertname: 'CostHigh', model: 'gpt-4o', severity: 'page' },
        annotations: { summary: 'cost <b>&</b> up' },
      },
    ]);
    await h.tickUntil(() => ok.received.length >= 1 && gone.received.length >= 1);
    expect(ok.received).toHaveLength(1); // answered 429, Retry-After: 2
    expect(gone.received).toHaveLength(1); // answered 404

    await h.advance(1_000);
    expect(ok.received).toHaveLength(1); // not before Retry-After
    await h.advance(1_100);
    expect(ok.received).toHaveLength(2); // answered 500: backoff 100–200 ms
    await h.advance(250);
    expect(ok.received).toHaveLength(3); // answered 200
    await h.advance(10_000);
    expect(ok.received).toHaveLength(3);
    expect(gone.received).toHaveLength(1); // a 404 is final

    // Custom templates; values escaped for mrkdwn; the same message on every attempt.
    const custom = ok.received[2]?.json;
    expect(ok.received[0]?.body).toBe(ok.received[2]?.body);
    expect(ok.received[2]?.path).toBe(TOKEN_PATH);
    expect(ok.received[2]?.headers['content-type']).toBe('application/json');
    expect(custom).toEqual({
      text: 'CostHigh (1 firing, 0 resolved)',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'CostHigh (1 firing, 0 resolved)', emoji: true } },
        { type: 'section', text: { type: 'mrkdwn', text: 'firing: cost &lt;b&gt;&amp;&lt;/b&gt; up on gpt-4o' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: '*ops-slack* · alertname=CostHigh' }] },
      ],
    });
    // Default templates.
    expect(gone.received[0]?.json).toEqual({
      text: '[FIRING:1] CostHigh',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: '[FIRING:1] CostHigh', emoji: true } },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '• *firing* cost &lt;b&gt;&amp;&lt;/b&gt; up (alertname=CostHigh, model=gpt-4o, severity=page)',
          },
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: '*old-slack* · alertname=CostHigh' }] },
      ],
    });

    const sent = await sentLog(h);
    expect(sent.find((s) => s.receiver === 'ops-slack')).toMatchObject({
      channel: 'slack',
      outcome: 'delivered',
      attempts: 3,
      status: 'firing',
    });
    expect(sent.find((s) => s.receiver === 'old-slack')).toMatchObject({
      channel: 'slack',
      outcome: 'failed',
      attempts: 1,
      detail: 'HTTP 404 (not retried): no_service for <redacted>',
    });

    // Resolved: sent at the group's next flush.
    await h.postAlerts([
      {
        labels: { alertname: 'CostHigh', model: 'gpt-4o', severity: 'page' },
        annotations: { summary: 'cost back' },
        endsAt: new Date(h.clock.nowMs() - 1_000).toISOString(),
      },
    ]);
    await h.advance(0);
    await h.advance(60_000);
    await h.tickUntil(() => ok.received.length >= 4);
    expect(ok.received[3]?.json.text).toBe('CostHigh (0 firing, 1 resolved)');
    expect(ok.received[3]?.json.blocks[1].text.text).toBe('resolved: cost back on gpt-4o');

    // The token never leaves: receivers list, notification log, log lines.
    const receivers = await h.api('GET', '/api/v1/alerts/receivers');
    expect(receivers.body.receivers[0]).toEqual({
      name: 'ops-slack',
      sendResolved: true,
      channels: [{ type: 'slack', host: new URL(ok.base).host, url: `${ok.base}/<redacted>` }],
    });
    const everything = JSON.stringify([receivers.body, await h.api('GET', '/api/v1/alerts/notifications'), h.logs]);
    expect(h.logs.join('')).toContain('notification not delivered'); // the 404 was logged…
    expect(everything).not.toContain('xoxSlackSecret42'); // …without the token
    expect(everything).not.toContain('B0002');
  });

  it('refuses a template that names an unknown variable, and a URL that is not http(s)', () => {
    const r = alertingConfigSchema.safeParse({
      route: { receiver: 's' },
      receivers: [
        {
          name: 's',
          slack: { url: 'ftp://hooks.example.com/x', title: '{{ $nope }} {{ range $alerts }}{{ $labels }}' },
        },
      ],
    });
    expect(r.success).toBe(false);
    const issues = (r.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        'receivers.0.slack.url: must be an http(s) URL',
        expect.stringMatching(/^receivers\.0\.slack\.title: unknown variable "\$nope"/),
        'receivers.0.slack.title: "{{ range $alerts }}" without "{{ end }}"',
        'receivers.0.slack.title: "$labels" is a map: use "$labels.<name>"',
      ]),
    );
  });
});
