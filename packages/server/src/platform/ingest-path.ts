/**
 * The one ingest path: decode → validate → enrich. Used by the HTTP ingest routes, by the
 * acknowledgement log's replay at start, and so by cluster publishing (ingest nodes run the
 * routes and publish what this returns). Decoding depends only on the logged request; the
 * enrichment steps must be deterministic given the request, or record what they used in the
 * events (see `EnrichmentStep`), so that a replay stores the same events.
 */
import { appError, batchEventCount, err, type Result } from '@reskpoints/core';
import { type DecodedIngest, decodeIngestRequest } from '../ingest/decode.js';
import type { LoggedRequest } from '../pipeline/ack-log.js';
import type { EnrichmentStep } from './module.js';

export interface IngestPath {
  /** The request's events, enriched; an invalid request is an error value naming the problem. */
  process(request: LoggedRequest, options?: { replay?: boolean }): Promise<Result<DecodedIngest>>;
  /** The steps in the order they run, for the start-up log and tests. */
  readonly steps: readonly string[];
}

export function createIngestPath(steps: readonly EnrichmentStep[]): IngestPath {
  const chain = [...steps];
  return {
    steps: chain.map((s) => s.name),
    async process(request, options = {}) {
      const decoded = decodeIngestRequest(request);
      if (!decoded.ok || chain.length === 0) return decoded;
      const { batch } = decoded.value;
      if (batchEventCount(batch) === 0) return decoded;
      const ctx = {
        projectId: request.projectId,
        receivedAtMs: request.receivedAtMs,
        excerptMaxChars: request.excerptMaxChars,
        replay: options.replay ?? false,
      };
      for (const step of chain) {
        try {
          const r = step.enrich(batch, ctx);
          if (r) await r;
        } catch (e) {
          // A step that throws has a bug; the request fails rather than storing half-enriched events.
          return err(appError('RP_INTERNAL', `enrichment step ${step.name} failed: ${(e as Error).message}`));
        }
      }
      return decoded;
    },
  };
}
