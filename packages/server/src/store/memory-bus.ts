/**
 * IngestBus in process memory, for embedded mode and tests. It has the semantics of the
 * JetStream bus — a shared work queue with explicit acks, redelivery after `nak` or after
 * the ack wait, dedup of re-published ids within a window — but it lives only as long as the
 * process: several `MemoryIngestBus` clients over one `MemoryIngestLog` see the same
 * messages, and a message survives a client's `close`, not a restart.
 */
import type { TelemetryBatch } from '@reskpoints/core';
import type { BusMessage, IngestBus } from './ports.js';

export interface MemoryIngestLogOptions {
  /** How long a pulled message may stay un-acked before it is delivered again, ms. Default 60_000. */
  ackWaitMs?: number;
  /** How long a published id is remembered to drop re-publishes, ms. Default 120_000. */
  duplicateWindowMs?: number;
  /** Most messages held (waiting or un-acked); publish rejects beyond. Default 100_000. */
  maxMessages?: number;
  /** Clock for ack deadlines and the dedup window. Default `Date.now`. */
  nowMs?: () => number;
}

interface Entry {
  seq: number;
  id: string;
  batch: TelemetryBatch;
  deliveries: number;
  /** Not deliverable before this time (nak delay). */
  availableAtMs: number;
  /** Set while delivered and not yet acked or nak'ed. */
  ackDeadlineMs: number | null;
}

/** Thrown by `publish` when the log holds `maxMessages`: the caller should shed load. */
export class IngestLogFullError extends Error {
  readonly code = 'RP_OVERLOADED' as const;
  constructor(maxMessages: number) {
    super(`ingest log is full (${maxMessages} messages)`);
    this.name = 'IngestLogFullError';
  }
}

/** The shared log; one per process (or per test). */
export class MemoryIngestLog {
  readonly ackWaitMs: number;
  private readonly duplicateWindowMs: number;
  private readonly maxMessages: number;
  private readonly nowMs: () => number;
  private readonly entries = new Map<number, Entry>();
  private readonly recentIds = new Map<string, number>();
  private nextSeq = 1;
  private waiters = new Set<() => void>();

  constructor(options: MemoryIngestLogOptions = {}) {
    this.ackWaitMs = options.ackWaitMs ?? 60_000;
    this.duplicateWindowMs = options.duplicateWindowMs ?? 120_000;
    this.maxMessages = options.maxMessages ?? 100_000;
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** Messages held: waiting for delivery or delivered and not yet acked. */
  get size(): number {
    return this.entries.size;
  }

  publish(id: string, batch: TelemetryBatch): void {
    const now = this.nowMs();
    this.forgetOldIds(now);
    if (this.recentIds.has(id)) return;
    if (this.entries.size >= this.maxMessages) throw new IngestLogFullError(this.maxMessages);
    this.recentIds.set(id, now);
    const seq = this.nextSeq++;
    // A copy, so that the publisher reusing its objects cannot change what was logged.
    this.entries.set(seq, {
      seq,
      id,
      batch: structuredClone(batch),
      deliveries: 0,
      availableAtMs: now,
      ackDeadlineMs: null,
    });
    this.wake();
  }

  /** Takes up to `max` deliverable messages, oldest first. */
  take(max: number): Entry[] {
    const now = this.nowMs();
    const out: Entry[] = [];
    for (const e of this.entries.values()) {
      if (out.length >= max) break;
      const deliverable = e.ackDeadlineMs === null ? e.availableAtMs <= now : e.ackDeadlineMs <= now;
      if (!deliverable) continue;
      e.deliveries++;
      e.ackDeadlineMs = now + this.ackWaitMs;
      out.push(e);
    }
    return out;
  }

  /** Ms until the next message becomes deliverable, or null when none is waiting. */
  msUntilNextDeliverable(): number | null {
    const now = this.nowMs();
    let soonest: number | null = null;
    for (const e of this.entries.values()) {
      const at = e.ackDeadlineMs ?? e.availableAtMs;
      if (soonest === null || at < soonest) soonest = at;
    }
    return soonest === null ? null : Math.max(0, soonest - now);
  }

  ack(entry: Entry, delivery: number): void {
    // A late ack from an earlier delivery must not remove a message redelivered since.
    if (entry.deliveries === delivery && this.entries.get(entry.seq) === entry) this.entries.delete(entry.seq);
  }

  /** Restarts the ack wait of a delivered message, unless it was redelivered since. */
  extend(entry: Entry, delivery: number): void {
    if (entry.deliveries !== delivery || this.entries.get(entry.seq) !== entry || entry.ackDeadlineMs === null) return;
    entry.ackDeadlineMs = this.nowMs() + this.ackWaitMs;
  }

  nak(entry: Entry, delivery: number, delayMs: number): void {
    if (entry.deliveries !== delivery || this.entries.get(entry.seq) !== entry) return;
    entry.ackDeadlineMs = null;
    entry.availableAtMs = this.nowMs() + Math.max(0, delayMs);
    this.wake();
  }

  /** Resolves when something is published or nak'ed, or after `ms`. */
  waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private forgetOldIds(now: number): void {
    // Ids are in insertion order, so the oldest come first.
    for (const [id, at] of this.recentIds) {
      if (now - at < this.duplicateWindowMs) break;
      this.recentIds.delete(id);
    }
  }
}

export class MemoryIngestBus implements IngestBus {
  private closed = false;

  constructor(readonly log: MemoryIngestLog = new MemoryIngestLog()) {}

  async publish(id: string, batch: TelemetryBatch): Promise<void> {
    if (this.closed) throw new Error('ingest bus is closed');
    this.log.publish(id, batch);
  }

  async pull(max: number, waitMs: number): Promise<BusMessage[]> {
    if (this.closed) throw new Error('ingest bus is closed');
    const deadline = Date.now() + Math.max(0, waitMs);
    for (;;) {
      const taken = this.log.take(Math.max(1, Math.trunc(max)));
      if (taken.length > 0) return taken.map((e) => this.message(e));
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return [];
      // Wake for a publish/nak, or when a delayed or timed-out message becomes due.
      const due = this.log.msUntilNextDeliverable();
      await this.log.waitForChange(Math.max(1, Math.min(left, due ?? left)));
    }
  }

  private message(e: Entry): BusMessage {
    const delivery = e.deliveries;
    return {
      id: e.id,
      batch: structuredClone(e.batch),
      deliveryCount: delivery,
      ack: async () => this.log.ack(e, delivery),
      nak: async (delayMs = 0) => this.log.nak(e, delivery, delayMs),
      working: async () => this.log.extend(e, delivery),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export function createMemoryIngestBus(log: MemoryIngestLog = new MemoryIngestLog()): MemoryIngestBus {
  return new MemoryIngestBus(log);
}
