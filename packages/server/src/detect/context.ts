import type { StreamingDetector } from './detector.js';

/**
 * A contextual novelty detector. Values are quantised into bins; the detector remembers, for
 * every recent context (the last 1..maxOrder bins), which bins have followed it. A point is as
 * anomalous as the shortest context after which its bin has never been seen: a bin never seen
 * at all scores 1, a bin never seen after the previous bin scores nearly as much, a bin new only
 * after a long context scores little. The idea follows the published description of the
 * contextual anomaly detector (CAD OSE) in the NAB results: learn which value patterns follow
 * which, and flag what is new.
 *
 * Bins are `levels` equal slices of a value range: either given (`rangeMin`/`rangeMax`, e.g. a
 * series' known bounds) or learned causally from the first `warmupPoints` points. Values beyond
 * the range get bins of the same width beyond it (new bins, hence novel), so the bins already
 * learned keep their meaning.
 *
 * Memory is bounded: at most `maxTransitionsPerOrder` remembered (context, bin) pairs and as
 * many contexts per context order, least recently used evicted first. Orders are kept apart so
 * that the many one-off long contexts of a noisy series cannot push out the short ones.
 */
export interface ContextConfig {
  /** Bins across the value range (default 8). */
  levels: number;
  /** Longest context in bins (default 6). */
  maxOrder: number;
  /** Points that fix the learned range before scoring starts (default 150). */
  warmupPoints: number;
  /**
   * A bin must have been seen this often before a new pattern into it counts: a rare bin's first
   * appearance already scored 1, its next few unusual neighbours are not news (default 10).
   */
  minBinCount: number;
  /**
   * With a learned range: when the values seen span this many times the binned range, the bins
   * are rebuilt over the new range and the last `replayPoints` values are learned again
   * (default 1.5; 0 keeps the first range for good).
   */
  rebinFactor: number;
  /** Recent values kept for relearning after a rebin (default 500). */
  replayPoints: number;
  /** A new bin this close to known ones scores as a new pattern, not as a new value (default 2). */
  nearBins: number;
  /** Times a new pattern should have been expected before it counts (default 2). */
  minExpected: number;
  /** Transitions remembered per context order (default 256). */
  maxTransitionsPerOrder: number;
  /** Shift of the bin edges, as a fraction of a bin (default 0). */
  binOffset?: number;
  /** Known range of the series, if any. */
  rangeMin?: number;
  rangeMax?: number;
}

export const CONTEXT_DEFAULTS: ContextConfig = {
  levels: 8,
  maxOrder: 6,
  warmupPoints: 150,
  minBinCount: 10,
  nearBins: 2,
  minExpected: 2,
  rebinFactor: 1.5,
  replayPoints: 500,
  maxTransitionsPerOrder: 256,
};

export interface ContextState {
  config: ContextConfig;
  count: number;
  origin: number;
  binWidth: number;
  /** Values of the warm-up (only until the range is fixed). */
  warmup: number[];
  /** The last maxOrder bins, oldest first. */
  history: number[];
  /**
   * Per order 1..maxOrder, least recently used first: [context key, times seen] pairs, and the
   * (context, bin) keys seen.
   */
  contexts: [number, number][][];
  transitions: number[][];
  /** [bin, times seen] pairs. */
  binCounts: [number, number][];
  learned: number;
  /** Smallest and largest value seen, and the recent values, oldest first. */
  seenMin: number;
  seenMax: number;
  recent: number[];
}

/** Largest bin index magnitude: values further out share the extreme bin. */
const MAX_BIN = 1 << 20;

export class ContextDetector implements StreamingDetector<ContextState> {
  readonly kind = 'context' as const;
  expected = Number.NaN;
  lower = Number.NaN;
  upper = Number.NaN;
  private readonly config: ContextConfig;
  private count = 0;
  private origin = Number.NaN;
  private binWidth = Number.NaN;
  private warmup: number[] = [];
  private readonly history: Int32Array;
  private historySize = 0;
  private readonly contexts: Map<number, number>[] = [];
  private readonly transitions: Set<number>[] = [];
  private readonly binCounts = new Map<number, number>();
  /** Points learned since the bins were last built. */
  private learned = 0;
  private seenMin = Number.POSITIVE_INFINITY;
  private seenMax = Number.NEGATIVE_INFINITY;
  private readonly recent: Float64Array;
  private recentHead = 0;
  private recentSize = 0;

  constructor(config: Partial<ContextConfig> = {}, state?: ContextState) {
    this.config = { ...CONTEXT_DEFAULTS, ...config, ...state?.config };
    const c = this.config;
    this.history = new Int32Array(c.maxOrder);
    for (let k = 0; k <= c.maxOrder; k++) {
      this.contexts.push(new Map());
      this.transitions.push(new Set());
    }
    this.recent = new Float64Array(c.rebinFactor > 0 && !this.rangeGiven ? c.replayPoints : 0);
    if (c.rangeMin !== undefined && c.rangeMax !== undefined) this.fixRange(c.rangeMin, c.rangeMax);
    if (state !== undefined) {
      this.count = state.count;
      this.origin = state.origin ?? Number.NaN;
      this.binWidth = state.binWidth ?? Number.NaN;
      this.warmup = [...state.warmup];
      this.history.set(state.history);
      this.historySize = state.history.length;
      state.contexts.forEach((entries, k) => {
        for (const [key, n] of entries) this.contexts[k + 1]!.set(key, n);
      });
      state.transitions.forEach((keys, k) => {
        for (const key of keys) this.transitions[k + 1]!.add(key);
      });
      for (const [b, n] of state.binCounts) this.binCounts.set(b, n);
      this.learned = state.learned;
      this.seenMin = state.seenMin ?? Number.POSITIVE_INFINITY;
      this.seenMax = state.seenMax ?? Number.NEGATIVE_INFINITY;
      for (const v of state.recent) this.remember(v);
    }
  }

  private get rangeGiven(): boolean {
    return this.config.rangeMin !== undefined && this.config.rangeMax !== undefined;
  }

  private remember(value: number): void {
    const cap = this.recent.length;
    if (cap === 0) return;
    this.recent[this.recentHead] = value;
    this.recentHead = (this.recentHead + 1) % cap;
    if (this.recentSize < cap) this.recentSize++;
  }

  private recentValues(): number[] {
    const cap = this.recent.length;
    const out: number[] = [];
    const start = (this.recentHead - this.recentSize + cap) % (cap || 1);
    for (let i = 0; i < this.recentSize; i++) out.push(this.recent[(start + i) % cap]!);
    return out;
  }

  /** Rebuilds the bins over everything seen so far and relearns the recent values. */
  private rebin(): void {
    this.fixRange(this.seenMin, this.seenMax);
    for (const set of this.contexts) set.clear();
    for (const set of this.transitions) set.clear();
    this.binCounts.clear();
    this.learned = 0;
    this.historySize = 0;
    for (const v of this.recentValues()) this.learn(this.binOf(v));
  }

  private fixRange(min: number, max: number): void {
    const span = max - min;
    // A flat warm-up still needs a bin width: a small slice of the level, or 1.
    this.binWidth = span > 0 ? span / this.config.levels : Math.abs(min) > 0 ? Math.abs(min) / 100 : 1;
    this.origin = min - (this.config.binOffset ?? 0) * this.binWidth;
  }

  private binOf(value: number): number {
    const b = Math.floor((value - this.origin) / this.binWidth);
    const top = this.config.levels - 1;
    // The range's maximum belongs to the top bin, not to a new one above it.
    if (b === this.config.levels && value <= this.origin + this.binWidth * this.config.levels) return top;
    return b > MAX_BIN ? MAX_BIN : Math.max(b, -MAX_BIN);
  }

  update(_timestampMs: number, value: number): number {
    if (!Number.isFinite(value)) return 0;
    const c = this.config;
    this.count++;
    if (value < this.seenMin) this.seenMin = value;
    if (value > this.seenMax) this.seenMax = value;
    this.remember(value);
    if (Number.isNaN(this.binWidth)) {
      this.warmup.push(value);
      if (this.warmup.length >= c.warmupPoints) {
        let min = Number.POSITIVE_INFINITY;
        let max = Number.NEGATIVE_INFINITY;
        for (const v of this.warmup) {
          if (v < min) min = v;
          if (v > max) max = v;
        }
        this.fixRange(min, max);
        const warm = this.warmup;
        this.warmup = [];
        for (const v of warm) this.learn(this.binOf(v));
      }
      this.expected = this.lower = this.upper = Number.NaN;
      return 0;
    }
    const bin = this.binOf(value);
    this.lower = this.origin + bin * this.binWidth;
    this.upper = this.lower + this.binWidth;
    this.expected = (this.lower + this.upper) / 2;

    const h = this.historySize;
    const orders = Math.min(h, c.maxOrder);
    let key = 0x2545f491;
    let novelOrder = -1;
    const binSeen = this.binCounts.get(bin) ?? 0;
    if (binSeen === 0) {
      // A new bin within `nearBins` of known ones is a new extreme by little: as surprising as
      // a new transition, not more. Further out it is entirely new.
      let near = false;
      for (let d = 1; d <= c.nearBins && !near; d++) near = this.binCounts.has(bin - d) || this.binCounts.has(bin + d);
      novelOrder = near ? 1 : 0;
    }
    // A pattern never seen is news only if it should have been seen by now: the context came
    // often enough that, were the bin independent of it, it would have followed `minExpected`
    // times. Around rare bins every neighbour is new, and that is not news.
    const binShare = binSeen / this.learned;
    for (let k = 1; k <= orders && novelOrder < 0 && binSeen >= c.minBinCount; k++) {
      key = Math.imul(key ^ (this.history[h - k]! + 0x9e37), 0x01000193) ^ k;
      const seen = this.contexts[k]!.get(key);
      if (seen === undefined) break; // longer contexts are unknown too
      if (seen * binShare >= c.minExpected && !this.transitions[k]!.has(this.transitionKey(key, bin))) novelOrder = k;
    }
    const score = novelOrder < 0 ? 0 : 1 - novelOrder / (c.maxOrder + 1);
    this.learn(bin);
    if (
      c.rebinFactor > 0 &&
      !this.rangeGiven &&
      this.seenMax - this.seenMin > c.rebinFactor * c.levels * this.binWidth
    ) {
      this.rebin();
    }
    return score;
  }

  private transitionKey(contextKey: number, bin: number): number {
    return Math.imul(contextKey ^ Math.imul(bin + 0x3c6e, 0x27d4eb2d), 0x165667b1) ^ (contextKey >>> 15);
  }

  private touch(set: Set<number>, key: number): void {
    if (set.has(key)) set.delete(key);
    set.add(key);
  }

  private learn(bin: number): void {
    const c = this.config;
    const h = this.historySize;
    const orders = Math.min(h, c.maxOrder);
    this.binCounts.set(bin, (this.binCounts.get(bin) ?? 0) + 1);
    this.learned++;
    // Bins far outside the range are few in practice; keep the map bounded all the same.
    if (this.binCounts.size > 4 * c.levels + 64) this.binCounts.delete(this.binCounts.keys().next().value as number);
    let key = 0x2545f491;
    for (let k = 1; k <= orders; k++) {
      key = Math.imul(key ^ (this.history[h - k]! + 0x9e37), 0x01000193) ^ k;
      const contexts = this.contexts[k]!;
      const transitions = this.transitions[k]!;
      const n = contexts.get(key);
      if (n !== undefined) contexts.delete(key);
      contexts.set(key, (n ?? 0) + 1);
      this.touch(transitions, this.transitionKey(key, bin));
      if (transitions.size > c.maxTransitionsPerOrder) transitions.delete(transitions.keys().next().value as number);
      if (contexts.size > c.maxTransitionsPerOrder) contexts.delete(contexts.keys().next().value as number);
    }
    if (h < c.maxOrder) {
      this.history[h] = bin;
      this.historySize++;
    } else {
      this.history.copyWithin(0, 1);
      this.history[c.maxOrder - 1] = bin;
    }
  }

  snapshot(): ContextState {
    return {
      config: { ...this.config },
      count: this.count,
      origin: this.origin,
      binWidth: this.binWidth,
      warmup: [...this.warmup],
      history: Array.from(this.history.subarray(0, this.historySize)),
      contexts: this.contexts.slice(1).map((map) => Array.from(map.entries())),
      transitions: this.transitions.slice(1).map((set) => Array.from(set)),
      binCounts: Array.from(this.binCounts.entries()),
      learned: this.learned,
      seenMin: this.seenMin,
      seenMax: this.seenMax,
      recent: this.recentValues(),
    };
  }
}
