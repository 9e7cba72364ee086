/**
 * The cluster's dead-letter area: a JetStream stream (`<ingest stream>_DLQ`, file storage,
 * limits retention, kept until deleted) with one message per letter, its JSON as the data.
 * A letter's id is its stream sequence (`dlq-<seq>`), so get and remove are one request each;
 * the stream allows direct gets, which `list` uses to walk letters in order past deleted ones.
 */
import { type Clock, randomHex } from '@reskpoints/core';
import {
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StoredMsg,
} from 'nats';
import type { DeadLetter, DeadLetterStore, DeadLetterSummary, NewDeadLetter } from '../ports.js';

/** The part of nats.js' direct-get API used here (the manager has it; its interface does not say so). */
interface DirectGet {
  getMessage(stream: string, query: { seq: number; next_by_subj: string }): Promise<StoredMsg>;
}

const ID = /^dlq-(\d{1,15})$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function seqOf(id: string): number | null {
  const m = ID.exec(id);
  return m ? Number(m[1]) : null;
}

function isNotFound(e: unknown): boolean {
  const err = e as { api_error?: { code?: number }; code?: string | number; message?: string };
  return (
    err?.api_error?.code === 404 || String(err?.code) === '404' || /not found|no message/i.test(err?.message ?? '')
  );
}

export class NatsDeadLetterStore implements DeadLetterStore {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly stream: string,
    readonly subject: string,
    private readonly clock: Clock,
  ) {}

  /** Makes sure the stream exists (creating it when absent). */
  static async open(opts: {
    js: JetStreamClient;
    jsm: JetStreamManager;
    stream: string;
    subject: string;
    replicas?: number;
    clock: Clock;
  }): Promise<NatsDeadLetterStore> {
    const { jsm, stream, subject } = opts;
    const exists = () =>
      jsm.streams.info(stream).then(
        () => true,
        (e: unknown) => {
          if (isNotFound(e)) return false;
          throw e;
        },
      );
    if (!(await exists())) {
      try {
        await jsm.streams.add({
          name: stream,
          subjects: [subject],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.New,
          num_replicas: opts.replicas ?? 1,
          allow_direct: true,
        });
      } catch (e) {
        if (!(await exists())) throw e;
      }
    }
    return new NatsDeadLetterStore(opts.js, jsm, stream, subject, opts.clock);
  }

  async add(input: NewDeadLetter): Promise<DeadLetter> {
    const atMs = this.clock.nowMs();
    const body = { atMs, ...input };
    const ack = await this.js.publish(this.subject, encoder.encode(JSON.stringify(body)), {
      msgID: `dl-${atMs}-${randomHex(8)}`,
      expect: { streamName: this.stream },
    });
    return { id: `dlq-${ack.seq}`, ...body };
  }

  private toLetter(m: StoredMsg): DeadLetter {
    return { id: `dlq-${m.seq}`, ...(JSON.parse(decoder.decode(m.data)) as Omit<DeadLetter, 'id'>) };
  }

  /** The first letter at or after `seq`, or null past the end. */
  private async nextFrom(seq: number): Promise<StoredMsg | null> {
    try {
      const direct = (this.jsm as unknown as { direct: DirectGet }).direct;
      return await direct.getMessage(this.stream, { seq, next_by_subj: this.subject });
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async list(opts: { limit: number; afterId?: string }): Promise<DeadLetterSummary[]> {
    let seq = opts.afterId === undefined ? 1 : (seqOf(opts.afterId) ?? Number.MAX_SAFE_INTEGER) + 1;
    const out: DeadLetterSummary[] = [];
    while (out.length < opts.limit) {
      const m = await this.nextFrom(seq);
      if (!m) break;
      const { payload, ...rest } = this.toLetter(m);
      out.push({ ...rest, payloadType: payload.type });
      seq = m.seq + 1;
    }
    return out;
  }

  async get(id: string): Promise<DeadLetter | null> {
    const seq = seqOf(id);
    if (seq === null) return null;
    try {
      return this.toLetter(await this.jsm.streams.getMessage(this.stream, { seq }));
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async remove(id: string): Promise<boolean> {
    const seq = seqOf(id);
    if (seq === null) return false;
    try {
      return await this.jsm.streams.deleteMessage(this.stream, seq, false);
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Letters from the stream's state; events by reading every letter (letters are rare). */
  async held(): Promise<{ letters: number; events: number }> {
    const info = await this.jsm.streams.info(this.stream);
    let events = 0;
    let seq = 1;
    for (;;) {
      const m = await this.nextFrom(seq);
      if (!m) break;
      events += (JSON.parse(decoder.decode(m.data)) as { events?: number }).events ?? 0;
      seq = m.seq + 1;
    }
    return { letters: info.state.messages, events };
  }

  /** Deletes the stream; for tests and for tearing down a deployment. */
  async destroy(): Promise<void> {
    await this.jsm.streams.delete(this.stream).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }

  async close(): Promise<void> {}
}
