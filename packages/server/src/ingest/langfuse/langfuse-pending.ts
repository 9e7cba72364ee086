/**
 * Holds the parts of Langfuse observations that arrive in separate requests. The v3 client
 * sends `generation-create` when a generation starts and `generation-update` (end time, output,
 * usage) when it ends, flushing every 15 events or 10 s, so the two often land in different
 * batches. A call is stored once, complete: the events of an observation that has not ended are
 * held here (in the state store, so every ingest node and a restart see them) until the rest
 * arrives; trace events are held too, as the user, session, tags and metadata of observations
 * still to come. Observations that never end are given up waiting for after
 * `observationMaxAgeMs` and stored as they are (`LangfusePendingFlusher`).
 *
 * Held entries are settings under `langfuse.pending.<projectId>/<o|t>/<id>`, each the JSON of
 * `{updatedAtMs, events}`; inputs and outputs are cut to the excerpt length first.
 */
import type { Clock, TelemetryBatch } from '@reskpoints/core';
import type { StateStore } from '../../store/ports.js';
import {
  type LangfuseEvent,
  type LangfuseMapOutcome,
  langfuseEventTarget,
  langfuseText,
} from './langfuse-ingestion.js';

const PREFIX = 'langfuse.pending.';

interface Held {
  updatedAtMs: number;
  events: LangfuseEvent[];
}

const key = (projectId: string, kind: 'o' | 't', id: string) => `${PREFIX}${projectId}/${kind}/${id}`;

function parseKey(k: string): { projectId: string; kind: 'o' | 't'; id: string } | null {
  const rest = k.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || (rest[slash + 1] !== 'o' && rest[slash + 1] !== 't') || rest[slash + 2] !== '/') return null;
  return { projectId: rest.slice(0, slash), kind: rest[slash + 1] as 'o' | 't', id: rest.slice(slash + 3) };
}

function parseHeld(value: string | null): Held | null {
  if (value === null) return null;
  try {
    const h = JSON.parse(value) as Held;
    return typeof h.updatedAtMs === 'number' && Array.isArray(h.events) ? h : null;
  } catch {
    return null;
  }
}

/** Inputs and outputs are only ever kept as excerpts, so held copies need no more. */
function slim(e: LangfuseEvent, excerptMaxChars: number): LangfuseEvent {
  const body: Record<string, unknown> = { ...e.body };
  for (const f of ['input', 'output']) {
    if (body[f] === undefined || body[f] === null) continue;
    const text = langfuseText(body[f]);
    // One character more than kept, so the excerpt still shows it was cut.
    body[f] = text === null ? null : text.slice(0, excerptMaxChars + 1);
  }
  return { ...e, body };
}

function mergeEvents(a: LangfuseEvent[], b: LangfuseEvent[]): LangfuseEvent[] {
  const seen = new Set(a.map((e) => e.id));
  return [...a, ...b.filter((e) => !seen.has(e.id))];
}

export interface LangfusePendingOptions {
  state: StateStore;
  clock: Clock;
  /** An observation that has not ended is stored as it is after this long. Default 15 min. */
  observationMaxAgeMs?: number;
  /** Trace events are kept this long after their last update, for observations still to come. Default 1 h. */
  traceContextTtlMs?: number;
  /** Most trace events kept per trace (the newest); default 20. */
  maxEventsPerTrace?: number;
}

export class LangfusePending {
  readonly observationMaxAgeMs: number;
  readonly traceContextTtlMs: number;
  private readonly maxEventsPerTrace: number;

  constructor(private readonly opts: LangfusePendingOptions) {
    this.observationMaxAgeMs = opts.observationMaxAgeMs ?? 15 * 60_000;
    this.traceContextTtlMs = opts.traceContextTtlMs ?? 3_600_000;
    this.maxEventsPerTrace = opts.maxEventsPerTrace ?? 20;
  }

  /**
   * The held events that the request's events complete: earlier parts of its observations, and
   * the trace events of every trace they belong to.
   */
  async heldFor(projectId: string, events: LangfuseEvent[]): Promise<LangfuseEvent[]> {
    const observationIds = new Set<string>();
    const traceIds = new Set<string>();
    for (const e of events) {
      const t = langfuseEventTarget(e);
      if (!t) continue;
      if (t.kind === 'observation') observationIds.add(t.id);
      else traceIds.add(t.id);
      if (typeof e.body.traceId === 'string') traceIds.add(e.body.traceId);
    }
    const held: LangfuseEvent[] = [];
    for (const id of observationIds) {
      const h = parseHeld(await this.opts.state.getSetting(key(projectId, 'o', id)));
      if (!h) continue;
      held.push(...h.events);
      for (const e of h.events) if (typeof e.body.traceId === 'string') traceIds.add(e.body.traceId);
    }
    for (const id of traceIds) {
      const h = parseHeld(await this.opts.state.getSetting(key(projectId, 't', id)));
      if (h) held.push(...h.events);
    }
    return held;
  }

  /** Holds the observations that have not ended and the trace events of a decoded request. */
  async hold(projectId: string, outcome: LangfuseMapOutcome, excerptMaxChars: number): Promise<void> {
    const now = this.opts.clock.nowMs();
    for (const [id, events] of outcome.pendingObservations) {
      const held: Held = { updatedAtMs: now, events: events.map((e) => slim(e, excerptMaxChars)) };
      await this.opts.state.setSetting(key(projectId, 'o', id), JSON.stringify(held));
    }
    for (const [id, events] of outcome.traces) {
      const k = key(projectId, 't', id);
      const before = parseHeld(await this.opts.state.getSetting(k));
      const merged = mergeEvents(
        before?.events ?? [],
        events.map((e) => slim(e, excerptMaxChars)),
      ).slice(-this.maxEventsPerTrace);
      await this.opts.state.setSetting(k, JSON.stringify({ updatedAtMs: now, events: merged } satisfies Held));
    }
  }

  /** Forgets held parts of observations that are now stored. */
  async release(projectId: string, observationIds: string[]): Promise<void> {
    await this.opts.state.deleteSettings(observationIds.map((id) => key(projectId, 'o', id)));
  }

  /**
   * Observations held longer than `observationMaxAgeMs`, as request bodies (with their trace
   * events) that store them as they are; and forgets trace events past their TTL. At most
   * `limit` observations per call.
   */
  async expired(limit: number): Promise<Array<{ projectId: string; observationId: string; body: Buffer }>> {
    const now = this.opts.clock.nowMs();
    const out: Array<{ projectId: string; observationId: string; body: Buffer }> = [];
    const staleTraces: string[] = [];
    let after = '';
    for (;;) {
      const rows = await this.opts.state.listSettings(PREFIX, 500, after);
      if (rows.length === 0) break;
      after = (rows[rows.length - 1] as { key: string }).key;
      for (const row of rows) {
        const k = parseKey(row.key);
        const held = parseHeld(row.value);
        if (!k || !held) {
          staleTraces.push(row.key);
          continue;
        }
        if (k.kind === 't') {
          if (now - held.updatedAtMs > this.traceContextTtlMs) staleTraces.push(row.key);
          continue;
        }
        if (out.length >= limit || now - held.updatedAtMs <= this.observationMaxAgeMs) continue;
        const traceEvents: LangfuseEvent[] = [];
        const traceId = held.events.find((e) => typeof e.body.traceId === 'string')?.body.traceId as string | undefined;
        if (traceId !== undefined) {
          const t = parseHeld(await this.opts.state.getSetting(key(k.projectId, 't', traceId)));
          if (t) traceEvents.push(...t.events);
        }
        const body = Buffer.from(JSON.stringify({ batch: [...traceEvents, ...held.events], flushPending: true }));
        out.push({ projectId: k.projectId, observationId: k.id, body });
      }
    }
    await this.opts.state.deleteSettings(staleTraces);
    return out;
  }
}

/** Where given-up observations go: the ingest path, as a request of their own. */
export type LangfuseFlushSubmit = (projectId: string, body: Buffer) => Promise<{ ok: boolean; batch?: TelemetryBatch }>;
