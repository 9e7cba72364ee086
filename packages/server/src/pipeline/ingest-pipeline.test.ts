import { rmSync } from 'node:fs';
import { FakeClock, type TelemetryBatch } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import { makeLlmCall } from '../store/contract/fixtures.js';
import type { AppendResult, BatchSink } from '../store/ports.js';
import { tempDir } from '../test-support/harness.js';
import { AckLog, type LoggedRequest } from './ack-log.js';
import { IngestPipeline, type IngestPipelineOptions } from './ingest-pipeline.js';

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
    expect(ra).toEqual({
      ok: true,
      value: { llmCallsAccepted: 2, llmCallDuplicates: 0, spansAccepted: 0, deadLetteredEvents: 0 },
    });
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
    expect(r1.ok && r1.value).toEqual({
      llmCallsAccepted: 1,
      llmCallDuplicates: 1,
      spansAccepted: 0,
      deadLetteredEvents: 0,
    });
    expect(r2.ok && r2.value).toEqual({
      llmCallsAccepted: 0,
      llmCallDuplicates: 1,
      spansAccepted: 0,
      deadLetteredEvents: 0,
    });
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

  describe('with the acknowledgement log', () => {
    const dirs: string[] = [];
    afterEach(() => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });
    const request = (tag: string): LoggedRequest => ({
      kind: 'native-json',
      projectId: 'p1',
      receivedAtMs: 1,
      excerptMaxChars: 0,
      body: Buffer.from(tag),
    });
    async function withLog(sink: BatchSink, afterMs: number, over: Partial<IngestPipelineOptions> = {}) {
      const dir = tempDir('reskpoints-pipeline-log-');
      dirs.push(dir);
      const log = await AckLog.open(dir, { segmentBytes: 1 << 20 });
      const acked: number[] = [];
      const p = make(sink, { ackLog: { log, afterMs, onAcknowledged: (n) => acked.push(n) }, ...over });
      return { p, log, dir, acked };
    }
    const recovered = async (dir: string) => {
      const bodies: string[] = [];
      await AckLog.recover(dir, async (rs) => {
        for (const r of rs) bodies.push(r.body.toString());
      });
      return bodies;
    };

    it('acknowledges a held-up submission from the log, then releases the record once committed', async () => {
      const sink = new GatedSink();
      let open!: () => void;
      sink.gate = new Promise((r) => (open = r));
      const { p, log, dir, acked } = await withLog(sink, 20);
      const r = await p.submit({ llmCalls: [call('h1'), call('h2')], spans: [] }, request('h'));
      expect(r).toEqual({
        ok: true,
        value: { llmCallsAccepted: 2, llmCallDuplicates: 0, spansAccepted: 0, deadLetteredEvents: 0 },
      });
      expect(sink.stored.size).toBe(0);
      expect(acked).toEqual([2]);
      expect(p.counters.loggedAckEvents).toBe(2);
      expect(log.liveRecords).toBe(1);
      expect(p.depthEvents).toBe(2); // still counted against the queue bound until committed
      let settled = false;
      const settling = p.settled(5_000).then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 30));
      expect(settled).toBe(false); // a read now would miss h1 and h2, so it waits
      open();
      await settling;
      expect(sink.stored.size).toBe(2);
      expect(log.liveRecords).toBe(0);
      await log.close();
      expect(await recovered(dir)).toEqual([]);
    });

    it('refuses with RP_OVERLOADED when held request bodies would pass queueMaxBytes', async () => {
      const sink = new GatedSink();
      let open!: () => void;
      sink.gate = new Promise((r) => (open = r));
      const { p, log } = await withLog(sink, 1000, { queueMaxBytes: 10, maxBatchEvents: 100 });
      const first = p.submit({ llmCalls: [call('b1')], spans: [] }, request('12345678'));
      const refused = await p.submit({ llmCalls: [call('b2')], spans: [] }, request('abcd'));
      expect(!refused.ok && refused.error.code).toBe('RP_OVERLOADED');
      expect(!refused.ok && refused.error.message).toMatch(/8 body bytes/);
      open();
      expect((await first).ok).toBe(true);
      expect((await p.submit({ llmCalls: [call('b2')], spans: [] }, request('abcd'))).ok).toBe(true);
      await log.close();
    });

    it('answers from the commit, with duplicates counted, when the store is quick', async () => {
      const sink = new GatedSink();
      const { p, log } = await withLog(sink, 1000);
      await p.submit({ llmCalls: [call('q')], spans: [] }, request('q1'));
      const r = await p.submit({ llmCalls: [call('q'), call('r')], spans: [] }, request('q2'));
      expect(r.ok && r.value).toEqual({
        llmCallsAccepted: 1,
        llmCallDuplicates: 1,
        spansAccepted: 0,
        deadLetteredEvents: 0,
      });
      expect(log.counters.records).toBe(0);
      await log.close();
    });

    it('retries a failed commit of acknowledged work instead of refusing it; unacknowledged work gets 503', async () => {
      const sink = new GatedSink();
      let open!: () => void;
      sink.gate = new Promise((r) => (open = r));
      const { p, log } = await withLog(sink, 10, { retryAfterSeconds: () => 0.05 as number, flushIntervalMs: 5 });
      // Both join one group; only k1 carries a request to log, so k2 can only be answered by the commit.
      const plain = p.submit({ llmCalls: [call('k2')], spans: [] });
      const acked = await p.submit({ llmCalls: [call('k1')], spans: [] }, request('k1'));
      expect(acked.ok).toBe(true);
      expect(sink.commits).toHaveLength(1);
      sink.failNext = true;
      open();
      const refused = await plain;
      expect(!refused.ok && refused.error.code).toBe('RP_UNAVAILABLE');
      await p.whenIdle();
      expect(p.counters.failedCommits).toBe(1);
      expect([...sink.stored]).toEqual(['p1/k1']);
      expect(log.liveRecords).toBe(0);
      await log.close();
    });

    it('leaves acknowledged work in the log when closing while the store fails, for the next start', async () => {
      const sink = new GatedSink();
      let open!: () => void;
      sink.gate = new Promise((r) => (open = r));
      const { p, log, dir } = await withLog(sink, 0);
      expect((await p.submit({ llmCalls: [call('s1')], spans: [] }, request('s1'))).ok).toBe(true);
      const closing = p.close();
      sink.failNext = true;
      open();
      await closing;
      await log.close();
      expect(sink.stored.size).toBe(0);
      expect(await recovered(dir)).toEqual(['s1']);
    });
  });
});
