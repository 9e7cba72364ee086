import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DeadLetterStore, TelemetryWriteStats } from '../store/ports.js';

/**
 * Prometheus metrics about ReskPoints itself, one registry per running app. `writeStats`, when
 * the telemetry store has it, is read at each scrape.
 */
export function createServerMetrics(
  writeStats?: () => TelemetryWriteStats,
  deadLetters?: Pick<DeadLetterStore, 'held'>,
) {
  const registry = new Registry();
  if (deadLetters) {
    // Both gauges of one scrape share one look at the area (the cluster's reads a stream).
    let pending: Promise<{ letters: number; events: number }> | null = null;
    const held = () => {
      pending ??= deadLetters.held().finally(() => {
        pending = null;
      });
      return pending;
    };
    new Gauge({
      name: 'reskpoints_dead_letter_held_events',
      help: 'Events held in the dead-letter area now (stored nowhere else until retried)',
      registers: [registry],
      async collect() {
        this.set((await held()).events);
      },
    });
    new Gauge({
      name: 'reskpoints_dead_letters_held',
      help: 'Dead letters held now (one per refused submission, undecodable record or message)',
      registers: [registry],
      async collect() {
        this.set((await held()).letters);
      },
    });
  }
  collectDefaultMetrics({ register: registry, prefix: 'reskpoints_' });
  if (writeStats) {
    new Counter({
      name: 'reskpoints_duplicate_check_db_lookups_total',
      help: 'Events whose keys the duplicate check looked up in the database (the others were certainly new)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(writeStats().duplicateCheckLookups);
      },
    });
    new Gauge({
      name: 'reskpoints_recent_keys_bytes',
      help: 'Memory held by the keys of recently committed events, which spare the duplicate check the database',
      registers: [registry],
      collect() {
        this.set(writeStats().recentKeysBytes);
      },
    });
  }
  return {
    registry,
    ingestEvents: new Counter({
      name: 'reskpoints_ingest_events_total',
      help: 'Events received by ingest, by source and outcome (accepted, duplicate, rejected, refused; ignored: Langfuse scores and SDK logs)',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'reskpoints_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'reskpoints_ingest_queue_depth_events',
      help: 'Events waiting for or in group commit',
      registers: [registry],
    }),
    commitLatency: new Histogram({
      name: 'reskpoints_commit_duration_seconds',
      help: 'Time one group commit took',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    commitBatchEvents: new Histogram({
      name: 'reskpoints_commit_batch_events',
      help: 'Events per group commit',
      buckets: [1, 10, 100, 500, 1000, 5000, 10000, 20000, 50000],
      registers: [registry],
    }),
    ackLogEvents: new Counter({
      name: 'reskpoints_ack_log_acknowledged_events_total',
      help: 'Events acknowledged from the acknowledgement log because their commit was held up',
      registers: [registry],
    }),
    ackLogSync: new Histogram({
      name: 'reskpoints_ack_log_sync_seconds',
      help: 'Time one acknowledgement-log write and fdatasync took',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    deadLetterEvents: new Counter({
      name: 'reskpoints_dead_letter_events_total',
      help: 'Events moved to the dead-letter area, by origin (ingest, ack-log, bus) and reason (store-rejected, undecodable; undecodable letters count 1)',
      labelNames: ['origin', 'reason'] as const,
      registers: [registry],
    }),
    commitFailures: new Counter({
      name: 'reskpoints_commit_failures_total',
      help: 'Group commits the store refused',
      registers: [registry],
    }),
    liveDropped: new Counter({
      name: 'reskpoints_live_dropped_messages_total',
      help: 'Live-stream and event messages dropped for slow WebSocket clients',
      registers: [registry],
    }),
    liveClients: new Gauge({
      name: 'reskpoints_live_clients',
      help: 'Connected live-stream clients',
      registers: [registry],
    }),
  };
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
