import { FakeClock, type TelemetryBatch } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { makeLlmCall } from '../store/contract/fixtures.js';
import type { AppendResult, BatchSink } from '../store/ports.js';
import { IngestPipeline } from './ingest-pipeline.js';

const call = (id: string, projectId = 'p1') => makeLlmCall({ id, projectId });

/** A sink that stores keys in memory; commits wait on `gate` so tests control timing. */
class GatedSink implements BatchSink {
  readonly stored = new Set<string>();
  commits: TelemetryBatch[] = [];
  gate: Promise<void> = Promise.resolve();
  failNext = false;
  async commit(batch: TelemetryBatch): Promise<AppendResult> {
    this.commits.push(batch);
    await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    const keys: Array<{ projectId: string; id: string }> = [];
    let dup = 0;
    for (const c of batch.llmCalls) {
      const k = `${c.projectId}/${c.id}`;
      if (this.stored.has(k)) dup++;
      else {
        this.stored.add(k);
        keys.push({ projectId: c.projectId, id: c.id });
      }
    }
    return {
      llmCallsInserted: keys.length,
      llmCallDuplicates: dup,
      spansInserted: batch.spans.length,
      spanDuplicates: 0,
      insertedLlmCallKeys: keys,
    };
  }
}

const make = (sink: BatchSink, over: Partial<ConstructorParameters<typeof IngestPipeline>[0]> = {}) =>
  new IngestPipeline({
    sink,
    clock: new FakeClock(),
    queueMaxEvents: 100,
    maxBatchEvents: 10,
    flushIntervalMs: 0,
    retryAfterSeconds: () => 3,
    ...over,
  });

describe('IngestPipeline', () => {
  it('resolves only after the sink committed, merging concurrent submissions into one commit', async () => {
    const sink = new GatedSink();
    let open!: () => void;
    sink.gate = new Promise((r) => (open = r));
    const p = make(sink, { flushIntervalMs: 5 });
    let resolved = 0;
    const a = p.submit({ llmCalls: [call('a'), call('b')], spans: [] }).then((r) => {
      resolved++;
      return r;
    });
    const b = p.submit({ llmCalls: [call('c')], spans: [] }).then((r) => {
      resolved++;
      return r;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(0);
    expect(sink.commits).toHaveLength(1);
    expect(sink.commits[0]?.llmCalls.map((c) => c.id)).toEqual(['a', 'b', 'c']);
    open();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra).toEqual({ ok: true, value: { llmCallsAccepted: 2, llmCallDuplicates: 0, spansAccepted: 0 } });
    expect(rb.ok && rb.value.llmCallsAccepted).toBe(1);
  });

  it('reports duplicates per submission, including a repeat inside one group', async () => {
    const sink = new GatedSink();
    const p = make(sink, { flushIntervalMs: 5 });
    await p.submit({ llmCalls: [call('x')], spans: [] });
    const [r1, r2] = await Promise.all([
      p.submit({ llmCalls: [call('x'), call('y')], spans: [] }),
      p.submit({ llmCalls: [call('y')], spans: [] }),
    ]);
    expect(r1.ok && r1.value).toEqual({ llmCallsAccepted: 1, llmCallDuplicates: 1, spansAccepted: 0 });
    expect(r2.ok && r2.value).toEqual({ llmCallsAccepted: 0, llmCallDuplicates: 1, spansAccepted: 0 });
  });

  it('refuses with RP_OVERLOADED and Retry-After when the queue is full, and accepts again once drained', async () => {
    const sink = new GatedSink();
    let open!: () => void;
    sink.gate = new Promise((r) => (open = r));
    const p = make(sink, { queueMaxEvents: 5, maxBatchEvents: 100 });
    const first = p.submit({ llmCalls: [1, 2, 3, 4].map((i) => call(`a${i}`)), spans: [] });
    const refused = await p.submit({ llmCalls: [call('b1'), call('b2')], spans: [] });
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.code).toBe('RP_OVERLOADED');
      expect(refused.error.retryAfterSeconds).toBe(3);
    }
    expect(p.counters.refusedEvents).toBe(2);
    open();
    expect((await first).ok).toBe(true);
    expect((await p.submit({ llmCalls: [call('b1'), call('b2')], spans: [] })).ok).toBe(true);
  });

  it('caps group size at maxBatchEvents', async () => {
    const sink = new GatedSink();
    const p = make(sink, { maxBatchEvents: 3, flushIntervalMs: 5 });
    await Promise.all([1, 2, 3, 4, 5].map((i) => p.submit({ llmCalls: [call(`c${i}`), call(`d${i}`)], spans: [] })));
    expect(sink.commits.every((b) => b.llmCalls.length <= 3 || b.llmCalls.length === 2)).toBe(true);
    expect(sink.stored.size).toBe(10);
  });

  it('a failed commit refuses its submissions with RP_UNAVAILABLE and stores nothing; the next commit works', async () => {
    const sink = new GatedSink();
    sink.failNext = true;
    const p = make(sink);
    const r = await p.submit({ llmCalls: [call('f')], spans: [] });
    expect(!r.ok && r.error.code).toBe('RP_UNAVAILABLE');
    expect(p.counters.failedCommits).toBe(1);
    expect((await p.submit({ llmCalls: [call('f')], spans: [] })).ok).toBe(true);
    expect(sink.stored.has('p1/f')).toBe(true);
  });

  it('close() drains what was accepted and refuses new work', async () => {
    const sink = new GatedSink();
    let open!: () => void;
    sink.gate = new Promise((r) => (open = r));
    const p = make(sink, { flushIntervalMs: 50 });
    const pending = p.submit({ llmCalls: [call('z')], spans: [] });
    const closing = p.close();
    const late = await p.submit({ llmCalls: [call('late')], spans: [] });
    expect(!late.ok && late.error.code).toBe('RP_SHUTTING_DOWN');
    open();
    await closing;
    expect((await pending).ok).toBe(true);
    expect(sink.stored.has('p1/z')).toBe(true);
  });
});
