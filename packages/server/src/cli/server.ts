import { resolve } from 'node:path';
import pino from 'pino';
import { type LoadedConfig, loadConfig } from '../config/loader.js';
import { watchConfig } from '../config/watch.js';
import { type DemoHandle, startDemo } from '../demo/generator.js';
import { nextStepsText } from '../next-steps.js';
import { VERSION } from '../version.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, println } from './io.js';
import { removeServerRecord, type ServerRecord, writeServerRecord } from './server-record.js';

/** Flags of `start`, `demo` and `migrate`; values stay strings so the loader can name them in errors. */
export interface ServerFlags {
  port?: string;
  host?: string;
  dataDir?: string;
  config?: string;
  role?: string;
  logLevel?: string;
  demo?: boolean;
}

/** The line `start` prints once listening; scripts and tests parse it. */
export const LISTENING_PREFIX = 'ReskPoints listening on ';

export function configFlags(flags: ServerFlags): Record<string, string | undefined> {
  return {
    port: flags.port,
    host: flags.host,
    dataDir: flags.dataDir,
    role: flags.role,
    logLevel: flags.logLevel,
  };
}

/** Loads and validates the configuration, printing every problem; null when it is invalid. */
export function loadForCommand(flags: ServerFlags, io: CliIo): LoadedConfig | null {
  const loaded = loadConfig({
    flags: configFlags(flags),
    env: io.env,
    cwd: io.cwd,
    ...(flags.config !== undefined ? { filePath: flags.config } : {}),
  });
  if (!loaded.ok) {
    println(io.stderr, `error: ${loaded.error.message}`);
    return null;
  }
  for (const w of loaded.value.warnings) println(io.stderr, `warning: ${w}`);
  return loaded.value;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** How long a graceful drain may take before the process gives up and exits 1. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

/**
 * `reskpoints start`: runs the server until SIGINT/SIGTERM, then drains and exits 0.
 * Resolves once the server is listening (the process stays alive on its open handles).
 */
export async function runStart(flags: ServerFlags, io: CliIo): Promise<number> {
  const loaded = loadForCommand(flags, io);
  if (!loaded) return EXIT_USAGE;
  const { config } = loaded;
  const logger = pino({ level: config.logLevel });

  // Loaded on demand so that client commands (query, keys) never open a database.
  const { startApp } = await import('../app.js');
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp(config, { logger, clock: io.clock });
  } catch (e) {
    println(io.stderr, `error: could not start: ${errorText(e)}`);
    // A role without the services it needs is a configuration problem, like a schema error.
    return e instanceof Error && e.name === 'ConfigError' ? EXIT_USAGE : EXIT_FAILURE;
  }
  // Client commands run from this folder find this server through its record.
  const record: ServerRecord = {
    url: app.url,
    dataDir: resolve(io.cwd, config.dataDir),
    pid: process.pid,
    startedAtMs: io.clock.nowMs(),
    version: VERSION,
  };
  const recorded = config.role === 'all' || config.role === 'api';
  if (recorded) {
    for (const path of writeServerRecord(io.cwd, record))
      logger.warn({ path }, 'could not record the server address; client commands need --url here');
  }

  const watcher =
    loaded.filePath === null
      ? null
      : watchConfig(
          loaded.filePath,
          config,
          (next, keys) => {
            app.applyConfig(next);
            logger.info({ keys }, 'configuration reloaded');
          },
          (message) => logger.warn(message),
          { flags: configFlags(flags), env: io.env, cwd: io.cwd },
        );

  const demoAbort = new AbortController();
  let demo: Promise<DemoHandle | null> = Promise.resolve(null);
  if (flags.demo) {
    if (!app.adminToken) {
      println(io.stderr, 'error: --demo needs the admin token; set RESKPOINTS_ADMIN_TOKEN');
    } else {
      demo = startDemo({
        baseUrl: app.url,
        adminToken: app.adminToken,
        dataDir: config.dataDir,
        clock: io.clock,
        signal: demoAbort.signal,
        log: (m) => logger.info(m),
      }).then(
        (handle) => {
          if (!demoAbort.signal.aborted) {
            const s = handle.stats();
            println(
              io.stdout,
              `Demo traffic running: projects ${Object.values(s.projects).join(', ')}; ${s.backfilledCalls} calls backfilled; open ${app.url}`,
            );
          }
          return handle;
        },
        (e: unknown) => {
          println(io.stderr, `error: demo traffic stopped: ${errorText(e)}`);
          return null;
        },
      );
    }
  }

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      println(io.stderr, `${signal} again: exiting without finishing the drain`);
      io.exit(EXIT_FAILURE);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: draining accepted events');
    const timeout = setTimeout(() => {
      println(io.stderr, `error: shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      io.exit(EXIT_FAILURE);
    }, SHUTDOWN_TIMEOUT_MS);
    timeout.unref();
    void (async () => {
      watcher?.close();
      if (recorded) removeServerRecord(io.cwd, record);
      demoAbort.abort();
      await (await demo)?.stop();
      await app.close();
    })().then(
      () => {
        clearTimeout(timeout);
        logger.info('stopped');
        logger.flush?.();
        io.exit(EXIT_OK);
      },
      (e: unknown) => {
        clearTimeout(timeout);
        println(io.stderr, `error: shutdown failed: ${errorText(e)}`);
        io.exit(EXIT_FAILURE);
      },
    );
  };
  io.onSignal('SIGINT', () => shutdown('SIGINT'));
  io.onSignal('SIGTERM', () => shutdown('SIGTERM'));

  // Printed once the signal handlers are in place: a script that waits for the listening line
  // and then stops the server must find it ready to drain.
  println(io.stdout, `${LISTENING_PREFIX}${app.url}`);
  if (app.adminTokenUnshown) {
    println(
      io.stdout,
      `Admin token (generated; shown only this once, saved in ${config.dataDir}/admin-token): ${app.adminToken}`,
    );
    println(io.stdout, nextStepsText(app.url));
    app.adminTokenShown();
  } else if (config.role === 'all' || config.role === 'api') {
    println(io.stdout, `Next steps: ${app.url}/`);
  }
  if (flags.demo && app.adminToken)
    println(io.stdout, 'Demo traffic: creating projects and backfilling the last 6 hours…');
  return EXIT_OK;
}

/** `reskpoints migrate`: creates or upgrades the schemas and exits. */
export async function runMigrate(flags: ServerFlags, io: CliIo): Promise<number> {
  const loaded = loadForCommand(flags, io);
  if (!loaded) return EXIT_USAGE;
  const { runMigrations } = await import('../app.js');
  try {
    await runMigrations(loaded.config);
  } catch (e) {
    println(io.stderr, `error: migration failed: ${errorText(e)}`);
    return e instanceof Error && e.name === 'ConfigError' ? EXIT_USAGE : EXIT_FAILURE;
  }
  const c = loaded.config;
  const telemetry = c.clickhouse.url ? 'ClickHouse' : `DuckDB in ${c.dataDir}`;
  const state = c.postgres.url ? 'PostgreSQL' : `DuckDB in ${c.dataDir}`;
  println(io.stdout, `Migrations applied (telemetry: ${telemetry}; state: ${state})`);
  return EXIT_OK;
}
