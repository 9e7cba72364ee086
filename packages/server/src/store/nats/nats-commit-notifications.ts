/**
 * Commit notifications over a core NATS subject, for cluster mode: the worker that stores a
 * batch publishes a small notice (counts and the ingestion stamps, not the events), and every
 * node subscribed to the subject — API nodes for the live stream, workers for derived
 * processing — hears it. Core NATS delivers at most once and only to connected subscribers;
 * that is enough, because a notice is only a wake-up: consumers read the telemetry store.
 * Notices published here reach local listeners at once (with the calls, when given) and are
 * not delivered a second time when they come back from the server.
 */
import { randomHex } from '@reskpoints/core';
import { connect, type NatsConnection, type Subscription } from 'nats';
import type { CommitNotice, CommitNotifications } from '../../platform/commit-notifications.js';
import { LocalCommitNotifications } from '../../platform/commit-notifications.js';

export interface NatsCommitNotificationsOptions {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Subject the notices travel on; one per installation, e.g. `reskpoints.commits.<stream>`. */
  subject: string;
  /** Name shown in the server's connection list. Default `reskpoints-commits`. */
  connectionName?: string;
}

interface WireNotice {
  v: 1;
  origin: string;
  atMs: number;
  llmCallsInserted: number;
  spansInserted: number;
  ingestedAtRange?: { fromMs: number; toMs: number };
}

export class NatsCommitNotifications implements CommitNotifications {
  private readonly local = new LocalCommitNotifications();
  private readonly origin = randomHex(8);
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();
  private sub: Subscription | null = null;
  private loop: Promise<void> | null = null;
  /** Notices that could not be published (connection trouble); consumers catch up by polling. */
  publishFailures = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
  ) {}

  static async connect(options: NatsCommitNotificationsOptions): Promise<NatsCommitNotifications> {
    const nc = await connect({
      servers: options.servers,
      name: options.connectionName ?? 'reskpoints-commits',
      maxReconnectAttempts: -1,
    });
    const n = new NatsCommitNotifications(nc, options.subject);
    n.start();
    return n;
  }

  private start(): void {
    const sub = this.nc.subscribe(this.subject);
    this.sub = sub;
    this.loop = (async () => {
      for await (const m of sub) {
        let wire: WireNotice;
        try {
          wire = JSON.parse(this.decoder.decode(m.data)) as WireNotice;
        } catch {
          continue;
        }
        if (wire.v !== 1 || wire.origin === this.origin) continue;
        const notice: CommitNotice = {
          atMs: wire.atMs,
          llmCallsInserted: wire.llmCallsInserted,
          spansInserted: wire.spansInserted,
          ...(wire.ingestedAtRange ? { ingestedAtRange: wire.ingestedAtRange } : {}),
        };
        this.local.publish(notice);
      }
    })().catch(() => undefined);
  }

  publish(notice: CommitNotice): void {
    this.local.publish(notice);
    const wire: WireNotice = {
      v: 1,
      origin: this.origin,
      atMs: notice.atMs,
      llmCallsInserted: notice.llmCallsInserted,
      spansInserted: notice.spansInserted,
      ...(notice.ingestedAtRange ? { ingestedAtRange: notice.ingestedAtRange } : {}),
    };
    try {
      this.nc.publish(this.subject, this.encoder.encode(JSON.stringify(wire)));
    } catch {
      this.publishFailures++;
    }
  }

  subscribe(listener: (notice: CommitNotice) => void): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    this.sub?.unsubscribe();
    await this.nc.drain().catch(() => undefined);
    await this.loop;
  }
}
