/**
 * Embedded quota accounting: synchronous, in this process. A reservation is checked and taken in
 * one synchronous step, so concurrent requests can never both see room that only one of them
 * fits in. State lives in memory: a restart starts every window afresh (documented).
 */
import {
  AMOUNT_EPSILON,
  type Amounts,
  type CounterDraw,
  type CounterState,
  type CounterUsage,
  counterBelongsTo,
  firstBucket,
  type QuotaLimiter,
  type ReserveOutcome,
  retryAfterMs,
  type SettleOutcome,
  type UsageSpec,
} from './quota-core.js';

interface Counter {
  reserved: number;
  /** Settled usage by bucket index. */
  buckets: Map<number, number>;
}

interface Held {
  draws: readonly CounterDraw[];
  bucketIndexes: number[];
  expiresAtMs: number;
}

/** Expiry is swept per second of expiry time, so sweeping costs nothing when nothing expires. */
const EXPIRY_SLOT_MS = 1000;

export class MemoryQuotaLimiter implements QuotaLimiter {
  private readonly counters = new Map<string, Counter>();
  private readonly held = new Map<string, Held>();
  private readonly expirySlots = new Map<number, string[]>();
  private sweptSlot = -1;
  private latestMs = 0;

  reserve(draws: readonly CounterDraw[], reservationId: string, nowMs: number, ttlMs: number): Promise<ReserveOutcome> {
    return Promise.resolve(this.reserveSync(draws, reservationId, nowMs, ttlMs));
  }

  settle(reservationId: string, actual: Amounts, nowMs: number): Promise<SettleOutcome> {
    return Promise.resolve(this.settleSync(reservationId, actual, nowMs));
  }

  expire(nowMs: number): Promise<number> {
    return Promise.resolve(this.expireSync(nowMs));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  usage(specs: readonly UsageSpec[], atMs: number): Promise<CounterUsage[]> {
    const nowMs = Math.max(atMs, this.latestMs);
    const out: CounterUsage[] = [];
    for (const [counterId, c] of this.counters) {
      const spec = specs.find((s) => counterBelongsTo(counterId, s.ruleId));
      if (spec == null) continue;
      const first = firstBucket(nowMs, spec.windowMs, spec.bucketMs, spec.sliding);
      let settled = 0;
      for (const [b, v] of c.buckets) if (b >= first) settled += v;
      if (settled === 0 && c.reserved === 0) continue;
      out.push({
        ruleId: spec.ruleId,
        counterId,
        reserved: c.reserved,
        settled,
        resetMs: retryAfterMs(c.buckets, 0, nowMs, { ...spec, sliding: false }),
      });
    }
    return Promise.resolve(out);
  }

  get outstanding(): number {
    return this.held.size;
  }

  private counter(id: string): Counter {
    let c = this.counters.get(id);
    if (c == null) {
      c = { reserved: 0, buckets: new Map() };
      this.counters.set(id, c);
    }
    return c;
  }

  /** Reserved plus settled usage that a check at `nowMs` counts; drops buckets out of every window. */
  private used(c: Counter, d: CounterDraw, nowMs: number): number {
    const first = firstBucket(nowMs, d.windowMs, d.bucketMs, d.sliding);
    let sum = c.reserved;
    for (const [b, v] of c.buckets) {
      if (b < first) c.buckets.delete(b);
      else sum += v;
    }
    return sum;
  }

  reserveSync(draws: readonly CounterDraw[], reservationId: string, atMs: number, ttlMs: number): ReserveOutcome {
    // Time never goes back for the counters: an earlier instant after buckets were dropped for a
    // later one would undercount.
    const nowMs = Math.max(atMs, this.latestMs);
    this.latestMs = nowMs;
    this.expireSync(nowMs);
    const states: CounterState[] = [];
    let refused: { state: CounterState; retryAfterMs: number } | null = null;
    for (const d of draws) {
      const c = this.counter(d.counterId);
      const used = this.used(c, d, nowMs);
      const fits = used + d.amount <= d.limit + AMOUNT_EPSILON;
      const state: CounterState = {
        ruleId: d.ruleId,
        counterId: d.counterId,
        metric: d.metric,
        limit: d.limit,
        windowMs: d.windowMs,
        remaining: Math.max(0, d.limit - used - (fits ? d.amount : 0)),
        // Until the current bucket ends (what retryAfterMs gives a fixed window), without a copy of the draw.
        resetMs: (Math.floor(nowMs / d.bucketMs) + 1) * d.bucketMs - nowMs,
      };
      states.push(state);
      if (!fits) {
        const wait = retryAfterMs(c.buckets, used + d.amount - d.limit, nowMs, d);
        if (refused == null || wait > refused.retryAfterMs) refused = { state, retryAfterMs: wait };
      }
    }
    if (refused != null)
      return { ok: false, refusedBy: refused.state, retryAfterMs: refused.retryAfterMs, counters: states };
    const bucketIndexes: number[] = [];
    for (const d of draws) {
      this.counter(d.counterId).reserved += d.amount;
      bucketIndexes.push(Math.floor(nowMs / d.bucketMs));
    }
    const expiresAtMs = nowMs + ttlMs;
    this.held.set(reservationId, { draws, bucketIndexes, expiresAtMs });
    const slot = Math.floor(expiresAtMs / EXPIRY_SLOT_MS);
    const list = this.expirySlots.get(slot);
    if (list == null) this.expirySlots.set(slot, [reservationId]);
    else list.push(reservationId);
    return { ok: true, reservationId, expiresAtMs, counters: states };
  }

  settleSync(reservationId: string, actual: Amounts | null, nowMs: number): SettleOutcome {
    const h = this.held.get(reservationId);
    if (h == null) return { ok: false, reason: 'unknown' };
    if (actual != null && h.expiresAtMs <= nowMs) {
      this.settleSync(reservationId, null, nowMs);
      return { ok: false, reason: 'unknown' };
    }
    this.held.delete(reservationId);
    for (let i = 0; i < h.draws.length; i++) {
      const d = h.draws[i] as CounterDraw;
      const c = this.counter(d.counterId);
      c.reserved = Math.max(0, c.reserved - d.amount);
      // An expired reservation is charged its worst case: the call may well have been made.
      const charge = actual == null ? d.amount : actual[d.metric];
      const b = h.bucketIndexes[i] as number;
      if (charge > 0) c.buckets.set(b, (c.buckets.get(b) ?? 0) + charge);
    }
    return { ok: true };
  }

  /**
   * Sweeps the expiry slots that have ended. A reservation is therefore released up to a second
   * after it expired, which only keeps it counted a little longer (the safe side); a settle that
   * comes after its expiry is refused all the same.
   */
  expireSync(nowMs: number): number {
    const current = Math.floor(nowMs / EXPIRY_SLOT_MS);
    if (this.sweptSlot < 0) this.sweptSlot = current;
    if (current <= this.sweptSlot) return 0;
    let n = 0;
    if (current - this.sweptSlot > 10_000) {
      // After a long idle gap (or a jump of the clock) visit only the slots that exist.
      for (const slot of [...this.expirySlots.keys()].sort((a, b) => a - b))
        if (slot < current) n += this.sweepSlot(slot, nowMs);
    } else for (let slot = this.sweptSlot; slot < current; slot++) n += this.sweepSlot(slot, nowMs);
    this.sweptSlot = current;
    return n;
  }

  private sweepSlot(slot: number, nowMs: number): number {
    const ids = this.expirySlots.get(slot);
    if (ids == null) return 0;
    let n = 0;
    const keep: string[] = [];
    for (const id of ids) {
      const h = this.held.get(id);
      if (h == null) continue;
      if (h.expiresAtMs <= nowMs) {
        this.settleSync(id, null, nowMs);
        n++;
      } else keep.push(id);
    }
    if (keep.length === 0) this.expirySlots.delete(slot);
    else this.expirySlots.set(slot, keep);
    return n;
  }
}
