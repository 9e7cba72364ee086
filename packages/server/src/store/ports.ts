/**
 * Storage and transport ports. Domain code depends only on these interfaces; adapters
 * (DuckDB, ClickHouse, PostgreSQL, NATS, in-process) implement them and each passes the
 * shared contract suites in `contract/`. Only `app.ts` constructs adapters.
 *
 * Units: times are epoch milliseconds, durations milliseconds, money USD.
 */
import type {
  LlmCall,
  LlmCallFilter,
  LlmCallListQuery,
  LlmCallPage,
  LogPage,
  LogPatternCount,
  LogPatternRatePoint,
  LogSearchQuery,
  Span,
  SummaryQuery,
  SummaryResult,
  TelemetryBatch,
} from '@reskpoints/core';

export interface AppendResult {
  /** Calls newly stored by this append. */
  llmCallsInserted: number;
  /** Calls skipped because (projectId, id) was already stored — retried batches. */
  llmCallDuplicates: number;
  spansInserted: number;
  spanDuplicates: number;
  /** Log records newly stored, and those skipped as already stored; absent when the batch had none. */
  logsInserted?: number;
  logDuplicates?: number;
  /** Ids (per project) of the calls this append newly stored, for the live stream. */
  insertedLlmCallKeys: Array<{ projectId: string; id: string }>;
  /**
   * The ingestion stamps (`ingestedAtMs`) the stored events got, when the store stamps them;
   * absent when nothing was stored. Readers of other nodes fetch a commit's calls by it.
   */
  ingestedAtRange?: { fromMs: number; toMs: number };
}

/** A stored call's identity and the excerpts to give it. */
export interface LlmCallExcerpts {
  projectId: string;
  id: string;
  startTimeMs: number;
  promptExcerpt: string | null;
  responseExcerpt: string | null;
}

export interface RecostQuery {
  fromMs: number;
  toMs: number;
  projectId?: string;
}

export interface RecostProgress {
  /** Periods (hours or days) of the range done, and how many the range has. */
  periodsDone: number;
  periodsTotal: number;
  /** Calls re-costed so far. */
  callsRecosted: number;
}

export interface SpanListQuery {
  projectId: string;
  fromMs: number;
  toMs: number;
  traceId?: string;
  serviceName?: string;
  /** 1..1000 */
  limit: number;
}

/** One trace read back: its spans and LLM calls, within a time range that bounds the search. */
export interface TraceQuery {
  traceId: string;
  /** Only these projects (a project key's own); undefined reads every project. */
  projectIds?: string[];
  /** Spans and calls that started in fromMs <= t < toMs. */
  fromMs: number;
  toMs: number;
}

export interface TraceRecord {
  /** Oldest first (startTimeMs asc, spanId asc), at most `TRACE_MAX_ITEMS`. */
  spans: Span[];
  /** Oldest first (startTimeMs asc, id asc), at most `TRACE_MAX_ITEMS`. */
  llmCalls: LlmCall[];
}

/** Most spans, and most calls, one trace read returns. */
export const TRACE_MAX_ITEMS = 5000;

export interface TraceListQuery {
  fromMs: number;
  toMs: number;
  /** Traces having at least one LLM call that matches. */
  filter: LlmCallFilter;
  /** 1..1000 */
  limit: number;
  /**
   * `nextCursor` of the previous page. Traces are ordered by the start of their first
   * matching call, then trace id, then project, all descending.
   */
  cursor?: string;
}

export interface TracePage {
  items: TraceSummary[];
  nextCursor: string | null;
}

/** A trace as seen through its LLM calls (spans without calls do not list a trace). */
export interface TraceSummary {
  projectId: string;
  traceId: string;
  /** First call's start and the last call's end, epoch ms. */
  startTimeMs: number;
  endTimeMs: number;
  llmCalls: number;
  errors: number;
  /** Sum of the known costs; null when no call of the trace has one. */
  costUsd: number | null;
  unpricedCalls: number;
  /** Distinct models of its calls, sorted. */
  models: string[];
  /** The name of its root span (no parent) when that span is stored, else null. */
  rootSpanName: string | null;
}

/**
 * A position in ingestion order, (ingestedAtMs, projectId, id) ascending, exclusive. With
 * `projectId`/`id` null it stands after every call ingested at `ingestedAtMs` or before.
 */
export interface IngestedCursor {
  ingestedAtMs: number;
  projectId: string | null;
  id: string | null;
}

export interface IngestedSinceQuery {
  /** Exclusive start; null reads from the first call stored. */
  after: IngestedCursor | null;
  /** Only calls with ingestedAtMs <= untilMs (readers stay `ingestedVisibilityLagMs` behind). */
  untilMs: number;
  /** 1..10_000 */
  limit: number;
}

/**
 * Append-mostly telemetry. Appending the same (projectId, id) twice stores it once: an LLM
 * call's identity is (projectId, id), a span's is (projectId, traceId, spanId). Two events
 * with the same identity are assumed to be the same event (same start time), which lets
 * adapters check duplicates by time range.
 *
 * What `appendBatch` guarantees, by every adapter: when it resolves, every event of the batch
 * is durable and visible to readers; when it rejects, appending the same batch again stores
 * exactly the events still missing ("eventually all, idempotent on retry"). How much of a
 * batch readers may see before that differs:
 * - DuckDB: atomic. One transaction holds calls, spans and rollups; readers see all of a
 *   batch or none of it, and a rejected append stored nothing.
 * - ClickHouse: not atomic (no transactions). Calls and spans are separate INSERTs, days go
 *   into separate parts, and a large INSERT becomes visible block by block, so readers may
 *   see part of a batch while it is being written, and a rejected append may have stored
 *   part of it, visible until the retry completes it. The cluster worker retries (a rejected
 *   append is redelivered), so what a client was acknowledged for ends up stored whole.
 */
export interface TelemetryStore {
  /** Creates or upgrades the schema; safe to call concurrently from several nodes. */
  migrate(): Promise<void>;
  appendBatch(batch: TelemetryBatch): Promise<AppendResult>;
  /**
   * Newest first (startTimeMs desc, id desc; projectId desc breaks the tie between projects
   * that used the same id at the same millisecond), fromMs <= startTimeMs < toMs. The cursor is the
   * one in `llm-call-cursor.ts`; an unparseable cursor rejects with `InvalidCursorError`
   * (callers validate with `parseLlmCallCursor` first). `nextCursor` is null on the last page.
   */
  listLlmCalls(query: LlmCallListQuery): Promise<LlmCallPage>;
  summarize(query: SummaryQuery): Promise<SummaryResult>;
  /**
   * Calls in ingestion order after `after`, for derived processing. `ingestedAtMs` is stamped by
   * the store when it commits a call (a duplicate keeps its first stamp), so a call replayed
   * from the acknowledgement log or redelivered by the bus is read like any other.
   */
  listLlmCallsIngestedSince(query: IngestedSinceQuery): Promise<LlmCall[]>;
  /**
   * How long after its `ingestedAtMs` a committed call may still become visible, ms: 0 when
   * commits become visible in stamp order (one writer stamping increasing times), null when
   * the store cannot bound it (several writers; readers then keep a configured safety lag).
   */
  readonly ingestedVisibilityLagMs: number | null;
  /** Spans with fromMs <= startTimeMs < toMs, oldest first (startTimeMs asc, spanId asc), at most `limit`. */
  listSpans(query: SpanListQuery): Promise<Span[]>;
  /**
   * Log records, newest first (timeMs desc, id desc, projectId desc), fromMs <= timeMs < toMs;
   * the cursor is the one in `llm-call-cursor.ts` (with the record's time as its start time).
   */
  searchLogs(query: LogSearchQuery): Promise<LogPage>;
  /** Counts per (project, service, pattern) over the query's range and filter (limit and cursor ignored). */
  logPatternCounts(query: LogSearchQuery): Promise<LogPatternCount[]>;
  /** Lines per `bucketMs` per (service, pattern) over the query's range and filter. */
  logPatternRates(query: LogSearchQuery, bucketMs: number): Promise<LogPatternRatePoint[]>;
  /** One trace's spans and calls (empty lists when nothing of it is stored in the range). */
  getTrace(query: TraceQuery): Promise<TraceRecord>;
  /** Traces whose calls match, newest first (by the first matching call's start; trace id, then project, descending break ties), a page at a time. */
  listTraces(query: TraceListQuery): Promise<TracePage>;
  /**
   * Sets the prompt and response excerpts of stored calls where they have none (a field the
   * call already has, or a null given here, is left as stored), for content that arrived after
   * the call (GenAI events sent as logs). Calls not stored are skipped. When it resolves the
   * new excerpts are visible to readers.
   */
  fillLlmCallExcerpts(items: readonly LlmCallExcerpts[]): Promise<void>;
  /** Deletes calls, spans and logs that started before `beforeMs`; returns how many rows went. */
  deleteBefore(beforeMs: number): Promise<number>;
  /**
   * Re-costs the stored calls that started in [fromMs, toMs) (of `projectId` only when given):
   * `reprice` returns each call with its new `cost` (and, for estimated tokens, `usage`); the
   * store writes them back and recomputes whatever rollups hold cost. Works period by period
   * (hours embedded, UTC days on ClickHouse), each period atomically, reporting progress after
   * each. Deterministic: re-costing twice with the same prices leaves what once did.
   */
  recost(
    query: RecostQuery,
    reprice: (call: LlmCall) => LlmCall,
    onProgress?: (p: RecostProgress) => void,
  ): Promise<RecostProgress>;
  /** Figures about the write path for `/metrics`; a store without such figures leaves it out. */
  writeStats?(): TelemetryWriteStats;
  close(): Promise<void>;
}

export interface TelemetryWriteStats {
  /** Events whose keys the duplicate check looked up in the database, since the store opened. */
  duplicateCheckLookups: number;
  /** Memory held by the keys of recently committed events. */
  recentKeysBytes: number;
}

export interface Project {
  id: string;
  name: string;
  createdAtMs: number;
}

export interface ApiKeyRecord {
  id: string;
  projectId: string;
  name: string;
  /** Hex SHA-256 of the full key; the key itself is never stored. */
  keyHash: string;
  /** First characters of the key, shown in listings to tell keys apart. */
  prefix: string;
  createdAtMs: number;
  revokedAtMs: number | null;
}

/** Small, transactional state: projects, keys, settings; later rules, budgets, incidents. */
export interface StateStore {
  /** Creates or upgrades the schema; safe to call concurrently from several nodes. */
  migrate(): Promise<void>;
  /** Returns false when a project with that id exists already. */
  createProject(project: Project): Promise<boolean>;
  getProject(id: string): Promise<Project | null>;
  listProjects(): Promise<Project[]>;
  createApiKey(key: ApiKeyRecord): Promise<void>;
  /** The active (not revoked) key with that hash, or null. */
  findApiKeyByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  listApiKeys(projectId: string): Promise<ApiKeyRecord[]>;
  /** Returns false when no such active key exists. */
  revokeApiKey(id: string, atMs: number): Promise<boolean>;
  getSetting(key: string): Promise<string | null>;
  /** Writes only when the key is absent; returns the value now stored (first writer wins). */
  setSettingIfAbsent(key: string, value: string): Promise<string>;
  setSetting(key: string, value: string): Promise<void>;
  /** Settings whose key starts with `prefix` and sorts after `afterKey`, in key order, at most `limit`. */
  listSettings(prefix: string, limit: number, afterKey?: string): Promise<Array<{ key: string; value: string }>>;
  /** Deletes these settings; returns how many existed. */
  deleteSettings(keys: string[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * Where the pipeline commits a group of events. Embedded mode commits straight to the
 * TelemetryStore; an ingest node in cluster mode publishes to the durable bus instead.
 * Resolving means durable.
 */
export interface BatchSink {
  commit(batch: TelemetryBatch): Promise<AppendResult>;
}

/** A message taken from the ingest log; ack only after its effects are durable. */
export interface BusMessage {
  /** Stable id for dedup (the publisher's message id). */
  id: string;
  batch: TelemetryBatch;
  /** How many times this message was delivered (1 = first time). */
  deliveryCount: number;
  ack(): Promise<void>;
  /** Ask for redelivery after `delayMs`. */
  nak(delayMs?: number): Promise<void>;
  /**
   * Still working on it: restarts the ack wait, so a slow append is not delivered to a second
   * worker meanwhile (NATS `+WPI`). Best effort; a failure only risks that redelivery.
   */
  working(): Promise<void>;
}

/** The durable ingest log between ingest nodes and workers. */
export interface IngestBus {
  /** Resolves once the log has durably stored the batch; `id` dedups retried publishes. */
  publish(id: string, batch: TelemetryBatch): Promise<void>;
  /** Pulls up to `max` messages, waiting at most `waitMs` for the first. */
  pull(max: number, waitMs: number): Promise<BusMessage[]>;
  close(): Promise<void>;
}

/**
 * Cross-node mutual exclusion per key, for writers of a store without transactions (the
 * ClickHouse telemetry store locks the UTC days a batch touches around its duplicate check
 * and insert). A hold lives as long as its holder's connection to the lock service: a holder
 * that dies or loses that connection loses its keys, and the next holder learns of it
 * through `uncleanKeys`, so it can wait for work the lost holder may still have in flight.
 */
export interface WriteLock {
  /** Takes every key (waiting while others hold them); one hold at a time per instance. */
  acquire(keys: string[]): Promise<WriteLockHold>;
  close(): Promise<void>;
}

export interface WriteLockHold {
  /** Keys whose previous holder lost them without releasing (crashed, or its connection broke). */
  readonly uncleanKeys: readonly string[];
  /** Resolves when the keys are still held at this instant; rejects when they may not be. */
  confirm(): Promise<void>;
  /** Releases the keys cleanly: the holder has nothing in flight under them. */
  release(): Promise<void>;
  /** Gives the keys up without claiming a clean release (something may still be in flight). */
  abandon(): Promise<void>;
}

/** Mutual exclusion for work that must run once in a cluster. */
export interface LeaderLease {
  /** Tries to take or renew the lease; returns the fencing token when held, else null. */
  tryAcquire(): Promise<number | null>;
  release(): Promise<void>;
}

/** Where a dead letter came from. */
export type DeadLetterOrigin = 'ingest' | 'ack-log' | 'bus';

/**
 * What a dead letter holds: the events the store refused, or (when they no longer decode) the
 * request or bus message they came in, as received.
 */
export type DeadLetterPayload =
  | { type: 'batch'; batch: TelemetryBatch }
  | {
      type: 'request';
      request: { kind: string; projectId: string; receivedAtMs: number; excerptMaxChars: number; bodyBase64: string };
    }
  | { type: 'bus-message'; dataBase64: string };

export interface NewDeadLetter {
  origin: DeadLetterOrigin;
  /** `store-rejected`: the store refused the events permanently; `undecodable`: they no longer decode. */
  reason: 'store-rejected' | 'undecodable';
  /** The error, as the store or decoder gave it. */
  error: string;
  /** Events held (0 when the payload no longer decodes into events). */
  events: number;
  projectIds: string[];
  payload: DeadLetterPayload;
}

export interface DeadLetter extends NewDeadLetter {
  id: string;
  /** When it was moved here, epoch ms. */
  atMs: number;
}

export type DeadLetterSummary = Omit<DeadLetter, 'payload'> & { payloadType: DeadLetterPayload['type'] };

/**
 * The dead-letter area: what can never be stored as it is, kept with its error until an
 * operator retries or drops it. `add` resolves once the letter is durable, so an
 * acknowledged record may be released after it.
 */
export interface DeadLetterStore {
  add(letter: NewDeadLetter): Promise<DeadLetter>;
  /** Oldest first, at most `limit`, starting after the letter `afterId` when given. */
  list(opts: { limit: number; afterId?: string }): Promise<DeadLetterSummary[]>;
  get(id: string): Promise<DeadLetter | null>;
  /** Returns false when no such letter exists. */
  remove(id: string): Promise<boolean>;
  /** Letters and events held now. */
  held(): Promise<{ letters: number; events: number }>;
  close(): Promise<void>;
}
