/**
 * Runs a list of modules: validates the list, contributes their config sections to the
 * schema, migrates their state, creates them with their context, and hands their routes,
 * enrichers, jobs and derived processors to the platform parts that run them.
 */
import { appError, type Clock, err, type Result } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { StateStore, TelemetryStore } from '../store/ports.js';
import type { CommitNotifications } from './commit-notifications.js';
import { derivedProcessorJob } from './derived.js';
import type { PlatformEvents } from './events.js';
import type {
  EnrichmentStep,
  ModuleContext,
  ModuleInstance,
  NodeRole,
  RouteHelpers,
  SelfIngestRequest,
} from './module.js';
import { type AnyModule, assertModuleList, moduleHotReloadableKeys, moduleSectionKey } from './module-config.js';
import { PLATFORM_MIGRATIONS, PLATFORM_MODULE_NAME } from './platform-state.js';
import { roleParts } from './roles.js';
import type { Scheduler } from './scheduler.js';
import { assertSignalSources, LocalSignalHub, type SignalHub, type SignalSource } from './signals.js';
import type { SqlDatabase } from './sql.js';
import { migrateModuleState } from './state-migrations.js';

/** A module's section of `config`; parsed from defaults when the config schema did not include it (tests). */
function sectionOf(module: AnyModule, config: Config): unknown {
  if (!module.config) return undefined;
  // Parsing again is idempotent for sections the schema validated, and fills in the defaults
  // of modules the schema did not list (tests).
  return module.config.schema.parse(
    (config as unknown as Record<string, unknown>)[moduleSectionKey(module.name)] ?? {},
  );
}

export interface ModuleHostDeps {
  role: NodeRole;
  clock: Clock;
  logger: Logger;
  config: () => Config;
  state: SqlDatabase;
  stateStore: StateStore;
  telemetry: TelemetryStore | null;
  commits: CommitNotifications;
  events: PlatformEvents;
  metrics: Registry;
  /** Runs jobs and derived processors; null when this node runs none. */
  scheduler: Scheduler | null;
  /** Safety lag of derived processing where the telemetry store cannot bound visibility, ms. */
  derivedLagMs: number;
  /** Stores telemetry modules produce themselves (`ModuleContext.ingest`); absent: refused. */
  ingest?: (request: SelfIngestRequest) => Promise<Result<void>>;
}

interface Running {
  def: AnyModule;
  instance: ModuleInstance;
  section: unknown;
  listeners: Array<(next: unknown, previous: unknown) => void>;
}

export type { AnyModule } from './module-config.js';

export class ModuleHost {
  private readonly running: Running[] = [];
  /** The alert input port over every running module's signal sources. */
  readonly signals: SignalHub = new LocalSignalHub(() => this.signalSources());

  constructor(readonly modules: readonly AnyModule[]) {
    assertModuleList(modules);
  }

  /** Applies the platform's and every module's pending state migrations. */
  async migrate(state: SqlDatabase, nowMs: number): Promise<void> {
    await migrateModuleState(state, PLATFORM_MODULE_NAME, PLATFORM_MIGRATIONS, nowMs);
    for (const m of this.modules) await migrateModuleState(state, m.name, m.stateMigrations ?? [], nowMs);
  }

  /** Creates every module in list order; registers jobs and derived processors with the scheduler. */
  async create(deps: ModuleHostDeps): Promise<void> {
    const leaderWork = roleParts(deps.role).runsLeaderWork;
    for (const def of this.modules) {
      const entry: Running = {
        def,
        instance: {},
        section: sectionOf(def, deps.config()),
        listeners: [],
      };
      const ctx: ModuleContext = {
        name: def.name,
        role: deps.role,
        clock: deps.clock,
        logger: deps.logger.child({ module: def.name }),
        config: () => entry.section,
        onConfigChange: (l) => void entry.listeners.push(l),
        platformConfig: deps.config,
        state: deps.state,
        stateStore: deps.stateStore,
        telemetry: deps.telemetry,
        commits: deps.commits,
        events: deps.events,
        signals: this.signals,
        metrics: deps.metrics,
        wake: (job) => deps.scheduler?.wake(`${def.name}.${job}`),
        ingest: (request) =>
          deps.ingest
            ? deps.ingest(request)
            : Promise.resolve(err(appError('RP_UNAVAILABLE', 'this node cannot store telemetry'))),
      };
      entry.instance = await def.create(ctx);
      this.running.push(entry);
      assertSignalSources(this.signalSources());
      const scheduler = deps.scheduler;
      if (!scheduler) continue;
      for (const job of entry.instance.jobs ?? []) {
        if (job.scope === 'leader' && !leaderWork) continue;
        scheduler.add({ ...job, name: `${def.name}.${job.name}` });
      }
      if (!leaderWork || !deps.telemetry) continue;
      for (const p of entry.instance.derivedProcessors ?? []) {
        const jobName = `${def.name}.${p.name}`;
        // A commit only makes the processor due now; it reads the store behind its cursor.
        deps.commits.subscribe(() => scheduler.wake(jobName));
        scheduler.add(
          derivedProcessorJob({
            name: jobName,
            processor: p,
            telemetry: deps.telemetry,
            state: deps.state,
            clock: deps.clock,
            lagMs: deps.derivedLagMs,
          }),
        );
      }
    }
  }

  /** Every running module's signal sources, in module order. */
  signalSources(): SignalSource[] {
    return this.running.flatMap((r) => [...(r.instance.signalSources ?? [])]);
  }

  /** Dotted config keys the modules declare hot-reloadable. */
  hotReloadableKeys(): string[] {
    return moduleHotReloadableKeys(this.modules);
  }

  /** Every module's enrichment steps, in chain order (ties keep module list order). */
  enrichers(): EnrichmentStep[] {
    const steps = this.running.flatMap((r) => [...(r.instance.enrichers ?? [])]);
    return steps
      .map((s, i) => ({ s, i }))
      .sort((a, b) => a.s.order - b.s.order || a.i - b.i)
      .map((x) => x.s);
  }

  /** One encapsulated Fastify plugin per module with routes. */
  routePlugins(helpers: RouteHelpers): Array<(api: FastifyInstance) => Promise<void>> {
    return this.running
      .filter((r) => r.instance.routes)
      .map((r) => async (api: FastifyInstance) => {
        await r.instance.routes?.(api, helpers);
      });
  }

  async start(): Promise<void> {
    for (const r of this.running) await r.instance.start?.();
  }

  /** Stops modules in reverse order; a failing stop is logged and the others still stop. */
  async stop(logger: Logger): Promise<void> {
    for (const r of [...this.running].reverse()) {
      try {
        await r.instance.stop?.();
      } catch (e) {
        logger.warn({ err: e, module: r.def.name }, 'module did not stop cleanly');
      }
    }
  }

  /** After a hot reload: hands each module whose section changed its new section. */
  configChanged(next: Config): void {
    for (const r of this.running) {
      const section = sectionOf(r.def, next);
      if (JSON.stringify(section) === JSON.stringify(r.section)) continue;
      const previous = r.section;
      r.section = section;
      for (const l of r.listeners) {
        try {
          l(section, previous);
        } catch {
          // Listeners must not throw; one that does must not stop the others.
        }
      }
    }
  }
}
