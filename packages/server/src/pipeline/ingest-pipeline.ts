import {
  type AppError,
  appError,
  batchEventCount,
  batchEvents,
  batchFromEvents,
  type Clock,
  concatBatches,
  err,
  ok,
  type Result,
  type TelemetryBatch,
} from '@reskpoints/core';
import { errorMessage, isPermanentStoreError } from '../store/permanent-error.js';
import type { AppendResult, BatchSink, DeadLetter, DeadLetterStore } from '../store/ports.js';
import type { AckLog, LoggedRequest } from './ack-log.js';
import { commitIsolating, type RejectedEvent } from './isolate.js';

export interface IngestPipelineOptions {
  sink: BatchSink;
  clock: Clock;
  /** Events queued or being committed before submissions are refused with RP_OVERLOADED. */
  queueMaxEvents: number;
  /** Request bodies held for the acknowledgement log before submissions are refused with RP_OVERLOADED. */
  queueMaxBytes?: number;
  /** Most events merged into one group commit (one submission larger than this commits alone). */
  maxBatchEvents: number;
  /** How long an idle committer waits for more submissions to join a commit. */
  flushIntervalMs: number;
  /** Retry-After advertised when refusing work. */
  retryAfterSeconds: () => number;
  /** Called after every successful commit, outside the commit path; must not throw. */
  onCommitted?: (batch: TelemetryBatch, result: AppendResult, commitMs: number) => void;
  /** Called when a commit fails; the submissions in it are refused with RP_UNAVAILABLE. */
  onCommitFailed?: (error: unknown) => void;
  /**
   * Where events the sink refuses permanently go (see `permanent-error.ts`). With it, a group
   * that fails permanently is split until the refused events stand alone; the rest is committed,
   * the refused events are written here, and their submissions count them as dead-lettered.
   * Without it, a permanent failure is treated like a transient one.
   */
  deadLetters?: {
    store: DeadLetterStore;
    onDeadLettered?: (letter: DeadLetter) => void;
  };
  /**
   * Acknowledgement log: a submission that carries its request and is still not committed after
   * `afterMs` is written to the log and acknowledged once the log holds it. It stays queued (and
   * counted against `queueMaxEvents`) until the sink commits it; a failed commit is retried.
   */
  ackLog?: {
    log: AckLog;
    afterMs: number;
    onAcknowledged?: (events: number) => void;
    onLogFailed?: (error: unknown) => void;
  };
}

export interface SubmitOutcome {
  llmCallsAccepted: number;
  llmCallDuplicates: number;
  spansAccepted: number;
  /** Log records taken (duplicates among them are dropped at commit and not counted apart). */
  logsAccepted?: number;
  /** Events the store refused permanently; they are held in the dead-letter area. */
  deadLetteredEvents: number;
}

interface Pending {
  batch: TelemetryBatch;
  events: number;
  resolve: (r: Result<SubmitOutcome>) => void;
  /** The request as received, for the acknowledgement log. */
  request?: LoggedRequest;
  timer?: ReturnType<typeof setTimeout>;
  /** The submitter has its answer: from the commit, or from the log (`logRef` set). */
  answered: boolean;
  /** The sink committed it (or refused it before it was acknowledged). */
  done: boolean;
  /** Releases its acknowledgement-log record once committed or dead-lettered. */
  release?: () => void;
  /** Recovered from the acknowledgement log of an earlier run (see `adopt`). */
  recovered?: boolean;
  /** Set while acknowledged from the log and not yet committed; resolved by `finish`. */
  committed?: { promise: Promise<void>; resolve: () => void };
}

const eventCount = batchEventCount;

/**
 * Bounded queue with group commit. A submission resolves only after the sink made its
 * events durable, so a 2xx built on it is an honest acknowledgement. Submissions that would
 * push the queue past `queueMaxEvents` are refused at once instead of growing memory.
 */
export class IngestPipeline {
  private queue: Pending[] = [];
  private queuedEvents = 0;
  private inFlightEvents = 0;
  private committing = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** Submissions acknowledged from the log whose commit is still to come. */
  private readonly ackedUncommitted = new Set<Pending>();
  /** Bytes of request bodies held for the acknowledgement log. */
  private heldBytes = 0;
  readonly counters = {
    committedEvents: 0,
    duplicateEvents: 0,
    refusedEvents: 0,
    failedCommits: 0,
    commits: 0,
    /** Events acknowledged from the acknowledgement log before their commit. */
    loggedAckEvents: 0,
    /** Events the store refused permanently, moved to the dead-letter area. */
    deadLetteredEvents: 0,
  };

  constructor(private readonly opts: IngestPipelineOptions) {}

  /** Events waiting or being committed. */
  get depthEvents(): number {
    return this.queuedEvents + this.inFlightEvents;
  }

  /**
   * Queues a batch; resolves once it is durable. `request` (the body it was decoded from) lets a
   * held-up commit be acknowledged from the acknowledgement log instead.
   */
  submit(batch: TelemetryBatch, request?: LoggedRequest): Promise<Result<SubmitOutcome>> {
    const events = eventCount(batch);
    if (this.closed) {
      return Promise.resolve(
        err(
          appError('RP_SHUTTING_DOWN', 'server is shutting down; retry against another node or later', {
            retryAfterSeconds: this.opts.retryAfterSeconds(),
          }),
        ),
      );
    }
    if (events === 0)
      return Promise.resolve(
        ok({ llmCallsAccepted: 0, llmCallDuplicates: 0, spansAccepted: 0, deadLetteredEvents: 0 }),
      );
    const bytes = this.opts.ackLog ? (request?.body.length ?? 0) : 0;
    const full =
      this.depthEvents > 0 &&
      (this.depthEvents + events > this.opts.queueMaxEvents ||
        this.heldBytes + bytes > (this.opts.queueMaxBytes ?? Number.POSITIVE_INFINITY));
    if (full) {
      this.counters.refusedEvents += events;
      return Promise.resolve(
        err(
          appError(
            'RP_OVERLOADED',
            `ingest queue is full (${this.depthEvents} events, ${this.heldBytes} body bytes waiting); retry later`,
            { retryAfterSeconds: this.opts.retryAfterSeconds() },
          ),
        ),
      );
    }
    return new Promise((resolve) => {
      const p: Pending = { batch, events, resolve, answered: false, done: false };
      const ackLog = this.opts.ackLog;
      if (ackLog && request) {
        p.request = request;
        this.heldBytes += bytes;
        if (ackLog.afterMs <= 0) this.logAndAck(p);
        else p.timer = setTimeout(() => this.logAndAck(p), ackLog.afterMs);
      }
      this.queue.push(p);
      this.queuedEvents += events;
      this.schedule();
    });
  }

  /**
   * Takes a batch acknowledged by an earlier run (replayed from the acknowledgement log): it is
   * queued like an acknowledged submission, whatever the queue's limits, retried while the
   * store fails transiently and dead-lettered where it fails permanently; `release` is called
   * once it is committed or dead-lettered. Reads wait for it as for any acknowledged event.
   */
  adopt(batch: TelemetryBatch, release: () => void): void {
    const events = eventCount(batch);
    if (events === 0) {
      release();
      return;
    }
    const p: Pending = {
      batch,
      events,
      resolve: () => undefined,
      answered: true,
      done: false,
      release,
      recovered: true,
    };
    let resolveCommitted!: () => void;
    p.committed = { promise: new Promise((r) => (resolveCommitted = r)), resolve: () => resolveCommitted() };
    this.ackedUncommitted.add(p);
    this.queue.push(p);
    this.queuedEvents += events;
    this.schedule();
  }

  /** Writes a held-up submission to the log and acknowledges it once the log holds it. */
  private logAndAck(p: Pending): void {
    p.timer = undefined;
    const ackLog = this.opts.ackLog;
    const request = p.request;
    if (p.done || !ackLog || !request) return;
    this.dropRequest(p);
    ackLog.log.append(request).then(
      (ref) => {
        if (p.done) return ackLog.log.release(ref);
        p.release = () => ackLog.log.release(ref);
        p.answered = true;
        let resolveCommitted!: () => void;
        p.committed = { promise: new Promise((r) => (resolveCommitted = r)), resolve: () => resolveCommitted() };
        this.ackedUncommitted.add(p);
        this.counters.loggedAckEvents += p.events;
        this.safe(() => ackLog.onAcknowledged?.(p.events));
        // Duplicates are only known at commit; they are dropped there all the same.
        p.resolve(
          ok({
            llmCallsAccepted: p.batch.llmCalls.length,
            llmCallDuplicates: 0,
            spansAccepted: p.batch.spans.length,
            ...(p.batch.logs?.length ? { logsAccepted: p.batch.logs.length } : {}),
            deadLetteredEvents: 0,
          }),
        );
      },
      (e) => this.safe(() => ackLog.onLogFailed?.(e)),
    );
  }

  /** The sink committed or refused `p`: its timer and log record are no longer needed. */
  private finish(p: Pending): void {
    p.done = true;
    this.dropRequest(p);
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    const release = p.release;
    p.release = undefined;
    if (release) this.safe(release);
    this.settle(p);
  }

  private dropRequest(p: Pending): void {
    if (p.request) this.heldBytes -= p.request.body.length;
    p.request = undefined;
  }

  private settle(p: Pending): void {
    this.ackedUncommitted.delete(p);
    p.committed?.resolve();
    p.committed = undefined;
  }

  /**
   * Resolves once every submission acknowledged so far is committed, so that a read issued
   * after an acknowledgement sees its events even when the acknowledgement came from the log.
   * Gives up after `timeoutMs` (reads then proceed without the held-up events).
   */
  async settled(timeoutMs: number): Promise<void> {
    if (this.ackedUncommitted.size === 0) return;
    const waits = [...this.ackedUncommitted].map((p) => p.committed?.promise);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(waits), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private schedule(): void {
    if (this.committing || this.flushTimer || this.retryTimer) return;
    if (this.queuedEvents >= this.opts.maxBatchEvents || this.opts.flushIntervalMs === 0) {
      void this.commitLoop();
      return;
    }
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.commitLoop();
    }, this.opts.flushIntervalMs);
  }

  private takeGroup(): Pending[] {
    const group: Pending[] = [];
    let events = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      if (group.length > 0 && events + next.events > this.opts.maxBatchEvents) break;
      this.queue.shift();
      group.push(next);
      events += next.events;
    }
    this.queuedEvents -= events;
    this.inFlightEvents = events;
    return group;
  }

  private async commitLoop(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.takeGroup();
        if (!(await this.commitGroup(group))) {
          // Acknowledged submissions went back to the queue; give the store a moment.
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            void this.commitLoop();
          }, this.opts.retryAfterSeconds() * 1000);
          break;
        }
      }
    } finally {
      this.committing = false;
      this.inFlightEvents = 0;
      // While a retry of acknowledged work is pending, its timer restarts the loop.
      if (!this.retryTimer) {
        if (this.queue.length > 0) this.schedule();
        else for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  }

  /** Returns false when the commit failed and acknowledged submissions must be retried. */
  private async commitGroup(group: Pending[]): Promise<boolean> {
    const merged: TelemetryBatch =
      group.length === 1 ? (group[0] as Pending).batch : concatBatches(group.map((p) => p.batch));
    const started = this.opts.clock.nowMs();
    let result: AppendResult;
    let dead: Map<Pending, RejectedEvent[]> | null = null;
    try {
      result = await this.opts.sink.commit(merged);
    } catch (e) {
      if (!this.opts.deadLetters || !isPermanentStoreError(e)) return this.commitFailed(group, e);
      const isolated = await this.isolate(group, merged, e);
      if (!isolated.ok) return this.commitFailed(group, isolated.error);
      result = isolated.result;
      dead = isolated.dead;
    }
    // The group leaves the queue's accounting before its submitters hear back.
    this.inFlightEvents = 0;
    this.counters.commits++;
    this.counters.committedEvents += result.llmCallsInserted + result.spansInserted + (result.logsInserted ?? 0);
    this.counters.duplicateEvents += result.llmCallDuplicates + result.spanDuplicates + (result.logDuplicates ?? 0);
    // Usually nothing was a repeat or refused and every call counts as accepted; otherwise match keys.
    const inserted =
      result.llmCallDuplicates === 0 && !dead
        ? null
        : new Set(result.insertedLlmCallKeys.map((k) => `${k.projectId}\u0000${k.id}`));
    for (const p of group) {
      const refused = dead?.get(p) ?? [];
      const refusedCalls = refused.filter((r) => r.kind === 'llmCall').length;
      const refusedLogs = refused.filter((r) => r.kind === 'log').length;
      let accepted = p.batch.llmCalls.length;
      if (inserted) {
        accepted = 0;
        for (const c of p.batch.llmCalls) {
          // delete: a second copy of the same id in this commit counts as a duplicate
          if (inserted.delete(`${c.projectId}\u0000${c.id}`)) accepted++;
        }
      }
      this.finish(p);
      if (p.answered) continue;
      p.answered = true;
      p.resolve(
        ok({
          llmCallsAccepted: accepted,
          llmCallDuplicates: p.batch.llmCalls.length - accepted - refusedCalls,
          spansAccepted: p.batch.spans.length - (refused.length - refusedCalls - refusedLogs),
          ...(p.batch.logs?.length ? { logsAccepted: p.batch.logs.length - refusedLogs } : {}),
          deadLetteredEvents: refused.length,
        }),
      );
    }
    const commitMs = this.opts.clock.nowMs() - started;
    this.safe(() => this.opts.onCommitted?.(merged, result, commitMs));
    return true;
  }

  /**
   * The group failed permanently: commits what the store takes, and writes what it refuses to
   * the dead-letter area, one letter per submission, before anyone is answered or released.
   */
  private async isolate(
    group: Pending[],
    merged: TelemetryBatch,
    firstError: unknown,
  ): Promise<{ ok: true; result: AppendResult; dead: Map<Pending, RejectedEvent[]> } | { ok: false; error: unknown }> {
    const deadLetters = this.opts.deadLetters as NonNullable<IngestPipelineOptions['deadLetters']>;
    const outcome = await commitIsolating((b) => this.opts.sink.commit(b), merged, firstError);
    if (!outcome.ok) return outcome;
    const owner = new Map<object, Pending>();
    for (const p of group) for (const x of batchEvents(p.batch)) owner.set(x.event, p);
    const dead = new Map<Pending, RejectedEvent[]>();
    for (const r of outcome.rejected) {
      const p = owner.get(r.event) as Pending;
      const list = dead.get(p);
      if (list) list.push(r);
      else dead.set(p, [r]);
    }
    try {
      for (const [p, refused] of dead) {
        const batch = batchFromEvents(refused);
        const letter = await deadLetters.store.add({
          origin: p.recovered ? 'ack-log' : 'ingest',
          reason: 'store-rejected',
          error: errorMessage(refused[0]?.error),
          events: refused.length,
          projectIds: [...new Set(refused.map((r) => r.event.projectId))],
          payload: { type: 'batch', batch },
        });
        this.counters.deadLetteredEvents += refused.length;
        this.safe(() => deadLetters.onDeadLettered?.(letter));
      }
    } catch (e) {
      // Without its dead letter an event must not be answered or released: retry it all.
      return { ok: false, error: e };
    }
    return { ok: true, result: outcome.result, dead };
  }

  /** A transient failure: refuses what is not acknowledged yet, queues the rest again. */
  private commitFailed(group: Pending[], e: unknown): boolean {
    this.inFlightEvents = 0;
    this.counters.failedCommits++;
    this.safe(() => this.opts.onCommitFailed?.(e));
    const error: AppError = appError(
      'RP_UNAVAILABLE',
      'the store could not commit the events; nothing was stored, retry later',
      {
        retryAfterSeconds: this.opts.retryAfterSeconds(),
      },
    );
    const retry: Pending[] = [];
    for (const p of group) {
      if (p.answered && !this.closed) retry.push(p);
      else if (!p.answered) {
        this.finish(p);
        p.resolve(err(error));
      }
      // Acknowledged and closing: its log record stays and is recovered at the next start.
      else this.settle(p);
    }
    this.queue.unshift(...retry);
    this.queuedEvents += retry.reduce((n, p) => n + p.events, 0);
    return retry.length === 0;
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch {
      // Observers must never break the commit path.
    }
  }

  /** Resolves when nothing is queued or committing. */
  whenIdle(): Promise<void> {
    if (!this.committing && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Refuses new submissions and waits for everything accepted so far to commit. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of [this.flushTimer, this.retryTimer]) {
      if (!t) continue;
      clearTimeout(t);
      this.flushTimer = null;
      this.retryTimer = null;
      void this.commitLoop();
    }
    await this.whenIdle();
  }
}
