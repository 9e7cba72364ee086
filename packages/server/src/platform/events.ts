/**
 * Platform events: live, best-effort notifications that modules publish for people watching
 * (alert state changes, new anomalies, budget crossings, log lines for a live tail) and that
 * the `/api/v1/events` WebSocket fans out. Embedded mode delivers them in process; in cluster
 * mode they travel on a NATS subject so that a WebSocket client on any API node sees events
 * produced on the leader (`store/nats/nats-platform-events.ts`).
 *
 * An event is a hint for a screen, never the record: whatever matters is persisted by the
 * module that published it and readable over REST. A client that was not connected, or was
 * too slow, misses events and reads the REST API instead.
 */

export interface PlatformEvent {
  /** What kind of event: `alerts`, `anomalies`, `budgets`, `logs`, … */
  topic: string;
  /** The project the event belongs to; null for installation-wide events (admin only). */
  projectId: string | null;
  /** When it happened, epoch ms. */
  atMs: number;
  /** The event's body, JSON-serialisable. */
  data: unknown;
}

export interface PublishedEvent {
  topic: string;
  projectId?: string | null;
  atMs?: number;
  data: unknown;
}

export interface PlatformEvents {
  /** Tells every subscriber (here and, in cluster mode, on other nodes). Never throws. */
  publish(event: PublishedEvent): void;
  /**
   * Listens to the given topics (`'*'` for all). Returns the unsubscribe function. Listeners
   * must not throw (a throw is swallowed).
   */
  subscribe(topics: readonly string[] | '*', listener: (event: PlatformEvent) => void): () => void;
}

/** Topic names: lower-case words joined by `-` or `.`. */
export const TOPIC_PATTERN = /^[a-z][a-z0-9]*(?:[-.][a-z0-9]+)*$/;

interface Subscriber {
  topics: ReadonlySet<string> | null;
  listener: (event: PlatformEvent) => void;
}

/** Delivers events to listeners in this process. */
export class LocalPlatformEvents implements PlatformEvents {
  private readonly subscribers = new Set<Subscriber>();
  /** Events published with a topic name that is not valid (dropped). */
  rejected = 0;

  constructor(private readonly nowMs: () => number = Date.now) {}

  get size(): number {
    return this.subscribers.size;
  }

  /** Fills in the defaults; null when the event is not valid. */
  normalise(event: PublishedEvent): PlatformEvent | null {
    if (!TOPIC_PATTERN.test(event.topic)) {
      this.rejected++;
      return null;
    }
    return {
      topic: event.topic,
      projectId: event.projectId ?? null,
      atMs: event.atMs ?? this.nowMs(),
      data: event.data,
    };
  }

  publish(event: PublishedEvent): void {
    const e = this.normalise(event);
    if (e) this.deliver(e);
  }

  /** Hands an already normalised event to the local listeners. */
  deliver(event: PlatformEvent): void {
    for (const sub of [...this.subscribers]) {
      if (sub.topics && !sub.topics.has(event.topic)) continue;
      try {
        sub.listener(event);
      } catch {
        // A failing listener must not break the publisher or the other listeners.
      }
    }
  }

  subscribe(topics: readonly string[] | '*', listener: (event: PlatformEvent) => void): () => void {
    const sub: Subscriber = { topics: topics === '*' ? null : new Set(topics), listener };
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }
}
