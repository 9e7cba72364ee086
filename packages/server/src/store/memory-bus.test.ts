import { describe, expect, it } from 'vitest';
import { describeIngestBusContract } from './contract/ingest-bus.contract.js';
import { IngestLogFullError, MemoryIngestBus, MemoryIngestLog } from './memory-bus.js';

describeIngestBusContract('MemoryIngestBus', async () => {
  const log = new MemoryIngestLog({ ackWaitMs: 600 });
  return { connect: async () => new MemoryIngestBus(log), ackWaitMs: 600, destroy: async () => undefined };
});

describe('MemoryIngestBus specifics', () => {
  const batch = { llmCalls: [], spans: [] };

  it('rejects publishes beyond maxMessages and accepts again once acked', async () => {
    const bus = new MemoryIngestBus(new MemoryIngestLog({ maxMessages: 2 }));
    await bus.publish('a', batch);
    await bus.publish('b', batch);
    await expect(bus.publish('c', batch)).rejects.toBeInstanceOf(IngestLogFullError);
    const [m] = await bus.pull(1, 0);
    await m?.ack();
    await bus.publish('c', batch);
    expect(bus.log.size).toBe(2);
  });

  it('forgets ids after the duplicate window', async () => {
    let now = 1_000;
    const bus = new MemoryIngestBus(new MemoryIngestLog({ duplicateWindowMs: 100, nowMs: () => now }));
    await bus.publish('x', batch);
    (await bus.pull(1, 0))[0]?.ack();
    now += 50;
    await bus.publish('x', batch);
    expect(await bus.pull(1, 0)).toEqual([]);
    now += 100;
    await bus.publish('x', batch);
    expect((await bus.pull(1, 0)).map((m) => m.id)).toEqual(['x']);
  });

  it('a late ack from an earlier delivery does not drop the redelivered message', async () => {
    let now = 0;
    const bus = new MemoryIngestBus(new MemoryIngestLog({ ackWaitMs: 10, nowMs: () => now }));
    await bus.publish('slow', batch);
    const [first] = await bus.pull(1, 0);
    now += 20;
    const [second] = await bus.pull(1, 0);
    expect(second?.deliveryCount).toBe(2);
    await first?.ack();
    now += 20;
    expect((await bus.pull(1, 0)).map((m) => m.deliveryCount)).toEqual([3]);
  });

  it('the publisher changing its batch afterwards does not change the logged message', async () => {
    const bus = new MemoryIngestBus();
    const mutable = { llmCalls: [], spans: [] as Array<never> };
    await bus.publish('m', mutable);
    (mutable.spans as unknown[]).push({});
    const [m] = await bus.pull(1, 0);
    expect(m?.batch.spans).toEqual([]);
  });
});
