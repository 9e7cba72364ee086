/**
 * NatsIngestBus against the NATS server (JetStream) on loopback. Every test gets its own
 * stream and subject, deleted afterwards.
 */
import { randomHex } from '@reskpoints/core';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCalls } from '../contract/fixtures.js';
import { describeIngestBusContract } from '../contract/ingest-bus.contract.js';
import { NatsIngestBus, type NatsIngestBusOptions } from './nats-ingest-bus.js';

const SERVERS = 'nats://127.0.0.1:4222';
const ACK_WAIT_MS = 1000;

function options(): NatsIngestBusOptions {
  const stream = `RP_TEST_${randomHex(6).toUpperCase()}`;
  return { servers: SERVERS, stream, subject: `rp.test.${stream}`, ackWaitMs: ACK_WAIT_MS };
}

describeIngestBusContract('NatsIngestBus', async () => {
  const opts = options();
  return {
    connect: () => NatsIngestBus.connect(opts),
    ackWaitMs: ACK_WAIT_MS,
    destroy: async () => {
      const admin = await NatsIngestBus.connect(opts);
      await admin.destroyStream();
      await admin.close();
    },
  };
});

describe('NatsIngestBus specifics', () => {
  const buses: NatsIngestBus[] = [];
  afterAll(async () => {
    for (const b of buses) {
      await b.destroyStream().catch(() => undefined);
      await b.close();
    }
  });

  it('nodes connecting at once all find the one stream', async () => {
    const opts = options();
    const nodes = await Promise.all([1, 2, 3, 4].map(() => NatsIngestBus.connect(opts)));
    buses.push(...nodes);
    await nodes[0]!.publish('x', { llmCalls: [], spans: [] });
    expect(await nodes[3]!.pendingMessages()).toBe(1);
  });

  it('splits a large batch into parts with derived ids, and stores acked parts no more', async () => {
    const bus = await NatsIngestBus.connect({ ...options(), maxMessageBytes: 64 * 1024 });
    buses.push(bus);
    const calls = generateCalls(400, { seed: 3 });
    await bus.publish('split', { llmCalls: calls, spans: [] });
    const parts = await bus.pendingMessages();
    expect(parts).toBeGreaterThan(2);
    const got = await bus.pull(100, 1000);
    expect(got.length).toBe(parts);
    expect(got.every((m) => new RegExp(`^split#\\d+/${parts}$`).test(m.id))).toBe(true);
    expect(got.flatMap((m) => m.batch.llmCalls)).toEqual(calls);
    for (const m of got) await m.ack();
    expect(await bus.pendingMessages()).toBe(0);
  });

  it('terminates a message that is not a telemetry batch instead of redelivering it forever', async () => {
    const undecodable: string[] = [];
    const opts = { ...options(), onUndecodable: (i: { id: string }) => void undecodable.push(i.id) };
    const bus = await NatsIngestBus.connect(opts);
    buses.push(bus);
    const raw = (bus as unknown as { js: { publish: (s: string, d: Uint8Array, o: object) => Promise<unknown> } }).js;
    await raw.publish(bus.subject, new TextEncoder().encode('{"not":"a batch"}'), { msgID: 'junk' });
    await bus.publish('good', { llmCalls: [], spans: [] });
    const got = await bus.pull(10, 1000);
    expect(got.map((m) => m.id)).toEqual(['good']);
    expect(undecodable).toEqual(['junk']);
    await got[0]!.ack();
    await new Promise((r) => setTimeout(r, ACK_WAIT_MS + 300));
    expect(await bus.pull(10, 300)).toEqual([]);
  });

  it('a pull taking a backlog while others publish strands no message until the ack wait', async () => {
    // A long ack wait, so a message delivered to a request nobody listens to any more would
    // show up as missing here rather than come back within the test.
    const opts = { ...options(), ackWaitMs: 60_000 };
    const [publisher, worker] = await Promise.all([NatsIngestBus.connect(opts), NatsIngestBus.connect(opts)]);
    buses.push(publisher, worker);
    // Large messages make each pull take long enough for publishes to land while it runs.
    const calls = generateCalls(300, { seed: 5 });
    const total = 300;
    let next = 0;
    const publishing = Promise.all(
      [1, 2, 3, 4].map(async () => {
        while (next < total) await publisher.publish(`m${next++}`, { llmCalls: calls, spans: [] });
      }),
    );
    const received = new Set<string>();
    const deadline = Date.now() + 30_000;
    while (received.size < total && Date.now() < deadline) {
      const got = await worker.pull(64, 200);
      for (const m of got) received.add(m.id);
      await Promise.all(got.map((m) => m.ack()));
    }
    await publishing;
    expect(received.size).toBe(total);
    expect(await worker.pendingMessages()).toBe(0);
  });
});
