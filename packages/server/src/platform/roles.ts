/**
 * What each node role runs, decided in one place for the composition root and the module host.
 * `all` is the embedded single process and runs everything.
 */
import type { Config } from '../config/schema.js';

export type NodeRole = Config['role'];

export interface RoleParts {
  /** Takes ingest requests (HTTP ingest routes, acknowledgement log, module enrichers). */
  takesIngest: boolean;
  /** Serves queries, the live stream and module routes. */
  servesApi: boolean;
  /** Moves batches from the bus into the telemetry store (cluster workers). */
  storesFromBus: boolean;
  /** Runs leader jobs and derived processors (when it holds the leader lease). */
  runsLeaderWork: boolean;
  /** Opens the telemetry store. */
  needsTelemetry: boolean;
}

export function roleParts(role: NodeRole): RoleParts {
  return {
    takesIngest: role === 'all' || role === 'ingest',
    servesApi: role === 'all' || role === 'api',
    storesFromBus: role === 'worker',
    runsLeaderWork: role === 'all' || role === 'worker',
    needsTelemetry: role !== 'ingest',
  };
}
