/**
 * Commit notifications: "telemetry was just committed". They only wake consumers early —
 * derived processors read the store behind their cursor, so a notification that is lost
 * (a crash, a network hiccup, an API node that was not subscribed yet) delays them until
 * their next poll and never loses data. Embedded mode delivers them in process; in cluster
 * mode workers publish them on a NATS subject that every node subscribes to
 * (`store/nats/nats-commit-notifications.ts`).
 */
import type { LlmCall, LogRecord } from '@reskpoints/core';

export interface CommitNotice {
  /** When the commit completed, epoch ms (the committing node's clock). */
  atMs: number;
  llmCallsInserted: number;
  spansInserted: number;
  /** The ingestion stamps the commit gave its events (`AppendResult.ingestedAtRange`). */
  ingestedAtRange?: { fromMs: number; toMs: number };
  /**
   * The calls this commit newly stored, when the notice was delivered in the process that
   * committed them; absent when it came over the network (read the store instead).
   */
  llmCalls?: readonly LlmCall[];
  /** The log records of the commit, when delivered in the process that committed them (for the live tail). */
  logs?: readonly LogRecord[];
}

export interface CommitNotifications {
  /** Tells every subscriber (here and, in cluster mode, on other nodes). Never throws. */
  publish(notice: CommitNotice): void;
  /** Returns the unsubscribe function. Listeners must not throw (a throw is swallowed). */
  subscribe(listener: (notice: CommitNotice) => void): () => void;
}

/** Delivers notices to listeners in this process. */
export class LocalCommitNotifications implements CommitNotifications {
  private readonly listeners = new Set<(notice: CommitNotice) => void>();

  get size(): number {
    return this.listeners.size;
  }

  publish(notice: CommitNotice): void {
    for (const l of [...this.listeners]) {
      try {
        l(notice);
      } catch {
        // A failing listener must not break the commit path or the other listeners.
      }
    }
  }

  subscribe(listener: (notice: CommitNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
