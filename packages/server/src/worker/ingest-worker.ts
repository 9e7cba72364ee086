import { batchEvents, batchFromEvents, concatBatches, type TelemetryBatch } from '@reskpoints/core';
import { commitIsolating, type RejectedEvent } from '../pipeline/isolate.js';
import { errorMessage, isPermanentStoreError } from '../store/permanent-error.js';
import type {
  AppendResult,
  BusMessage,
  DeadLetter,
  DeadLetterStore,
  IngestBus,
  TelemetryStore,
} from '../store/ports.js';

export interface IngestWorkerOptions {
  bus: IngestBus;
  store: TelemetryStore;
  /** Most bus messages merged into one store append. Default 64. */
  maxMessages?: number;
  /** How long one pull waits for the first message. Default 500 ms. */
  pullWaitMs?: number;
  /** Redelivery delay after a failed append; doubles with each redelivery up to `maxRetryDelayMs`. Default 1,000 ms. */
  retryDelayMs?: number;
  /** Longest redelivery delay. Default 30,000 ms. */
  maxRetryDelayMs?: number;
  /**
   * Where events the store refuses permanently go. With it, a failed append that is permanent is
   * split until the refused events stand alone; the rest is stored, the refused events are
   * written here (one letter per message) and every message is acked, so one poison message
   * does not hold up the others. Without it, every failure is redelivered.
   */
  deadLetters?: { store: DeadLetterStore; onDeadLettered?: (letter: DeadLetter) => void };
  /**
   * While an append runs, its messages' ack wait is restarted this often, so a slow append
   * (a large insert, a wait for another worker's lock) is not handed to a second worker.
   * Keep it well below the bus's ack wait. Default 10,000 ms (the ack wait defaults to 60 s).
   */
  workingIntervalMs?: number;
  onAppended?: (result: AppendResult, messages: number) => void;
  onError?: (error: unknown) => void;
}

/**
 * Moves batches from the durable ingest log into the telemetry store. A message is acked
 * only after the store committed it; a crash in between means redelivery, which the store's
 * idempotent append turns into a no-op — so every acknowledged event lands exactly once.
 */
export class IngestWorker {
  private running = false;
  private loop: Promise<void> | null = null;
  readonly counters = { messages: 0, appends: 0, failures: 0, deadLetteredEvents: 0 };

  constructor(private readonly opts: IngestWorkerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Pulls and stores one round; returns how many messages it handled. */
  async runOnce(): Promise<number> {
    const { bus, store } = this.opts;
    let messages: BusMessage[];
    try {
      messages = await bus.pull(this.opts.maxMessages ?? 64, this.opts.pullWaitMs ?? 500);
    } catch (e) {
      this.counters.failures++;
      this.opts.onError?.(e);
      await new Promise((r) => setTimeout(r, this.opts.retryDelayMs ?? 1000));
      return 0;
    }
    if (messages.length === 0) return 0;
    const merged = concatBatches(messages.map((m) => m.batch));
    let result: AppendResult;
    const heartbeat = setInterval(() => {
      for (const m of messages) m.working().catch(() => undefined);
    }, this.opts.workingIntervalMs ?? 10_000);
    try {
      try {
        result = await store.appendBatch(merged);
      } catch (e) {
        if (!this.opts.deadLetters || !isPermanentStoreError(e)) throw e;
        result = await this.isolate(messages, merged, e);
      }
    } catch (e) {
      this.counters.failures++;
      this.opts.onError?.(e);
      await Promise.all(messages.map((m) => m.nak(this.retryDelay(m)).catch(() => undefined)));
      return messages.length;
    } finally {
      clearInterval(heartbeat);
    }
    this.counters.appends++;
    this.counters.messages += messages.length;
    await Promise.all(messages.map((m) => m.ack()));
    this.opts.onAppended?.(result, messages.length);
    return messages.length;
  }

  /** Exponential backoff by delivery count, so a long outage is not hammered. */
  private retryDelay(m: BusMessage): number {
    const base = this.opts.retryDelayMs ?? 1000;
    return Math.min(this.opts.maxRetryDelayMs ?? 30_000, base * 2 ** Math.min(20, Math.max(0, m.deliveryCount - 1)));
  }

  /**
   * The merged append failed permanently: stores what the store takes and writes what it
   * refuses to the dead-letter area before anything is acked. Throws (so that every message is
   * redelivered) on a transient failure on the way or when a letter cannot be written.
   */
  private async isolate(messages: BusMessage[], merged: TelemetryBatch, firstError: unknown): Promise<AppendResult> {
    const deadLetters = this.opts.deadLetters as NonNullable<IngestWorkerOptions['deadLetters']>;
    const outcome = await commitIsolating((b) => this.opts.store.appendBatch(b), merged, firstError);
    if (!outcome.ok) throw outcome.error;
    const owner = new Map<object, BusMessage>();
    for (const m of messages) for (const x of batchEvents(m.batch)) owner.set(x.event, m);
    const byMessage = new Map<BusMessage, RejectedEvent[]>();
    for (const r of outcome.rejected) {
      const m = owner.get(r.event) as BusMessage;
      const list = byMessage.get(m);
      if (list) list.push(r);
      else byMessage.set(m, [r]);
    }
    for (const refused of byMessage.values()) {
      const batch = batchFromEvents(refused);
      const letter = await deadLetters.store.add({
        origin: 'bus',
        reason: 'store-rejected',
        error: errorMessage(refused[0]?.error),
        events: refused.length,
        projectIds: [...new Set(refused.map((r) => r.event.projectId))],
        payload: { type: 'batch', batch },
      });
      this.counters.deadLetteredEvents += refused.length;
      deadLetters.onDeadLettered?.(letter);
    }
    return outcome.result;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.runOnce();
      } catch (e) {
        // Background loops never let an exception escape.
        this.opts.onError?.(e);
      }
    }
  }
}
