/**
 * The module contract: how a capability (cost, alerting, budgets, detect, logs, retention…)
 * plugs into the platform. Shaped like an OpenTelemetry Collector factory — a static
 * definition (name, config section, state migrations) plus `create`, which builds the running
 * parts from a context of ports — and like a Fastify encapsulated plugin for its routes.
 *
 * A module lives in its own folder (`src/<name>/module.ts` exports the definition) and is
 * added by one line in `src/modules.ts`. It never constructs adapters: everything it talks
 * to comes in through `ModuleContext`. Keep the definition file light (import heavy code
 * inside `create`), because the config schema imports every definition.
 *
 * What runs where (cluster roles; `all` runs everything):
 * - config section, migrations: every node (validated with the rest of the config);
 * - `create`, `start`/`stop`, `node` jobs: every node;
 * - `routes`: nodes serving the API (`all`, `api`);
 * - `enrichers`: nodes taking ingest (`all`, `ingest`);
 * - `leader` jobs and `derivedProcessors`: once per cluster, on the leader among `all`/`worker`
 *   nodes.
 */
import type { AppError, Clock, LlmCall, Result, TelemetryBatch } from '@reskpoints/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { Principal } from '../api/auth.js';
import type { Config } from '../config/schema.js';
import type { LoggedBodyKind } from '../pipeline/ack-log.js';
import type { StateStore, TelemetryStore } from '../store/ports.js';
import type { CommitNotifications } from './commit-notifications.js';
import type { PlatformEvents } from './events.js';
import type { Fence } from './fencing.js';
import type { JobDefinition } from './scheduler.js';
import type { SignalHub, SignalSource } from './signals.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import type { StateMigration } from './state-migrations.js';

export type { NodeRole } from './roles.js';

import type { NodeRole } from './roles.js';

export interface ModuleConfigSection<C> {
  /**
   * A zod object schema whose every key has a default, so that no configuration is needed.
   * It becomes the config section named after the module (`cost.…`, env `RESKPOINTS_COST__…`),
   * validated, documented (docs/configuration.md) and reloaded with the rest of the config.
   */
  schema: z.ZodType<C>;
  /** Keys inside the section that take effect without a restart, e.g. `['defaultCurrency']`. */
  hotReloadable?: readonly string[];
}

export interface ModuleDefinition<C = unknown> {
  /** Lower-case kebab (`cost`, `log-patterns`): the config section (camelCased), the migration line, the job prefix. */
  name: string;
  config?: ModuleConfigSection<C>;
  /** The module's state tables, in the common SQL of `platform/sql.ts`; versioned per module. */
  stateMigrations?: readonly StateMigration[];
  /** Builds the running module. Called once per process, after migrations. */
  create(ctx: ModuleContext<C>): ModuleInstance | Promise<ModuleInstance>;
}

/** Declares a module with its config type inferred from the schema. */
export function defineModule<C>(def: ModuleDefinition<C>): ModuleDefinition<C> {
  return def;
}

export interface ModuleContext<C = unknown> {
  readonly name: string;
  readonly role: NodeRole;
  readonly clock: Clock;
  /** Child logger tagged with the module name. */
  readonly logger: Logger;
  /** The module's config section as in force now (hot-reloaded keys included). */
  config(): C;
  /** Called after a hot reload changed the section. Listeners must not throw. */
  onConfigChange(listener: (next: C, previous: C) => void): void;
  /** The whole configuration in force, read-only (platform settings such as `retentionDays`). */
  platformConfig(): Config;
  /** The state database (DuckDB embedded, PostgreSQL in cluster mode) with the module's tables migrated. */
  readonly state: SqlDatabase;
  /** Projects, keys and settings. */
  readonly stateStore: StateStore;
  /** Committed telemetry, the source of truth; null on nodes without it (role `ingest`). */
  readonly telemetry: TelemetryStore | null;
  /** Wake-ups after telemetry commits (in-process, or NATS in cluster mode). A hint only: read the store. */
  readonly commits: CommitNotifications;
  /**
   * Live events for WebSocket clients (`/api/v1/events`), across nodes in cluster mode. A hint
   * for screens only: persist what matters and serve it over REST too.
   */
  readonly events: PlatformEvents;
  /** The alert input port: every module's signal sources, and wake-ups when one changed. */
  readonly signals: SignalHub;
  /** The app's Prometheus registry; name metrics `reskpoints_<module>_…`. */
  readonly metrics: Registry;
  /** Makes one of this module's jobs (or derived processors) due now, by its local name. */
  wake(jobName: string): void;
  /**
   * Stores telemetry the module produced itself (such as its own LLM calls) through the one
   * ingest path, as if the project had sent it to the ingest API: decoded, enriched (priced)
   * and submitted; resolves once durable. An error value when this node can store nothing
   * (it neither takes ingest nor reaches the bus) or the pipeline refuses (overload).
   */
  ingest(request: SelfIngestRequest): Promise<Result<void>>;
}

/** A request body of one of the ingest API's kinds, for `ModuleContext.ingest`. */
export interface SelfIngestRequest {
  kind: LoggedBodyKind;
  projectId: string;
  body: Buffer;
}

export interface ModuleInstance {
  /**
   * Registers the module's HTTP routes. Runs inside its own encapsulated Fastify plugin with
   * the zod type provider, the common error handler and the `helpers` for authentication;
   * route schemas appear in the OpenAPI document.
   */
  routes?: (api: FastifyInstance, helpers: RouteHelpers) => void | Promise<void>;
  /** Periodic jobs; registered as `<module>.<name>`. */
  jobs?: readonly JobDefinition[];
  /** Steps of the ingest enrichment chain (see `platform/ingest-path.ts`). */
  enrichers?: readonly EnrichmentStep[];
  /** Consumers of committed telemetry behind a persisted cursor (see `platform/derived.ts`). */
  derivedProcessors?: readonly DerivedProcessor[];
  /** Alertable conditions this module finds, for alert rules of kind `signal` (see `platform/signals.ts`). */
  signalSources?: readonly SignalSource[];
  /** After every module was created and before the server listens. */
  start?(): Promise<void>;
  /** At shutdown, after the server stopped taking requests; modules stop in reverse order. */
  stop?(): Promise<void>;
}

export interface RouteHelpers {
  /** Authenticates the request (Bearer or `?token=`) or fails it with 401/403. */
  authenticate(req: FastifyRequest, need: 'admin' | 'any' | 'project'): Promise<Principal>;
  /** Ends the request with the error's catalogued status (only `api/errors.ts` maps codes to statuses). */
  fail(error: AppError): never;
  /** Sends an error reply without throwing (e.g. from inside a reply pipeline). */
  sendError(reply: FastifyReply, error: AppError): void;
}

export interface EnrichContext {
  /** The project the request was authenticated for. */
  projectId: string;
  /** When the request was received (logged with it, so a replay sees the same value). */
  receivedAtMs: number;
  /** Prompt/response excerpts are cut to this many characters (logged with the request; 0 keeps none). */
  excerptMaxChars: number;
  /** True when the request is being replayed from the acknowledgement log. */
  replay: boolean;
}

/**
 * One step of the ingest enrichment chain, run on every decoded, valid batch before it is
 * queued for commit (on HTTP ingest, acknowledgement-log replay and cluster publishing alike).
 * A step mutates the batch's events in place. It must be deterministic given the request and
 * the context (a replay must produce the same events), or record what it depended on in the
 * event itself (e.g. the price-book version a cost was computed with). It must not throw for
 * bad data (that was rejected by validation); a throw fails the request with a 500.
 */
export interface EnrichmentStep {
  name: string;
  /**
   * Position in the chain, lower first. Conventions: 100 masking (PII), 200 pricing,
   * 300 pattern ids and fingerprints.
   */
  order: number;
  enrich(batch: TelemetryBatch, ctx: EnrichContext): void | Promise<void>;
}

export interface DerivedContext {
  /** Clock time of this pass, epoch ms. */
  nowMs: number;
  /** The leader fence this pass runs under (already checked in `tx`). */
  fence: Fence;
}

/**
 * Derived processing (budgets, rule evaluation, detectors): reads committed calls from the
 * telemetry store in ingestion order behind a cursor persisted in the state database. Each
 * call is handed to `process` once: `process` writes its state through `tx`, and the cursor
 * advances in the same transaction, fenced with the leader's token. A throw rolls both back
 * and the same calls come again at the next pass.
 */
export interface DerivedProcessor {
  /** Unique within the module; the cursor is kept as `<module>.<name>`. */
  name: string;
  /** Most calls handed to one `process` call. Default 1_000. */
  batchSize?: number;
  /** How often to look for new calls when no commit notification came, ms. Default 5_000. */
  pollIntervalMs?: number;
  /**
   * Where a new cursor starts: `'beginning'` processes everything stored, `'now'` only calls
   * committed from now on. Default `'now'`.
   */
  startFrom?: 'beginning' | 'now';
  process(calls: readonly LlmCall[], tx: SqlExecutor, ctx: DerivedContext): Promise<void>;
  /**
   * Called after each `process` transaction committed (never after a rolled-back one): the place
   * for hints about what was just persisted — live events, `signals.changed`. A throw is ignored.
   */
  afterCommit?(ctx: DerivedContext): void | Promise<void>;
}
