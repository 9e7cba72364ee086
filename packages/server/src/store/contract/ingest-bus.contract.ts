/**
 * The IngestBus contract: one suite that every implementation (in-process, NATS JetStream)
 * runs. An adapter test calls `describeIngestBusContract` with a factory that creates an
 * empty log and lets the suite connect clients to it; tests an adapter cannot pass are
 * skipped by name, each with its reason.
 *
 * Time-based behaviour (ack wait, nak delay) is tested with real time, so the factory should
 * configure a short ack wait (about a second).
 */
import type { TelemetryBatch } from '@reskpoints/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusMessage, IngestBus } from '../ports.js';
import { generateCalls, makeSpan } from './fixtures.js';
import type { ContractOptions } from './telemetry-store.contract.js';

export interface IngestBusHarness {
  /** Connects a new client (an ingest node or a worker) to the log under test. */
  connect(): Promise<IngestBus>;
  /** The ack wait the log was created with, in milliseconds. */
  ackWaitMs: number;
  /** Deletes the log and whatever `open` created (streams, consumers). */
  destroy(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function batchOf(n: number, seed: number, idPrefix = `m${seed}`): TelemetryBatch {
  return {
    llmCalls: generateCalls(n, { seed, idPrefix }),
    spans: [makeSpan({ traceId: `t${seed}`, spanId: `s${seed}`, attributes: { 'http.status_code': 200, ok: true } })],
  };
}

/** Pulls until `count` messages arrived or `timeoutMs` passed. */
async function pullAtLeast(bus: IngestBus, count: number, timeoutMs: number): Promise<BusMessage[]> {
  const out: BusMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) {
    out.push(...(await bus.pull(count - out.length, Math.min(1000, Math.max(1, deadline - Date.now())))));
  }
  return out;
}

/**
 * Pulls and acks at once (so nothing is redelivered meanwhile) until `quietMs` pass without
 * a message after the first one, or `timeoutMs` in all.
 */
async function drain(bus: IngestBus, timeoutMs: number, quietMs: number): Promise<BusMessage[]> {
  const out: BusMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  let lastAt = Date.now();
  while (Date.now() < deadline && (out.length === 0 || Date.now() - lastAt < quietMs)) {
    const msgs = await bus.pull(100, 200);
    for (const m of msgs) {
      await m.ack();
      out.push(m);
      lastAt = Date.now();
    }
  }
  return out;
}

/**
 * @param name shown in the test report, e.g. 'MemoryIngestBus'
 * @param open creates an empty log; the suite destroys it after each test
 */
export function describeIngestBusContract(
  name: string,
  open: () => Promise<IngestBusHarness>,
  options: ContractOptions = {},
): void {
  const skip = options.skip ?? {};
  const test = (testName: string, fn: () => Promise<void>, timeoutMs?: number) => {
    const reason = skip[testName];
    if (reason !== undefined) it.skip(`${testName} — skipped: ${reason}`, fn);
    else it(testName, fn, timeoutMs);
  };

  describe(`IngestBus contract: ${name}`, () => {
    let harness: IngestBusHarness;
    let clients: IngestBus[] = [];
    const connect = async () => {
      const bus = await harness.connect();
      clients.push(bus);
      return bus;
    };

    beforeEach(async () => {
      harness = await open();
      clients = [];
    });
    afterEach(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await harness.destroy();
    });

    test('a published batch is pulled intact, once, and gone after ack', async () => {
      const bus = await connect();
      const batch = batchOf(25, 1);
      await bus.publish('msg-1', batch);
      const [m, ...rest] = await bus.pull(10, 2000);
      expect(rest).toEqual([]);
      expect(m?.id).toBe('msg-1');
      expect(m?.deliveryCount).toBe(1);
      expect(m?.batch).toEqual(batch);
      await m?.ack();
      expect(await bus.pull(10, 200)).toEqual([]);
      // Acked means acked: nothing comes back after the ack wait either.
      await sleep(harness.ackWaitMs + 300);
      expect(await bus.pull(10, 200)).toEqual([]);
    });

    test('pull returns at most max messages, oldest first', async () => {
      const bus = await connect();
      for (let i = 0; i < 7; i++) await bus.publish(`order-${i}`, batchOf(1, 100 + i));
      const first = await bus.pull(3, 2000);
      expect(first.map((m) => m.id)).toEqual(['order-0', 'order-1', 'order-2']);
      const rest = await pullAtLeast(bus, 4, 3000);
      expect(rest.map((m) => m.id)).toEqual(['order-3', 'order-4', 'order-5', 'order-6']);
      for (const m of [...first, ...rest]) await m.ack();
    });

    test('pull on an empty log waits about waitMs and returns nothing', async () => {
      const bus = await connect();
      const started = Date.now();
      expect(await bus.pull(5, 1200)).toEqual([]);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(3000);
    });

    test('a waiting pull returns soon after a message arrives', async () => {
      const consumer = await connect();
      const producer = await connect();
      const started = Date.now();
      const pulled = consumer.pull(5, 8000);
      await sleep(300);
      await producer.publish('late', batchOf(1, 2));
      const got = await pulled;
      expect(got.map((m) => m.id)).toEqual(['late']);
      expect(Date.now() - started).toBeLessThan(4000);
      await got[0]?.ack();
    });

    test('a nak redelivers the message with a higher delivery count', async () => {
      const bus = await connect();
      const batch = batchOf(3, 3);
      await bus.publish('nak-me', batch);
      const [first] = await bus.pull(1, 2000);
      expect(first?.deliveryCount).toBe(1);
      await first?.nak();
      const [second] = await pullAtLeast(bus, 1, 3000);
      expect(second?.id).toBe('nak-me');
      expect(second?.deliveryCount).toBe(2);
      expect(second?.batch).toEqual(batch);
      await second?.ack();
      expect(await bus.pull(1, 300)).toEqual([]);
    });

    test('a nak with a delay holds the message back for that long', async () => {
      const bus = await connect();
      await bus.publish('later', batchOf(1, 4));
      const [m] = await bus.pull(1, 2000);
      const nakAt = Date.now();
      await m?.nak(1500);
      expect(await bus.pull(1, 700)).toEqual([]);
      const [again] = await pullAtLeast(bus, 1, 5000);
      expect(again?.id).toBe('later');
      expect(Date.now() - nakAt).toBeGreaterThanOrEqual(1300);
      await again?.ack();
    });

    test('a message neither acked nor nak-ed is redelivered after the ack wait', async () => {
      const bus = await connect();
      await bus.publish('crashed-worker', batchOf(2, 5));
      const [m] = await bus.pull(1, 2000);
      expect(m?.deliveryCount).toBe(1);
      const pulledAt = Date.now();
      // Not before the ack wait …
      expect(await bus.pull(1, Math.max(1, harness.ackWaitMs - 400))).toEqual([]);
      // … but after it.
      const [again] = await pullAtLeast(bus, 1, harness.ackWaitMs + 5000);
      expect(again?.id).toBe('crashed-worker');
      expect(again?.deliveryCount).toBe(2);
      expect(Date.now() - pulledAt).toBeGreaterThanOrEqual(harness.ackWaitMs - 200);
      await again?.ack();
    });

    test('working() restarts the ack wait: a slow worker keeps its message past the ack wait', async () => {
      const bus = await connect();
      await bus.publish('slow-worker', batchOf(2, 9));
      const [m] = await bus.pull(1, 2000);
      expect(m?.id).toBe('slow-worker');
      const other = await connect();
      // Twice the ack wait, saying "working" every third of it: nobody else gets the message.
      const until = Date.now() + 2 * harness.ackWaitMs;
      while (Date.now() < until) {
        await m?.working();
        expect(await other.pull(1, Math.max(1, Math.trunc(harness.ackWaitMs / 3)))).toEqual([]);
      }
      await m?.ack();
      // Acked in time, so it never comes back.
      expect(await other.pull(1, harness.ackWaitMs + 300)).toEqual([]);
    });

    test('re-publishing an id stores it once', async () => {
      const bus = await connect();
      const batch = batchOf(4, 6);
      await bus.publish('retry-me', batch);
      await bus.publish('retry-me', batch);
      const other = await connect();
      await other.publish('retry-me', batch);
      const got = await drain(bus, 1000, 1000);
      expect(got.map((m) => m.id)).toEqual(['retry-me']);
      // Still a duplicate after the first copy was consumed.
      await bus.publish('retry-me', batch);
      expect(await bus.pull(5, 500)).toEqual([]);
    });

    test('messages survive the clients that published and pulled them', async () => {
      const producer = await connect();
      await producer.publish('durable-1', batchOf(2, 7));
      await producer.publish('durable-2', batchOf(2, 8));
      await producer.close();
      const worker = await connect();
      const [m] = await worker.pull(1, 2000);
      expect(m?.id).toBe('durable-1');
      // The worker goes away without acking.
      await worker.close();
      const next = await connect();
      const got = await pullAtLeast(next, 2, harness.ackWaitMs + 5000);
      expect(got.map((x) => x.id).sort()).toEqual(['durable-1', 'durable-2']);
      expect(got.find((x) => x.id === 'durable-1')?.deliveryCount).toBe(2);
      for (const x of got) await x.ack();
    });

    test('workers sharing the log each get different messages', async () => {
      const producer = await connect();
      const ids = Array.from({ length: 20 }, (_, i) => `share-${i}`);
      for (const id of ids) await producer.publish(id, batchOf(1, 200 + ids.indexOf(id)));
      const a = await connect();
      const b = await connect();
      const seen = new Set<string>();
      const firstDeliveries: string[] = [];
      const work = async (bus: IngestBus) => {
        for (let round = 0; round < 20; round++) {
          const msgs = await bus.pull(3, 300);
          for (const m of msgs) {
            seen.add(m.id);
            if (m.deliveryCount === 1) firstDeliveries.push(m.id);
            await m.ack();
          }
          if (seen.size >= ids.length) return;
        }
      };
      await Promise.all([work(a), work(b)]);
      expect([...seen].sort()).toEqual([...ids].sort());
      // No message is handed out twice as a first delivery. (Delivery is at least once: one
      // whose ack was later than the ack wait, after a stall, may come again as a redelivery.)
      expect(firstDeliveries.length).toBe(new Set(firstDeliveries).size);
    });

    test('a batch too large for one message arrives complete', async () => {
      const bus = await connect();
      // About 4 MB of JSON: above the 1 MB default message limit of a NATS server.
      const calls = generateCalls(3000, { seed: 9, idPrefix: 'big' }).map((c) => ({
        ...c,
        promptExcerpt: 'p'.repeat(1000),
        responseExcerpt: 'r'.repeat(300),
      }));
      const spans = Array.from({ length: 50 }, (_, i) => makeSpan({ traceId: 'big', spanId: `s${i}` }));
      await bus.publish('big-batch', { llmCalls: calls, spans });
      // An adapter may split the batch into several messages: take whatever arrives.
      const got = await drain(bus, 3000, 500);
      const llmCalls = got.flatMap((m) => m.batch.llmCalls);
      expect(llmCalls.map((c) => c.id).sort()).toEqual(calls.map((c) => c.id).sort());
      expect(llmCalls.find((c) => c.id === calls[17]?.id)).toEqual(calls[17]);
      expect(got.flatMap((m) => m.batch.spans).length).toBe(50);
      // Re-publishing the same batch id is still deduplicated.
      await bus.publish('big-batch', { llmCalls: calls, spans });
      expect(await bus.pull(100, 500)).toEqual([]);
    });

    test('a closed client refuses to publish', async () => {
      const bus = await connect();
      await bus.close();
      await expect(bus.publish('after-close', batchOf(1, 10))).rejects.toThrow();
    });
  });
}
