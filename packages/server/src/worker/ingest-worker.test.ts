import { rmSync } from 'node:fs';
import { FakeClock, type TelemetryBatch } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import { FileDeadLetterStore } from '../pipeline/file-dead-letters.js';
import { generateCalls, makeLlmCall } from '../store/contract/fixtures.js';
import { DuckDbTelemetryStore } from '../store/duckdb/duckdb-telemetry-store.js';
import { MemoryIngestBus, MemoryIngestLog } from '../store/memory-bus.js';
import { PermanentStoreError } from '../store/permanent-error.js';
import type { AppendResult, TelemetryStore } from '../store/ports.js';
import { tempDir } from '../test-support/harness.js';
import { IngestWorker } from './ingest-worker.js';

const BAD_MODEL = 'model-the-store-refuses';

/** The real DuckDB store; appends holding BAD_MODEL are refused permanently, or every append fails while `down`. */
async function store(s: { down: boolean }): Promise<{ inner: DuckDbTelemetryStore; wrapped: TelemetryStore }> {
  const inner = await DuckDbTelemetryStore.open({ path: ':memory:', clock: new FakeClock() });
  await inner.migrate();
  const wrapped = Object.create(inner) as TelemetryStore;
  wrapped.appendBatch = async (batch: TelemetryBatch): Promise<AppendResult> => {
    if (s.down) throw new Error('connect ECONNREFUSED');
    if (batch.llmCalls.some((c) => c.model === BAD_MODEL)) throw new PermanentStoreError(`cannot store ${BAD_MODEL}`);
    return inner.appendBatch(batch);
  };
  return { inner, wrapped };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('IngestWorker', () => {
  it('stores the messages merged with a poison one and keeps the refused event as a dead letter', async () => {
    const s = { down: false };
    const { inner, wrapped } = await store(s);
    const dir = tempDir('reskpoints-worker-dlq-');
    dirs.push(dir);
    const deadLetters = await FileDeadLetterStore.open(dir, new FakeClock());
    const bus = new MemoryIngestBus(new MemoryIngestLog());
    for (let m = 0; m < 8; m++) {
      const llmCalls = Array.from({ length: 5 }, (_, i) =>
        makeLlmCall({ id: `m${m}-${i}`, model: m === 5 && i === 2 ? BAD_MODEL : 'gpt-4o-mini' }),
      );
      await bus.publish(`msg-${m}`, { llmCalls, spans: [] });
    }
    const worker = new IngestWorker({ bus, store: wrapped, deadLetters: { store: deadLetters }, pullWaitMs: 0 });
    expect(await worker.runOnce()).toBe(8);
    expect(bus.log.size).toBe(0);
    const page = await inner.listLlmCalls({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, filter: {}, limit: 100 });
    expect(page.items.length).toBe(39);
    const letters = await deadLetters.list({ limit: 10 });
    expect(letters).toMatchObject([{ origin: 'bus', reason: 'store-rejected', events: 1 }]);
    const letter = await deadLetters.get(letters[0]?.id as string);
    expect(letter?.payload).toMatchObject({ type: 'batch', batch: { llmCalls: [{ id: 'm5-2' }] } });
    await inner.close();
  });

  it('redelivers on a transient failure, with a delay that doubles per delivery', async () => {
    const s = { down: true };
    const { inner, wrapped } = await store(s);
    const dir = tempDir('reskpoints-worker-dlq-');
    dirs.push(dir);
    const deadLetters = await FileDeadLetterStore.open(dir, new FakeClock());
    let nowMs = 1_000_000;
    const bus = new MemoryIngestBus(new MemoryIngestLog({ nowMs: () => nowMs }));
    await bus.publish('one', { llmCalls: [makeLlmCall({ id: 'x' })], spans: [] });
    const worker = new IngestWorker({ bus, store: wrapped, deadLetters: { store: deadLetters }, pullWaitMs: 0 });
    expect(await worker.runOnce()).toBe(1);
    // 1 s after the first failure, 2 s after the second.
    nowMs += 999;
    expect(await worker.runOnce()).toBe(0);
    nowMs += 1;
    expect(await worker.runOnce()).toBe(1);
    nowMs += 1999;
    expect(await worker.runOnce()).toBe(0);
    nowMs += 1;
    s.down = false;
    expect(await worker.runOnce()).toBe(1);
    expect(bus.log.size).toBe(0);
    expect(await deadLetters.held()).toEqual({ letters: 0, events: 0 });
    await inner.close();
  });
});

/** A real store whose appends take `delayMs` longer, as a large ClickHouse insert or a lock wait does. */
function slowStore(store: TelemetryStore, delayMs: number): TelemetryStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'appendBatch') {
        return async (...args: Parameters<TelemetryStore['appendBatch']>): Promise<AppendResult> => {
          await new Promise((r) => setTimeout(r, delayMs));
          return target.appendBatch(...args);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('IngestWorker while an append is slow', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('keeps a message it is still appending from being delivered to another worker', async () => {
    const ackWaitMs = 300;
    const log = new MemoryIngestLog({ ackWaitMs });
    const store = await DuckDbTelemetryStore.open({ path: ':memory:' });
    closers.push(() => store.close());
    await store.migrate();
    await new MemoryIngestBus(log).publish('slow', { llmCalls: generateCalls(20, { seed: 3 }), spans: [] });
    const worker = new IngestWorker({
      bus: new MemoryIngestBus(log),
      store: slowStore(store, 4 * ackWaitMs),
      pullWaitMs: 50,
      workingIntervalMs: ackWaitMs / 4,
    });
    const appending = worker.runOnce();
    // Another worker polls all along; the message must not reach it while the first appends.
    const other = new MemoryIngestBus(log);
    const stolen: string[] = [];
    const started = Date.now();
    while (Date.now() - started < 5 * ackWaitMs) {
      for (const m of await other.pull(1, 50)) stolen.push(m.id);
    }
    expect(await appending).toBe(1);
    expect(stolen).toEqual([]);
    expect(worker.counters).toMatchObject({ messages: 1, appends: 1, failures: 0 });
    expect(await other.pull(1, 2 * ackWaitMs)).toEqual([]);
  });
});
