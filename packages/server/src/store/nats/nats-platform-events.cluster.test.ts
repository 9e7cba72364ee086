/**
 * Platform events between two nodes over a real NATS server: an event published on one node
 * reaches the other node's listeners once, and the publisher's own listeners once (not again
 * when it comes back from the server).
 */
import { randomHex } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlatformEvent } from '../../platform/events.js';
import { NatsPlatformEvents } from './nats-platform-events.js';

const NATS_URL = process.env.RESKPOINTS_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('NatsPlatformEvents', () => {
  const open: NatsPlatformEvents[] = [];
  afterEach(async () => {
    for (const n of open.splice(0)) await n.close();
  });

  it('delivers an event to every node once, by topic', async () => {
    const subject = `reskpoints.events.test_${randomHex(6)}`;
    const leader = await NatsPlatformEvents.connect({ servers: NATS_URL, subject, nowMs: () => 7 });
    const api = await NatsPlatformEvents.connect({ servers: NATS_URL, subject });
    open.push(leader, api);
    const onLeader: PlatformEvent[] = [];
    const onApi: PlatformEvent[] = [];
    const onApiAlerts: PlatformEvent[] = [];
    leader.subscribe('*', (e) => onLeader.push(e));
    api.subscribe('*', (e) => onApi.push(e));
    api.subscribe(['alerts'], (e) => onApiAlerts.push(e));
    // Both subscriptions must be live on the server before publishing.
    await new Promise((r) => setTimeout(r, 100));
    leader.publish({ topic: 'anomalies', projectId: 'prj_a', data: { score: 0.9 } });
    leader.publish({ topic: 'alerts', data: { state: 'firing' } });
    await until(() => onApi.length === 2);
    await new Promise((r) => setTimeout(r, 100));
    const expected = [
      { topic: 'anomalies', projectId: 'prj_a', atMs: 7, data: { score: 0.9 } },
      { topic: 'alerts', projectId: null, atMs: 7, data: { state: 'firing' } },
    ];
    expect(onApi).toEqual(expected);
    expect(onLeader).toEqual(expected);
    expect(onApiAlerts).toEqual([expected[1]]);
  });
});
