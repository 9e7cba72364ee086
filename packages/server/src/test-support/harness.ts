/**
 * Starts real ReskPoints servers for tests: in-process (fast) or as a child process of the
 * built CLI (for kill -9 and restart tests). Every server gets its own temp data dir.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { type RunningApp, type StartOptions, startApp } from '../app.js';
import { type Config, configSchema } from '../config/schema.js';

export const ADMIN_TOKEN = 'rpa_test_admin_token_0123456789';

export function tempDir(prefix = 'reskpoints-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testConfig(overrides: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    host: '127.0.0.1',
    port: 0,
    dataDir: tempDir(),
    adminToken: ADMIN_TOKEN,
    logLevel: 'silent',
    ...overrides,
  });
}

export interface TestServer {
  app: RunningApp;
  url: string;
  config: Config;
  /** Creates a project and returns its ingest key. */
  createProject(name: string, id?: string): Promise<{ projectId: string; key: string }>;
  stop(): Promise<void>;
}

export async function startTestServer(
  overrides: Record<string, unknown> = {},
  opts: StartOptions = {},
): Promise<TestServer> {
  const config = testConfig(overrides);
  const app = await startApp(config, { logger: pino({ level: process.env['RP_TEST_LOG'] ?? 'silent' }), ...opts });
  return {
    app,
    url: app.url,
    config,
    createProject: (name, id) => createProject(app.url, name, id),
    async stop() {
      await app.close();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

export async function createProject(
  url: string,
  name: string,
  id?: string,
): Promise<{ projectId: string; key: string }> {
  const res = await fetch(`${url}/api/v1/projects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(id ? { name, id } : { name }),
  });
  if (res.status !== 201) throw new Error(`create project: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { project: { id: string }; apiKey: { key: string } };
  return { projectId: body.project.id, key: body.apiKey.key };
}

export const MAIN_JS = resolve(import.meta.dirname, '../../dist/main.js');

export interface ChildServer {
  proc: ChildProcess;
  url: string;
  output: () => string;
  /** SIGKILL, no chance to flush anything. */
  kill9(): Promise<void>;
  stop(): Promise<number | null>;
}

/** Spawns `node dist/main.js start` (built by `npm test`'s build step) and waits for its URL. */
export function spawnServer(
  dataDir: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<ChildServer> {
  return spawnListening(
    [MAIN_JS, 'start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...extraArgs],
    env,
  );
}

/** Spawns a server whose telemetry appends never finish (see stalled-store-server.ts). */
export function spawnStalledStoreServer(dataDir: string): Promise<ChildServer> {
  return spawnListening(['--import', 'tsx', resolve(import.meta.dirname, 'stalled-store-server.ts'), dataDir]);
}

function spawnListening(nodeArgs: string[], env: Record<string, string> = {}): Promise<ChildServer> {
  const proc = spawn(process.execPath, nodeArgs, {
    env: { ...process.env, RESKPOINTS_ADMIN_TOKEN: ADMIN_TOKEN, RESKPOINTS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not start within 30 s:\n${out}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/i.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({
          proc,
          url: m[1] as string,
          output: () => out,
          async kill9() {
            proc.kill('SIGKILL');
            await exited;
          },
          async stop() {
            proc.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
}
