import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock, type LlmCall, type TelemetryBatch } from '@reskpoints/core';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeIngestRequest } from '../ingest/decode.js';
import { LangfusePending } from '../ingest/langfuse/langfuse-pending.js';
import { AckLog, type LoggedRequest } from '../pipeline/ack-log.js';
import { IngestPipeline } from '../pipeline/ingest-pipeline.js';
import { DuckDbStateStore } from '../store/duckdb/duckdb-state-store.js';
import { DuckDbTelemetryStore } from '../store/duckdb/duckdb-telemetry-store.js';
import { ingestLangfuseBatch, type LangfuseIngestDeps, LangfusePendingFlusher } from './langfuse-ingest.js';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

describe('Langfuse ingestion with held observations (DuckDB state and telemetry)', () => {
  let clock: FakeClock;
  let state: DuckDbStateStore;
  let telemetry: DuckDbTelemetryStore;
  let pipeline: IngestPipeline;
  let deps: LangfuseIngestDeps;
  let dir: string;
  let log: AckLog | null = null;

  let gate: Promise<void> = Promise.resolve();
  const setUp = async (ackLog: boolean) => {
    clock = new FakeClock(T0);
    state = await DuckDbStateStore.open({ path: ':memory:', clock });
    await state.migrate();
    telemetry = await DuckDbTelemetryStore.open({ path: ':memory:', clock });
    await telemetry.migrate();
    dir = mkdtempSync(join(tmpdir(), 'reskpoints-lf-'));
    log = ackLog ? await AckLog.open(dir, { segmentBytes: 1 << 20 }) : null;
    pipeline = new IngestPipeline({
      sink: { commit: (b: TelemetryBatch) => gate.then(() => telemetry.appendBatch(b)) },
      clock,
      queueMaxEvents: 1000,
      maxBatchEvents: 100,
      flushIntervalMs: 0,
      retryAfterSeconds: () => 1,
      ...(log ? { ackLog: { log, afterMs: 0 } } : {}),
    });
    deps = { pipeline, pending: new LangfusePending({ state, clock }), clock, excerptMaxChars: () => 100 };
  };
  beforeEach(() => setUp(false));
  afterEach(async () => {
    gate = Promise.resolve();
    await pipeline.close();
    await log?.close();
    await telemetry.close();
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = async (batch: unknown[]) => {
    const r = await ingestLangfuseBatch(deps, 'p1', Buffer.from(JSON.stringify({ batch })));
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  const stored = async (): Promise<LlmCall[]> =>
    (await telemetry.listLlmCalls({ fromMs: T0 - 3_600_000, toMs: T0 + 3_600_000, filter: {}, limit: 100 })).items;

  const trace = { id: 'ev-t', type: 'trace-create', timestamp: iso(T0), body: { id: 't1', userId: 'u1', tags: ['x'] } };
  const create = {
    id: 'ev-c',
    type: 'generation-create',
    timestamp: iso(T0),
    body: { id: 'g1', traceId: 't1', model: 'gpt-4o', startTime: iso(T0), input: 'q'.repeat(500) },
  };
  const update = {
    id: 'ev-u',
    type: 'generation-update',
    timestamp: iso(T0 + 900),
    body: { id: 'g1', traceId: 't1', endTime: iso(T0 + 900), output: 'a', usageDetails: { input: 10, output: 2 } },
  };

  it('holds a generation until its update, then stores the merged call once', async () => {
    expect((await send([trace, create])).successes).toHaveLength(2);
    expect(await stored()).toEqual([]);
    expect((await state.listSettings('langfuse.pending.', 10)).map((r) => r.key)).toEqual([
      'langfuse.pending.p1/o/g1',
      'langfuse.pending.p1/t/t1',
    ]);
    clock.advance(1000);
    await send([update]);
    const calls = await stored();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      id: 'g1',
      model: 'gpt-4o',
      userId: 'u1',
      tags: ['x'],
      latencyMs: 900,
      responseExcerpt: 'a',
      usage: { inputTokens: 10, outputTokens: 2, totalTokens: 12 },
    });
    // The held input was kept only as long as an excerpt needs.
    expect(calls[0]?.promptExcerpt).toBe(`${'q'.repeat(100)}…`);
    // The observation is released; the trace stays for observations still to come.
    expect((await state.listSettings('langfuse.pending.', 10)).map((r) => r.key)).toEqual(['langfuse.pending.p1/t/t1']);
    // A client that resends the update (lost answer) does not store the call again.
    await send([update]);
    expect(await stored()).toHaveLength(1);
  });

  it('ignores flushPending in a client body: an unfinished generation is still held', async () => {
    const r = await ingestLangfuseBatch(
      deps,
      'p1',
      Buffer.from(JSON.stringify({ batch: [create], flushPending: true })),
    );
    expect(r.ok).toBe(true);
    expect(await stored()).toEqual([]);
    expect((await state.listSettings('langfuse.pending.', 10)).map((x) => x.key)).toEqual(['langfuse.pending.p1/o/g1']);
  });

  it('stores a generation that never ends after observationMaxAgeMs, and forgets old trace context', async () => {
    await send([trace, create]);
    const flusher = new LangfusePendingFlusher({ ...deps, logger: pino({ level: 'silent' }) });
    clock.advance(10 * 60_000);
    expect(await flusher.runOnce()).toEqual({ flushed: 0, failed: 0 });
    expect(await stored()).toEqual([]);
    clock.advance(6 * 60_000);
    expect(await flusher.runOnce()).toEqual({ flushed: 1, failed: 0 });
    const calls = await stored();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ id: 'g1', model: 'gpt-4o', userId: 'u1', latencyMs: 0 });
    clock.advance(3_600_000);
    await flusher.runOnce();
    expect(await state.listSettings('langfuse.pending.', 10)).toEqual([]);
  });

  it('logs the merged body, so the acknowledgement log replays the very same call', async () => {
    await pipeline.close();
    await setUp(true);
    // Commits are held up (a checkpoint, say): the update is acknowledged from the log.
    let open = () => {};
    gate = new Promise((r) => {
      open = r;
    });
    await send([trace, create]);
    await send([update]);
    // What a crash right now would leave behind.
    const copy = mkdtempSync(join(tmpdir(), 'reskpoints-lf-copy-'));
    cpSync(dir, copy, { recursive: true });
    open();
    await pipeline.settled(5000);
    const committed = await stored();
    const replayed: LlmCall[] = [];
    await AckLog.recover(copy, async (records: LoggedRequest[]) => {
      for (const rec of records) {
        const d = decodeIngestRequest(rec);
        if (d.ok) replayed.push(...d.value.batch.llmCalls);
      }
    });
    rmSync(copy, { recursive: true, force: true });
    // The logged body carries the held create: replay rebuilds the whole call.
    expect(replayed.map((c) => c.id)).toEqual(['g1']);
    expect(committed).toHaveLength(1);
    const { ingestedAtMs: _a, ...fromReplay } = replayed[0] as LlmCall;
    const { ingestedAtMs: _b, ...fromStore } = committed[0] as LlmCall;
    expect(fromReplay).toEqual(fromStore);
    expect(fromReplay).toMatchObject({ model: 'gpt-4o', userId: 'u1', latencyMs: 900 });
  });
});
