/**
 * Decides, line by line, what to keep: mines the pattern id locally with the same miner as the
 * server, applies the service's policy (errors and warnings always kept), and counts pattern
 * statistics (lines, bytes, severities) whether a line is kept or not.
 */
import { LogMiner, type LogSeverity, SamplingCaps } from '@reskpoints/core';
import type { PolicyClient } from './policy-client.js';

export interface PatternCounter {
  patternId: string;
  template: string;
  count: number;
  bytes: number;
  keptCount: number;
  keptBytes: number;
  severities: Partial<Record<LogSeverity, number>>;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface SampleDecision {
  keep: boolean;
  patternId: string;
}

export class LogSampler {
  readonly miner = new LogMiner({ maxPatterns: 5_000 });
  private readonly caps = new SamplingCaps();
  private counters = new Map<string, PatternCounter>();
  private windowStartMs: number;

  constructor(
    private readonly policy: PolicyClient,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.windowStartMs = now();
  }

  decide(message: string, severity: LogSeverity, bytes: number): SampleDecision {
    const r = this.miner.add(message);
    const nowMs = this.now();
    const keep = this.policy.policy.keep(r.patternId, severity, this.random(), this.caps, nowMs);
    let c = this.counters.get(r.patternId);
    if (!c) {
      c = {
        patternId: r.patternId,
        template: r.template,
        count: 0,
        bytes: 0,
        keptCount: 0,
        keptBytes: 0,
        severities: {},
        firstSeenMs: nowMs,
        lastSeenMs: nowMs,
      };
      this.counters.set(r.patternId, c);
    }
    c.template = r.template; // patterns generalise as they see more lines
    c.count++;
    c.bytes += bytes;
    c.severities[severity] = (c.severities[severity] ?? 0) + 1;
    c.lastSeenMs = nowMs;
    if (keep) {
      c.keptCount++;
      c.keptBytes += bytes;
    }
    return { keep, patternId: r.patternId };
  }

  /** The counters since the last take, and the window they cover; starts a new window. */
  takeStats(): { windowStartMs: number; windowEndMs: number; patterns: PatternCounter[] } {
    const out = { windowStartMs: this.windowStartMs, windowEndMs: this.now(), patterns: [...this.counters.values()] };
    this.counters = new Map();
    this.windowStartMs = out.windowEndMs;
    return out;
  }

  /** Counters of the current window, without resetting them. */
  peekStats(): PatternCounter[] {
    return [...this.counters.values()];
  }
}
