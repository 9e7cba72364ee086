import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ensureBuilt, MAIN_JS } from '../test-support/built-cli.js';
import { LISTENING_PREFIX } from './server.js';
import { findServerRecord, type ServerRecord } from './server-record.js';

/**
 * A newcomer's first minutes with the built binary: start with a data dir elsewhere, then run
 * client commands from the same folder without --url, --data-dir or a token.
 */

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN_JS, ...args], { cwd, env: cleanEnv(), timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

interface Started {
  proc: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

async function start(args: string[], cwd: string): Promise<Started> {
  const proc = spawn(process.execPath, [MAIN_JS, 'start', ...args], {
    cwd,
    env: cleanEnv({ RESKPOINTS_LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = new RegExp(`${LISTENING_PREFIX}(http://\\S+)`).exec(out);
    // The lines printed right after the listening line are written in the same tick.
    if (m && /Next steps/.test(out)) return { proc, url: m[1] as string, output: () => out, exited };
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const running: ChildProcess[] = [];
let root: string;
beforeAll(() => {
  ensureBuilt();
  root = mkdtempSync(join(tmpdir(), 'rp-newcomer-'));
}, 60_000);
afterAll(() => {
  for (const p of running) if (p.exitCode === null) p.kill('SIGKILL');
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a newcomer with the built binary', () => {
  it('finds the server started from the same folder, prints next steps, and serves a home page', async () => {
    const cwd = join(root, 'checkout');
    const dataDir = join(root, 'elsewhere', 'x');
    mkdirSync(cwd, { recursive: true });
    const server = await start(['--port', '0', '--data-dir', dataDir], cwd);
    const out = server.output();
    const token = /Admin token \(generated[^)]*\): (\S+)/.exec(out)?.[1];
    expect(token).toBe(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim());
    expect(out).toContain('npx reskpoints keys create-project my-app');
    expect(out).toContain(`export OTEL_EXPORTER_OTLP_ENDPOINT=${server.url}\n`);
    expect(out).toContain('npx reskpoints query summary --since 24h');
    expect(out).toContain(`${server.url}/docs`);

    // No --url, no --data-dir, no token: the record in the data dir, found through the
    // pointer in the folder, gives all three.
    const created = await cli(['keys', 'create-project', 'demo-app'], cwd);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const key = /Ingest key \([^)]*\): (\S+)/.exec(created.stdout)?.[1] as string;
    expect(created.stdout).toContain(`export OTEL_EXPORTER_OTLP_ENDPOINT=${server.url}`);
    expect(created.stdout).toContain(`export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer ${key}"`);

    const ingest = await fetch(`${server.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [{ id: 'n1', timestamp: Date.now() - 60_000, provider: 'openai', model: 'gpt-4o', latencyMs: 300 }],
      }),
    });
    expect(ingest.status).toBe(200);

    // --project takes the name as well as the id.
    const summary = await cli(['query', 'summary', '--project', 'demo-app', '--json'], cwd);
    expect(summary.stderr).toBe('');
    const rows = (JSON.parse(summary.stdout) as { rows: Array<{ group: { model: string }; requests: number }> }).rows;
    expect(rows).toEqual([expect.objectContaining({ group: { model: 'gpt-4o' }, requests: 1 })]);
    const wrong = await cli(['query', 'summary', '--project', 'no-such-app'], cwd);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--project: no project has the id or name "no-such-app"; projects: demo-app \(prj_/);

    // Flags still win over the record.
    const elsewhere = await cli(['keys', 'list', '--url', 'http://127.0.0.1:1'], cwd);
    expect(elsewhere.stderr).toContain('cannot reach http://127.0.0.1:1');

    const home = await fetch(`${server.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await home.text();
    expect(html).toContain('<a href="/docs">');
    expect(html).toContain(`export OTEL_EXPORTER_OTLP_ENDPOINT=${server.url}`);
    expect(html).toContain('npx reskpoints keys create-project my-app');
    expect(html).toContain('npx reskpoints query summary --since 24h');

    const pointer = join(cwd, '.reskpoints', 'server.json');
    expect((JSON.parse(readFileSync(pointer, 'utf8')) as ServerRecord).dataDir).toBe(dataDir);
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    // A stopped server leaves no record behind.
    expect(existsSync(pointer)).toBe(false);
    expect(existsSync(join(dataDir, 'server.json'))).toBe(false);
    const later = await start(['--port', '0', '--data-dir', dataDir], cwd);
    expect(later.output()).not.toContain('Admin token');
    expect(later.output()).toContain(`Next steps: ${later.url}/`);
    later.proc.kill('SIGTERM');
    expect(await later.exited).toBe(0);
  }, 120_000);

  it('prints the admin token on the next start when the first one failed after generating it', async () => {
    const cwd = join(root, 'failing');
    const dataDir = join(cwd, 'data');
    mkdirSync(cwd, { recursive: true });
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const failed = await cli(['start', '--port', String(port), '--data-dir', dataDir], cwd);
    await new Promise<void>((r) => busy.close(() => r()));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/could not start/);
    expect(failed.stdout).not.toContain('Admin token');
    const saved = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();

    const second = await start(['--port', '0', '--data-dir', dataDir], cwd);
    expect(/Admin token \(generated[^)]*\): (\S+)/.exec(second.output())?.[1]).toBe(saved);
    second.proc.kill('SIGTERM');
    expect({ code: await second.exited, out: second.output() }).toMatchObject({ code: 0 });

    const third = await start(['--port', '0', '--data-dir', dataDir], cwd);
    expect(third.output()).not.toContain('Admin token');
    third.proc.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  }, 120_000);

  it('ignores the record of a server that no longer runs', () => {
    const cwd = join(root, 'stale');
    mkdirSync(join(cwd, '.reskpoints'), { recursive: true });
    const gone = spawnSync(process.execPath, ['-e', 'process.pid'], {}).pid as number;
    const record: ServerRecord = {
      url: 'http://127.0.0.1:9',
      dataDir: join(cwd, 'x'),
      pid: gone,
      startedAtMs: 0,
      version: '0',
    };
    writeFileSync(join(cwd, '.reskpoints', 'server.json'), JSON.stringify(record));
    expect(findServerRecord(cwd, undefined)).toBeNull();
    writeFileSync(join(cwd, '.reskpoints', 'server.json'), JSON.stringify({ ...record, pid: process.pid }));
    expect(findServerRecord(cwd, undefined)?.url).toBe('http://127.0.0.1:9');
  }, 120_000);
});
