/**
 * Platform events over a core NATS subject, for cluster mode: an event published on one node
 * (say, an anomaly found by the leader) reaches WebSocket clients on every node. Events
 * published here reach local listeners at once and are not delivered a second time when they
 * come back from the server. Core NATS delivers at most once, to connected subscribers only;
 * that is what events promise (a live hint; the record is in the state database).
 */
import { randomHex } from '@reskpoints/core';
import { connect, type NatsConnection, type Subscription } from 'nats';
import {
  LocalPlatformEvents,
  type PlatformEvent,
  type PlatformEvents,
  type PublishedEvent,
} from '../../platform/events.js';

/** Events larger than this are not sent to other nodes (NATS' default max payload is 1 MiB). */
const MAX_WIRE_BYTES = 512 * 1024;

interface WireEvent {
  v: 1;
  origin: string;
  event: PlatformEvent;
}

export class NatsPlatformEvents implements PlatformEvents {
  private readonly local: LocalPlatformEvents;
  private readonly origin = randomHex(8);
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private sub: Subscription | null = null;
  private loop: Promise<void> | null = null;
  /** Events that could not be sent to other nodes (too large, or connection trouble). */
  publishFailures = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    nowMs: () => number,
  ) {
    this.local = new LocalPlatformEvents(nowMs);
  }

  static async connect(options: {
    servers: string | string[];
    /** One per installation, e.g. `reskpoints.events.<stream>`. */
    subject: string;
    nowMs?: () => number;
  }): Promise<NatsPlatformEvents> {
    const nc = await connect({ servers: options.servers, name: 'reskpoints-events', maxReconnectAttempts: -1 });
    const n = new NatsPlatformEvents(nc, options.subject, options.nowMs ?? Date.now);
    n.start();
    return n;
  }

  private start(): void {
    const sub = this.nc.subscribe(this.subject);
    this.sub = sub;
    this.loop = (async () => {
      for await (const m of sub) {
        let wire: WireEvent;
        try {
          wire = JSON.parse(this.decoder.decode(m.data)) as WireEvent;
        } catch {
          continue;
        }
        if (wire.v !== 1 || wire.origin === this.origin || !wire.event) continue;
        const e = this.local.normalise(wire.event);
        if (e) this.local.deliver(e);
      }
    })().catch(() => undefined);
  }

  publish(event: PublishedEvent): void {
    const e = this.local.normalise(event);
    if (!e) return;
    this.local.deliver(e);
    try {
      const bytes = this.encoder.encode(JSON.stringify({ v: 1, origin: this.origin, event: e } satisfies WireEvent));
      if (bytes.byteLength > MAX_WIRE_BYTES) {
        this.publishFailures++;
        return;
      }
      this.nc.publish(this.subject, bytes);
    } catch {
      this.publishFailures++;
    }
  }

  subscribe(topics: readonly string[] | '*', listener: (event: PlatformEvent) => void): () => void {
    return this.local.subscribe(topics, listener);
  }

  async close(): Promise<void> {
    this.sub?.unsubscribe();
    await this.nc.drain().catch(() => undefined);
    await this.loop;
  }
}
