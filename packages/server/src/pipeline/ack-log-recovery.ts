import { type AppError, batchEventCount, type Result, type TelemetryBatch } from '@reskpoints/core';
import type { Logger } from 'pino';
import { errorMessage } from '../store/permanent-error.js';
import type { DeadLetter, DeadLetterStore } from '../store/ports.js';
import { AckLog, type AckLogOptions, type LoggedRequest } from './ack-log.js';
import type { IngestPipeline } from './ingest-pipeline.js';

export interface AckLogRecoveryOptions extends AckLogOptions {
  dir: string;
  /** Decodes (and enriches) a logged request into its events, as ingest did when it was acknowledged. */
  decode: (
    request: LoggedRequest,
  ) => Result<{ batch: TelemetryBatch }, AppError> | Promise<Result<{ batch: TelemetryBatch }, AppError>>;
  deadLetters: DeadLetterStore;
  logger: Logger;
  onDeadLettered?: (letter: DeadLetter) => void;
}

/** A logged request as a dead letter's payload. */
export function requestPayload(r: LoggedRequest) {
  return {
    type: 'request' as const,
    request: {
      kind: r.kind,
      projectId: r.projectId,
      receivedAtMs: r.receivedAtMs,
      excerptMaxChars: r.excerptMaxChars,
      bodyBase64: r.body.toString('base64'),
    },
  };
}

/**
 * Opens the acknowledgement log and hands what an earlier run acknowledged but did not commit
 * to the pipeline, which commits it in the background with the same retries and dead-lettering
 * as fresh work, so a store that fails at start does not keep the server from starting. A
 * record that no longer decodes is moved to the dead-letter area, raw, before it is released;
 * nothing acknowledged leaves the log without being stored or kept there.
 *
 * Returns the log (for new records when the log is on) and `resume`, to be called once the
 * pipeline exists.
 */
export async function openAckLogRecovering(
  opts: AckLogRecoveryOptions,
): Promise<{ log: AckLog; resume: (pipeline: IngestPipeline) => Promise<void> }> {
  const { log, recovered, segments, discardedBytes } = await AckLog.openRecovering(opts.dir, opts);
  const resume = async (pipeline: IngestPipeline) => {
    let events = 0;
    let deadLettered = 0;
    for (const { record, ref } of recovered) {
      const decoded = await opts.decode(record);
      if (decoded.ok) {
        const batch = decoded.value.batch;
        events += batchEventCount(batch);
        pipeline.adopt(batch, () => log.release(ref));
        continue;
      }
      try {
        const letter = await opts.deadLetters.add({
          origin: 'ack-log',
          reason: 'undecodable',
          error: decoded.error.message,
          events: 0,
          projectIds: [record.projectId],
          payload: requestPayload(record),
        });
        deadLettered++;
        opts.onDeadLettered?.(letter);
        log.release(ref);
      } catch (e) {
        // Kept in the log: the next start tries again.
        opts.logger.error(
          { err: errorMessage(e), kind: record.kind },
          'acknowledgement log record no longer decodes and could not be moved to the dead-letter area; kept in the log',
        );
      }
    }
    if (segments > 0)
      opts.logger.info(
        { records: recovered.length, events, deadLettered, segments, discardedBytes },
        'acknowledgement log replayed into the pipeline',
      );
  };
  return { log, resume };
}
