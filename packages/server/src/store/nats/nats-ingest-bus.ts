/**
 * IngestBus on NATS JetStream, for cluster mode.
 *
 * - One stream (file storage, work-queue retention: a message is removed once acked) with
 *   one subject; ingest nodes publish to it and every publish waits for the PubAck, so a
 *   resolved `publish` means the stream stored the batch.
 * - The publisher's id goes into the `Nats-Msg-Id` header; the stream drops a re-publish
 *   of the same id within its duplicate window (default 2 minutes).
 * - Workers share one durable pull consumer with explicit acks. A message that is not acked
 *   within the ack wait (worker crashed or stalled) is delivered again; `nak(delayMs)`
 *   asks for redelivery after a delay.
 * - A batch larger than the server's message limit is split into self-contained parts with
 *   ids `<id>#<i>/<n>`; each part is a TelemetryBatch of its own.
 */

import type { Clock, TelemetryBatch } from '@reskpoints/core';
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType,
} from 'nats';
import type { BusMessage, IngestBus } from '../ports.js';
import { decodeBatch, encodeBatchParts } from './batch-codec.js';
import { NatsDeadLetterStore } from './nats-dead-letters.js';

export interface NatsIngestBusOptions {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`; credentials may be part of the URL. */
  servers: string | string[];
  /** Stream name. Default `RESKPOINTS_INGEST`. */
  stream?: string;
  /** Subject the stream captures. Default `reskpoints.ingest.<stream>`. */
  subject?: string;
  /** Durable consumer shared by all workers. Default `workers`. */
  consumer?: string;
  /** Redelivery of a message pulled but not acked, ms. Default 60_000. */
  ackWaitMs?: number;
  /** Window in which a re-published id is dropped, ms. Default 120_000. */
  duplicateWindowMs?: number;
  /** Stream replicas (1 for a single server, 3 for a NATS cluster). Default 1. */
  replicas?: number;
  /** Cap on the stream's bytes; publishes fail beyond it rather than dropping old data. Default unlimited. */
  maxStreamBytes?: number;
  /** Most messages delivered and not yet acked across all workers. Default 10_000. */
  maxAckPending?: number;
  /** Largest message published, bytes. Default: the server's `max_payload` minus 4 KiB for headers. */
  maxMessageBytes?: number;
  /** Time to wait for a PubAck or an API answer, ms. Default 10_000. */
  requestTimeoutMs?: number;
  /** Name shown in the server's connection list. Default `reskpoints`. */
  connectionName?: string;
  /**
   * Keeps a message that cannot be decoded (its raw data) elsewhere, e.g. in the dead-letter
   * stream; the message is terminated once this resolves, and redelivered if it rejects.
   * Without it, such messages are terminated at once.
   */
  onUndecodable?: (info: { id: string; error: Error; data: Uint8Array }) => Promise<void> | void;
}

export class NatsIngestBus implements IngestBus {
  readonly stream: string;
  readonly subject: string;
  readonly consumer: string;
  private readonly js: JetStreamClient;
  private consumerReady: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly options: NatsIngestBusOptions,
  ) {
    this.stream = options.stream ?? 'RESKPOINTS_INGEST';
    this.subject = options.subject ?? `reskpoints.ingest.${this.stream}`;
    this.consumer = options.consumer ?? 'workers';
    this.js = nc.jetstream({ timeout: options.requestTimeoutMs ?? 10_000 });
  }

  /** Connects and makes sure the stream exists (creating it when absent). */
  static async connect(options: NatsIngestBusOptions): Promise<NatsIngestBus> {
    const nc = await connect({
      servers: options.servers,
      name: options.connectionName ?? 'reskpoints',
      // A worker or ingest node lives long: keep reconnecting rather than give up.
      maxReconnectAttempts: -1,
      timeout: options.requestTimeoutMs ?? 10_000,
    });
    try {
      const jsm = await nc.jetstreamManager({ timeout: options.requestTimeoutMs ?? 10_000 });
      const bus = new NatsIngestBus(nc, jsm, options);
      await bus.ensureStream();
      return bus;
    } catch (e) {
      await nc.close();
      throw e;
    }
  }

  private async ensureStream(): Promise<void> {
    const exists = async () =>
      this.jsm.streams.info(this.stream).then(
        () => true,
        (e: unknown) => {
          if (isNotFound(e)) return false;
          throw e;
        },
      );
    if (await exists()) return;
    try {
      await this.jsm.streams.add({
        name: this.stream,
        subjects: [this.subject],
        storage: StorageType.File,
        retention: RetentionPolicy.Workqueue,
        discard: DiscardPolicy.New,
        max_bytes: this.options.maxStreamBytes ?? -1,
        duplicate_window: nanos(this.options.duplicateWindowMs ?? 120_000),
        num_replicas: this.options.replicas ?? 1,
      });
    } catch (e) {
      // Another node created it between our check and our add.
      if (!(await exists())) throw e;
    }
  }

  /** Workers create the consumer on first pull; ingest nodes never need it. */
  private ensureConsumer(): Promise<void> {
    this.consumerReady ??= (async () => {
      const config = {
        durable_name: this.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(this.options.ackWaitMs ?? 60_000),
        max_deliver: -1,
        max_ack_pending: this.options.maxAckPending ?? 10_000,
      };
      try {
        await this.jsm.consumers.add(this.stream, config);
      } catch (e) {
        // It exists with other settings (an older deployment): bring the editable ones in line.
        const existing = await this.jsm.consumers.info(this.stream, this.consumer).catch(() => null);
        if (!existing) throw e;
        await this.jsm.consumers.update(this.stream, this.consumer, {
          ack_wait: config.ack_wait,
          max_deliver: config.max_deliver,
          max_ack_pending: config.max_ack_pending,
        });
      }
    })().catch((e: unknown) => {
      this.consumerReady = null;
      throw e;
    });
    return this.consumerReady;
  }

  async publish(id: string, batch: TelemetryBatch): Promise<void> {
    if (this.closed) throw new Error('ingest bus is closed');
    const maxBytes =
      this.options.maxMessageBytes ?? Math.max(64 * 1024, (this.nc.info?.max_payload ?? 1024 * 1024) - 4096);
    const parts = encodeBatchParts(batch, maxBytes);
    const publishOne = async (data: Uint8Array, msgID: string) => {
      await this.js.publish(this.subject, data, { msgID, expect: { streamName: this.stream } });
    };
    if (parts.length === 1) {
      await publishOne(parts[0] as Uint8Array, id);
      return;
    }
    await Promise.all(parts.map((data, i) => publishOne(data, `${id}#${i + 1}/${parts.length}`)));
  }

  async pull(max: number, waitMs: number): Promise<BusMessage[]> {
    if (this.closed) throw new Error('ingest bus is closed');
    await this.ensureConsumer();
    const batch = Math.max(1, Math.trunc(max));
    // First whatever is there right now; only when nothing is, wait for one message and then
    // top up without waiting.
    const msgs = await this.takeAvailable(batch);
    if (msgs.length === 0 && waitMs > 0) {
      msgs.push(...(await this.fetch({ batch: 1, expires: Math.max(1, Math.trunc(waitMs)) })));
      if (msgs.length > 0) msgs.push(...(await this.takeAvailable(batch - 1)));
    }
    const out: BusMessage[] = [];
    for (const m of msgs) {
      const message = await this.toBusMessage(m);
      if (message) out.push(message);
    }
    return out;
  }

  /**
   * Up to `max` messages that are there now, one request per message. A no-wait request for
   * several messages is not safe with nats.js: its fetch stops listening as soon as a message
   * reports nothing else pending, while the server keeps the rest of the request open, so a
   * message published in that moment goes to an inbox nobody reads and comes back only after
   * the ack wait (seen under load: batches stuck for the whole minute). A request for one
   * message is complete once that message arrives.
   */
  private async takeAvailable(max: number): Promise<JsMsg[]> {
    const out: JsMsg[] = [];
    while (out.length < max) {
      const got = await this.fetch({ batch: 1, no_wait: true });
      if (got.length === 0) break;
      out.push(...got);
    }
    return out;
  }

  private async fetch(opts: { batch: number; no_wait?: boolean; expires?: number }): Promise<JsMsg[]> {
    const out: JsMsg[] = [];
    const iter = this.js.fetch(this.stream, this.consumer, opts);
    for await (const m of iter) out.push(m);
    return out;
  }

  private async toBusMessage(m: JsMsg): Promise<BusMessage | null> {
    const id = m.headers?.get('Nats-Msg-Id') || `seq-${m.seq}`;
    let batch: TelemetryBatch;
    try {
      batch = decodeBatch(m.data);
    } catch (e) {
      // Redelivering it would fail the same way forever: keep it aside, then terminate it.
      try {
        await this.options.onUndecodable?.({ id, error: e instanceof Error ? e : new Error(String(e)), data: m.data });
        m.term();
      } catch {
        m.nak(this.options.ackWaitMs ?? 60_000);
      }
      return null;
    }
    return {
      id,
      batch,
      deliveryCount: m.info.redeliveryCount,
      ack: async () => {
        // Double ack: resolves once the server recorded it, so a resolved ack is final.
        const confirmed = await m.ackAck().catch(() => false);
        if (!confirmed) throw new Error(`ack of ${id} was not confirmed by the server; it may be delivered again`);
      },
      nak: async (delayMs?: number) => {
        m.nak(delayMs !== undefined && delayMs > 0 ? Math.trunc(delayMs) : undefined);
        await this.nc.flush();
      },
      working: async () => {
        m.working();
        await this.nc.flush();
      },
    };
  }

  /** The dead-letter stream next to this one: `<stream>_DLQ`, subject `<subject>.dlq`. */
  openDeadLetters(clock: Clock): Promise<NatsDeadLetterStore> {
    return NatsDeadLetterStore.open({
      js: this.js,
      jsm: this.jsm,
      stream: `${this.stream}_DLQ`,
      subject: `${this.subject}.dlq`,
      replicas: this.options.replicas,
      clock,
    });
  }

  /** Deletes the stream with everything in it; for tests and for tearing down a deployment. */
  async destroyStream(): Promise<void> {
    await this.jsm.streams.delete(this.stream).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }

  /** Messages stored and not yet acked (waiting or in flight). */
  async pendingMessages(): Promise<number> {
    return (await this.jsm.streams.info(this.stream)).state.messages;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.nc.drain().catch(() => this.nc.close());
  }
}

function isNotFound(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number; code?: number }; message?: string };
  return err?.api_error?.code === 404 || /not found/i.test(err?.message ?? '');
}
