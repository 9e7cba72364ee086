/**
 * Langfuse batch ingestion through the one ingest path: the request's events, with the held
 * parts they complete, become one logged request body that `decodeIngestRequest` turns into
 * events, here, in the acknowledgement log's replay and before cluster publishing alike.
 */
import { type AppError, appError, batchEventCount, type Clock, err, ok, type Result } from '@reskpoints/core';
import type { Logger } from 'pino';
import type { ServerMetrics } from '../api/metrics.js';
import { decodeIngestRequest } from '../ingest/decode.js';
import {
  LANGFUSE_IGNORED_TYPES,
  type LangfuseEventOutcome,
  parseLangfuseBatch,
} from '../ingest/langfuse/langfuse-ingestion.js';
import type { LangfusePending } from '../ingest/langfuse/langfuse-pending.js';
import type { LoggedRequest } from '../pipeline/ack-log.js';
import type { IngestPipeline } from '../pipeline/ingest-pipeline.js';
import type { IngestPath } from '../platform/ingest-path.js';

export interface LangfuseIngestDeps {
  pipeline: IngestPipeline;
  pending: LangfusePending;
  clock: Clock;
  /** Prompt/response excerpt length in force. */
  excerptMaxChars: () => number;
  metrics?: ServerMetrics;
  /** The ingest path (decode → validate → enrich); without it the request is only decoded. */
  ingest?: IngestPath;
}

/** Langfuse's 207 answer: one entry per event of the request. */
export interface LangfuseIngestionResponse {
  successes: Array<{ id: string; status: number }>;
  errors: LangfuseEventOutcome[];
}

function unavailable(e: unknown): AppError {
  return appError(
    'RP_UNAVAILABLE',
    `the state store holding partial Langfuse observations is not available: ${(e as Error).message}`,
    { retryAfterSeconds: 5 },
  );
}

/**
 * Decodes and submits one Langfuse batch for a project; resolves once its events are durable.
 * A whole-request problem (not JSON, no batch, a full queue) is an error; a bad event is
 * answered in `errors` while the others are stored.
 */
export async function ingestLangfuseBatch(
  deps: LangfuseIngestDeps,
  projectId: string,
  body: Buffer,
  options: { giveUpWaiting?: boolean } = {},
): Promise<Result<LangfuseIngestionResponse>> {
  const parsed = parseLangfuseBatch(body);
  if (!parsed.ok) return parsed;
  const { events, errors: parseErrors } = parsed.value;
  // Only the server's own flusher stores unfinished observations as they are; a client's
  // body cannot ask for it.
  const flushPending = options.giveUpWaiting === true && parsed.value.flushPending;
  const excerptMaxChars = deps.excerptMaxChars();
  let held: Awaited<ReturnType<LangfusePending['heldFor']>> = [];
  try {
    // A body the server wrote for given-up observations carries everything already.
    if (!flushPending) held = await deps.pending.heldFor(projectId, events);
  } catch (e) {
    return err(unavailable(e));
  }
  const request: LoggedRequest = {
    kind: 'langfuse-ingestion',
    projectId,
    receivedAtMs: deps.clock.nowMs(),
    excerptMaxChars,
    body: Buffer.from(JSON.stringify({ batch: [...held, ...events], ...(flushPending ? { flushPending } : {}) })),
  };
  const decoded = deps.ingest ? await deps.ingest.process(request) : decodeIngestRequest(request);
  if (!decoded.ok) return decoded;
  const lf = decoded.value.langfuse;
  if (!lf) throw new Error('a langfuse-ingestion request decoded without its Langfuse outcome');
  try {
    // Held before the submit: a refused submit is retried by the client with the same events.
    if (!flushPending) await deps.pending.hold(projectId, lf, excerptMaxChars);
  } catch (e) {
    return err(unavailable(e));
  }
  const { batch } = decoded.value;
  const submitted = await deps.pipeline.submit(batch, request);
  const events_ = batchEventCount(batch);
  if (!submitted.ok) {
    deps.metrics?.ingestEvents.inc({ source: 'langfuse', outcome: 'refused' }, events_);
    return submitted;
  }
  const v = submitted.value;
  deps.metrics?.ingestEvents.inc({ source: 'langfuse', outcome: 'accepted' }, v.llmCallsAccepted + v.spansAccepted);
  if (v.llmCallDuplicates)
    deps.metrics?.ingestEvents.inc({ source: 'langfuse', outcome: 'duplicate' }, v.llmCallDuplicates);
  try {
    await deps.pending.release(projectId, lf.completedObservationIds);
  } catch {
    // Stored already; a part left held is stored again when given up on, and dropped as a duplicate.
  }
  const ignored = events.filter((e) => LANGFUSE_IGNORED_TYPES.has(e.type)).length;
  if (ignored) deps.metrics?.ingestEvents.inc({ source: 'langfuse', outcome: 'ignored' }, ignored);
  const mine = new Set(events.map((e) => e.id));
  const refused = lf.errors.filter((e) => mine.has(e.id));
  if (parseErrors.length + refused.length)
    deps.metrics?.ingestEvents.inc({ source: 'langfuse', outcome: 'rejected' }, parseErrors.length + refused.length);
  const refusedIds = new Set(refused.map((e) => e.id));
  return ok({
    successes: events.filter((e) => !refusedIds.has(e.id)).map((e) => ({ id: e.id, status: 201 })),
    errors: [...parseErrors, ...refused],
  });
}

export interface LangfusePendingFlusherOptions extends LangfuseIngestDeps {
  logger: Logger;
  /** Most observations given up per run; default 1000. */
  maxPerRun?: number;
}

/**
 * Stores the observations held longer than `observationMaxAgeMs` as they are (a generation
 * that was never ended), through the same ingest path, and forgets expired trace context.
 * Runs as a periodic job; `runOnce` never throws.
 */
export class LangfusePendingFlusher {
  constructor(private readonly opts: LangfusePendingFlusherOptions) {}

  async runOnce(): Promise<{ flushed: number; failed: number }> {
    let flushed = 0;
    let failed = 0;
    try {
      const due = await this.opts.pending.expired(this.opts.maxPerRun ?? 1000);
      for (const d of due) {
        const r = await ingestLangfuseBatch(this.opts, d.projectId, d.body, { giveUpWaiting: true });
        if (!r.ok) {
          failed++;
          this.opts.logger.warn({ error: r.error, projectId: d.projectId }, 'held Langfuse observation not stored yet');
          continue;
        }
        await this.opts.pending.release(d.projectId, [d.observationId]);
        flushed++;
      }
    } catch (e) {
      this.opts.logger.warn({ err: e }, 'giving up on held Langfuse observations failed; retried next run');
    }
    return { flushed, failed };
  }
}
