import type { LlmCall } from '@reskpoints/core';

export interface LiveFilter {
  /** Restrict to these projects; a project key is always restricted to its own. */
  projectIds: string[] | null;
  models: string[] | null;
}

interface Subscriber {
  filter: LiveFilter;
  /** Returns false when the client is too slow and the message was dropped. */
  send: (payload: string) => boolean;
}

/** Fans newly committed calls out to WebSocket subscribers, each with its own filter. */
export class LiveHub {
  private readonly subscribers = new Set<Subscriber>();
  dropped = 0;

  get size(): number {
    return this.subscribers.size;
  }

  subscribe(filter: LiveFilter, send: (payload: string) => boolean): () => void {
    const sub: Subscriber = { filter, send };
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  publish(calls: LlmCall[]): void {
    if (this.subscribers.size === 0 || calls.length === 0) return;
    for (const sub of this.subscribers) {
      const { projectIds, models } = sub.filter;
      const items = calls.filter(
        (c) => (!projectIds || projectIds.includes(c.projectId)) && (!models || models.includes(c.model)),
      );
      if (items.length === 0) continue;
      if (!sub.send(JSON.stringify({ type: 'llm_calls', items }))) this.dropped++;
    }
  }
}
