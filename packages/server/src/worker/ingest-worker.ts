import type { TelemetryBatch } from '@reskpoints/core';
import type { AppendResult, BusMessage, IngestBus, TelemetryStore } from '../store/ports.js';

export interface IngestWorkerOptions {
  bus: IngestBus;
  store: TelemetryStore;
  /** Most bus messages merged into one store append. Default 64. */
  maxMessages?: number;
  /** How long one pull waits for the first message. Default 500 ms. */
  pullWaitMs?: number;
  /** Redelivery delay after a failed append. Default 1,000 ms. */
  retryDelayMs?: number;
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
  readonly counters = { messages: 0, appends: 0, failures: 0 };

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
    const merged: TelemetryBatch = {
      llmCalls: messages.flatMap((m) => m.batch.llmCalls),
      spans: messages.flatMap((m) => m.batch.spans),
    };
    try {
      const result = await store.appendBatch(merged);
      this.counters.appends++;
      this.counters.messages += messages.length;
      await Promise.all(messages.map((m) => m.ack()));
      this.opts.onAppended?.(result, messages.length);
    } catch (e) {
      this.counters.failures++;
      this.opts.onError?.(e);
      await Promise.all(messages.map((m) => m.nak(this.opts.retryDelayMs ?? 1000).catch(() => undefined)));
    }
    return messages.length;
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
