/**
 * Feeds the live WebSocket hub from commit notifications. A notice from this process carries
 * the calls it stored and they go out as they are; a notice from another node (a cluster
 * worker, over NATS) carries only the ingestion stamps, and the calls are read back from the
 * telemetry store by those stamps — the store is the source of truth on every node. Reads are
 * made only while someone is subscribed, one at a time, with notices that arrive meanwhile
 * merged into the next read. Calls already sent (another commit that shared a stamp) are not
 * sent twice. Never throws.
 */
import type { LlmCall } from '@reskpoints/core';
import type { CommitNotice, CommitNotifications } from '../platform/commit-notifications.js';
import type { TelemetryStore } from '../store/ports.js';
import type { LiveHub } from './live.js';

/** How many recently sent call keys are remembered to drop repeats. */
const RECENT_KEYS = 50_000;
const PAGE = 5_000;

export class LiveFeed {
  private pending: { fromMs: number; toMs: number } | null = null;
  private reading: Promise<void> | null = null;
  private readonly recent = new Set<string>();
  private readonly unsubscribe: () => void;
  readFailures = 0;

  constructor(
    private readonly hub: LiveHub,
    commits: CommitNotifications,
    private readonly telemetry: TelemetryStore | null,
  ) {
    this.unsubscribe = commits.subscribe((n) => this.onNotice(n));
  }

  private onNotice(notice: CommitNotice): void {
    if (this.hub.size === 0) return;
    if (notice.llmCalls) {
      // This process stored them just now: new by construction.
      if (notice.llmCalls.length > 0) this.hub.publish([...notice.llmCalls]);
      return;
    }
    const range = notice.ingestedAtRange;
    if (!range || !this.telemetry || notice.llmCallsInserted === 0) return;
    this.pending = this.pending
      ? { fromMs: Math.min(this.pending.fromMs, range.fromMs), toMs: Math.max(this.pending.toMs, range.toMs) }
      : { ...range };
    this.reading ??= this.drain().finally(() => {
      this.reading = null;
    });
  }

  private async drain(): Promise<void> {
    const telemetry = this.telemetry as TelemetryStore;
    while (this.pending) {
      const { fromMs, toMs } = this.pending;
      this.pending = null;
      try {
        let after = { ingestedAtMs: fromMs - 1, projectId: null as string | null, id: null as string | null };
        for (;;) {
          const calls = await telemetry.listLlmCallsIngestedSince({ after, untilMs: toMs, limit: PAGE });
          this.send(calls);
          if (calls.length < PAGE) break;
          const last = calls[calls.length - 1] as LlmCall;
          after = { ingestedAtMs: last.ingestedAtMs, projectId: last.projectId, id: last.id };
        }
      } catch {
        this.readFailures++;
      }
    }
  }

  private send(calls: readonly LlmCall[]): void {
    const fresh: LlmCall[] = [];
    for (const c of calls) {
      const key = `${c.projectId}\u0000${c.id}`;
      if (this.recent.has(key)) continue;
      this.recent.add(key);
      fresh.push(c);
    }
    // Insertion order: the oldest keys go first.
    for (const k of this.recent) {
      if (this.recent.size <= RECENT_KEYS) break;
      this.recent.delete(k);
    }
    if (fresh.length > 0) this.hub.publish(fresh);
  }

  /** Waits for a read in progress (tests, shutdown). */
  async idle(): Promise<void> {
    await this.reading;
  }

  close(): void {
    this.unsubscribe();
  }
}
