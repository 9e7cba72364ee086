/**
 * Microsoft Teams through a started server on a fake clock, against a local HTTP server
 * standing in for the workflow webhook: the Adaptive Card in the message-attachment shape, a
 * 503 with Retry-After honoured, a 429 and a 502 retried, a 400 not retried, and the signed
 * workflow URL never in the API or the logs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AlertingHarness, httpRecorder, type Recorder, sentLog, startAlerting } from './testing.js';

const WORKFLOW_PATH =
  '/workflows/7f3a/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers&sig=teamsSig0123456789';

describe('Teams channel', () => {
  let h: AlertingHarness | null = null;
  const recorders: Recorder[] = [];
  afterEach(async () => {
    await h?.stop();
    h = null;
    for (const r of recorders.splice(0)) await r.close();
  });

  it('posts an Adaptive Card, honours Retry-After, retries 429 and 5xx, gives up on 400', async () => {
    const ok = await httpRecorder(
      [{ status: 503, headers: { 'retry-after': '3' } }, { status: 429 }, { status: 502 }],
      { status: 202 },
    );
    const bad = await httpRecorder([], { status: 400, body: '{"error":{"code":"InvalidRequestContent"}}' });
    recorders.push(ok, bad);
    h = await startAlerting(
      [
        { name: 'ml-teams', teams: { url: `${ok.base}${WORKFLOW_PATH}` } },
        {
          name: 'bad-teams',
          teams: { url: `${bad.base}${WORKFLOW_PATH}`, title: 'Alert {{ $groupLabels.alertname }}', text: '' },
        },
      ],
      { groupBy: ['alertname', 'team'], routes: [{ receiver: 'ml-teams', continue: true }, { receiver: 'bad-teams' }] },
    );
    await h.postAlerts([
      { labels: { alertname: 'LatencyHigh', team: 'ml', model: 'a' }, annotations: { summary: 'p95 2.1 s' } },
      { labels: { alertname: 'LatencyHigh', team: 'ml', model: 'b' }, annotations: { summary: 'p95 3.4 s' } },
    ]);
    await h.tickUntil(() => ok.received.length >= 1 && bad.received.length >= 1);
    expect(ok.received).toHaveLength(1); // 503, Retry-After: 3
    await h.advance(2_900);
    expect(ok.received).toHaveLength(1);
    await h.advance(200);
    expect(ok.received).toHaveLength(2); // 429 without Retry-After: backoff 100–200 ms
    await h.advance(250);
    expect(ok.received).toHaveLength(3); // 502: backoff 200–400 ms
    await h.advance(450);
    expect(ok.received).toHaveLength(4); // 202
    await h.advance(10_000);
    expect(ok.received).toHaveLength(4);
    expect(bad.received).toHaveLength(1);

    const msg = ok.received[3]?.json;
    expect(msg).toEqual({
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
                text: '[FIRING:2] LatencyHigh ml',
                size: 'Large',
                weight: 'Bolder',
                wrap: true,
                color: 'Attention',
              },
              {
                type: 'TextBlock',
                text:
                  '- **firing** p95 2.1 s (alertname=LatencyHigh, model=a, team=ml)\n' +
                  '- **firing** p95 3.4 s (alertname=LatencyHigh, model=b, team=ml)',
                wrap: true,
              },
              {
                type: 'FactSet',
                facts: [
                  { title: 'alertname', value: 'LatencyHigh' },
                  { title: 'team', value: 'ml' },
                ],
              },
            ],
          },
        },
      ],
    });
    // A custom title and an empty text leave the card with the title and the facts.
    expect(bad.received[0]?.json.attachments[0].content.body.map((b: any) => b.text ?? b.type)).toEqual([
      'Alert LatencyHigh',
      'FactSet',
    ]);

    const sent = await sentLog(h);
    expect(sent.find((s) => s.receiver === 'ml-teams')).toMatchObject({
      channel: 'teams',
      outcome: 'delivered',
      attempts: 4,
    });
    expect(sent.find((s) => s.receiver === 'bad-teams')).toMatchObject({
      outcome: 'failed',
      attempts: 1,
      detail: 'HTTP 400 (not retried): {"error":{"code":"InvalidRequestContent"}}',
    });
    const receivers = await h.api('GET', '/api/v1/alerts/receivers');
    expect(receivers.body.receivers[0].channels).toEqual([
      { type: 'teams', host: new URL(ok.base).host, url: `${ok.base}/<redacted>` },
    ]);
    const everything = JSON.stringify([receivers.body, await h.api('GET', '/api/v1/alerts/notifications'), h.logs]);
    expect(everything).not.toContain('teamsSig0123456789');
    expect(everything).not.toContain('/workflows/7f3a');
  });
});
