/**
 * PagerDuty Events API v2 through a started server on a fake clock, against a local HTTP
 * server standing in for events.pagerduty.com: trigger, acknowledge (while silenced) and
 * resolve of one alert group with one stable dedup_key (also across a restart on the same
 * data), payload summary, severity,
 * source and custom details from templates, 429 with Retry-After and 500 retried, 400 final,
 * and the routing key never in the API or the logs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pagerdutyDedupKey, pagerdutySeverity } from './pagerduty.js';
import { type AlertingHarness, httpRecorder, type Recorder, sentLog, startAlerting } from './testing.js';

const ROUTING_KEY = 'R0UT1NGKEYpagerduty0123456789ab';
const ACCEPTED = {
  status: 202,
  headers: { 'content-type': 'application/json' },
  body: '{"status":"success","message":"Event processed"}',
};

describe('PagerDuty channel', () => {
  let h: AlertingHarness | null = null;
  const recorders: Recorder[] = [];
  afterEach(async () => {
    await h?.stop();
    h = null;
    for (const r of recorders.splice(0)) await r.close();
  });

  it('triggers and resolves with one dedup_key, retries 429 and 5xx, gives up on 400, hides the routing key', async () => {
    const pd = await httpRecorder(
      [
        { status: 429, headers: { 'retry-after': '1' } },
        { status: 500, body: `internal error for ${ROUTING_KEY}` },
      ],
      ACCEPTED,
    );
    const invalid = await httpRecorder([], {
      status: 400,
      body: '{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'routing_key\' is incorrect"]}',
    });
    recorders.push(pd, invalid);
    h = await startAlerting(
      [
        {
          name: 'oncall',
          pagerduty: {
            routingKey: ROUTING_KEY,
            url: `${pd.base}/v2/enqueue`,
            source: '{{ $commonLabels.project }}',
            component: '{{ $commonLabels.model }}',
            group: '{{ $groupLabels.alertname }}',
            clientUrl: 'https://reskpoints.example.com/alerts',
          },
        },
        { name: 'misconfigured', pagerduty: { routingKey: 'short', url: `${invalid.base}/v2/enqueue` } },
      ],
      { routes: [{ receiver: 'oncall', continue: true }, { receiver: 'misconfigured' }] },
    );
    const labels = { alertname: 'ErrorRateHigh', project: 'prj_shop', model: 'gpt-4o', severity: 'page' };
    await h.postAlerts([{ labels, annotations: { summary: 'error rate 7%' } }]);
    await h.tickUntil(() => pd.received.length >= 1 && invalid.received.length >= 1);
    expect(pd.received).toHaveLength(1); // 429, Retry-After: 1
    await h.advance(900);
    expect(pd.received).toHaveLength(1);
    await h.advance(200);
    expect(pd.received).toHaveLength(2); // 500
    await h.advance(250);
    expect(pd.received).toHaveLength(3); // 202
    await h.advance(5_000);
    expect(pd.received).toHaveLength(3);
    expect(invalid.received).toHaveLength(1);

    const trigger = pd.received[2]?.json;
    expect(pd.received[2]?.path).toBe('/v2/enqueue');
    expect(trigger).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      client: 'ReskPoints',
      client_url: 'https://reskpoints.example.com/alerts',
      payload: {
        summary: '[FIRING:1] ErrorRateHigh',
        source: 'prj_shop',
        severity: 'critical', // label severity="page"
        component: 'gpt-4o',
        group: 'ErrorRateHigh',
        timestamp: new Date(h.clock.nowMs() - 900 - 200 - 250 - 5_000).toISOString(),
        custom_details: {
          num_firing: 1,
          num_resolved: 0,
          group_labels: { alertname: 'ErrorRateHigh' },
          firing: [{ labels, annotations: { summary: 'error rate 7%' } }],
        },
      },
    });
    expect(trigger.dedup_key).toMatch(/^[0-9a-f]{64}$/);
    const sent = await sentLog(h);
    expect(sent.find((s) => s.receiver === 'oncall')).toMatchObject({ outcome: 'delivered', attempts: 3 });
    expect(sent.find((s) => s.receiver === 'misconfigured')).toMatchObject({
      channel: 'pagerduty',
      outcome: 'failed',
      attempts: 1,
    });
    expect(sent.find((s) => s.receiver === 'misconfigured').detail).toMatch(
      /^HTTP 400 \(not retried\): .*invalid event/,
    );

    // A restart on the same data: the resolve carries the same dedup_key.
    await h.restart();
    await h.postAlerts([
      { labels, annotations: { summary: 'error rate 7%' }, endsAt: new Date(h.clock.nowMs() - 1).toISOString() },
    ]);
    await h.advance(60_000);
    await h.tickUntil(() => pd.received.length >= 4);
    const resolve = pd.received[3]?.json;
    expect(resolve).toEqual({ routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: trigger.dedup_key });
    expect(resolve.dedup_key).toBe(pagerdutyDedupKey('oncall', JSON.parse(JSON.stringify(sent[0].groupKey))));

    const receivers = await h.api('GET', '/api/v1/alerts/receivers');
    expect(receivers.body.receivers[0].channels).toEqual([
      { type: 'pagerduty', host: new URL(pd.base).host, url: `${pd.base}/<redacted>`, routingKey: '<redacted>' },
    ]);
    const notifications = await h.api('GET', '/api/v1/alerts/notifications');
    const everything = JSON.stringify([receivers.body, notifications.body, h.logs]);
    expect(everything).not.toContain(ROUTING_KEY);
  });

  it('acknowledges while the group is silenced (PagerDuty only) and resolves when the alert ends under the silence', async () => {
    const pd = await httpRecorder([], ACCEPTED);
    const slack = await httpRecorder([]);
    recorders.push(pd, slack);
    h = await startAlerting([
      {
        name: 'oncall',
        pagerduty: { routingKey: ROUTING_KEY, url: `${pd.base}/v2/enqueue` },
        slack: { url: `${slack.base}/services/T/B/x` },
      },
    ]);
    const labels = { alertname: 'LatencyHigh', model: 'gpt-4o', severity: 'warning' };
    await h.postAlerts([{ labels, annotations: { summary: 'p95 4 s' } }]);
    await h.tickUntil(() => pd.received.length >= 1 && slack.received.length >= 1);
    const trigger = pd.received[0]?.json;
    expect(trigger).toMatchObject({ event_action: 'trigger', payload: { severity: 'warning' } });

    const silence = await h.api('POST', '/api/v1/alerts/silences', {
      matchers: ['alertname="LatencyHigh"'],
      endsAtMs: h.clock.nowMs() + 3_600_000,
      createdBy: 'oncall',
      comment: 'looking into it',
    });
    expect(silence.status).toBe(201);
    await h.advance(60_000);
    await h.tickUntil(() => pd.received.length >= 2);
    expect(pd.received[1]?.json).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'acknowledge',
      dedup_key: trigger.dedup_key,
    });
    await h.advance(60_000);
    await h.advance(60_000);
    expect(pd.received).toHaveLength(2); // acknowledged once
    expect(slack.received).toHaveLength(1); // Slack has no acknowledgement

    await h.postAlerts([
      { labels, annotations: { summary: 'p95 4 s' }, endsAt: new Date(h.clock.nowMs() - 1).toISOString() },
    ]);
    await h.advance(0);
    await h.advance(60_000);
    await h.tickUntil(() => pd.received.length >= 3 && slack.received.length >= 2);
    expect(pd.received[2]?.json).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'resolve',
      dedup_key: trigger.dedup_key,
    });
    expect(slack.received[1]?.json.text).toBe('[RESOLVED] LatencyHigh');
    const sent = await sentLog(h);
    expect(sent.map((s) => [s.channel, s.status, s.outcome]).sort()).toEqual([
      ['pagerduty', 'acknowledged', 'delivered'],
      ['pagerduty', 'firing', 'delivered'],
      ['pagerduty', 'resolved', 'delivered'],
      ['slack', 'firing', 'delivered'],
      ['slack', 'resolved', 'delivered'],
    ]);
  });

  it('maps severities onto the four PagerDuty knows', () => {
    expect(['critical', 'Error', 'warning', 'info', 'page', 'warn', '', 'high'].map(pagerdutySeverity)).toEqual([
      'critical',
      'error',
      'warning',
      'info',
      'critical',
      'warning',
      'error',
      'error',
    ]);
  });
});
