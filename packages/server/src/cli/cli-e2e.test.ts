import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, ensureBuilt, MAIN_JS } from '../test-support/built-cli.js';
import { LISTENING_PREFIX } from './server.js';

/**
 * The built `reskpoints` binary against itself: start, keys, ingest, query, hot reload and a
 * graceful stop, as a user would run them.
 */

function runCli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [MAIN_JS, ...args],
      { cwd, env: cleanEnv(), timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

interface Started {
  proc: ChildProcess;
  url: string;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function startServer(args: string[], cwd: string): Promise<Started> {
  const proc = spawn(process.execPath, [MAIN_JS, 'start', '--port', '0', ...args], {
    cwd,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const waitFor = async (pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = out.match(pattern);
      if (m) return m;
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`no ${pattern} in output:\n${out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return waitFor(new RegExp(`${LISTENING_PREFIX}(http://\\S+)`)).then((m) => ({
    proc,
    url: m[1] as string,
    output: () => out,
    waitFor,
    exited,
  }));
}

let dir: string;
const running: ChildProcess[] = [];
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'rp-cli-e2e-'));
}, 60_000);
afterAll(() => {
  for (const p of running) if (p.exitCode === null) p.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('reskpoints (built binary)', () => {
  it('starts, creates a project, ingests, queries, hot-reloads and stops gracefully', async () => {
    const dataDir = join(dir, 'data');
    const configFile = join(dir, 'reskpoints.yaml');
    writeFileSync(configFile, 'logLevel: warn\nretentionDays: 30\n');
    const server = await startServer(['--data-dir', dataDir, '--config', configFile], dir);
    running.push(server.proc);
    const token = (await server.waitFor(/Admin token \(generated[^)]*\): (\S+)/))[1] as string;
    expect(token.length).toBeGreaterThanOrEqual(16);

    // The admin token the server saved in the data dir is found without --token.
    const created = await runCli(
      ['keys', 'create-project', 'E2E app', '--id', 'e2e', '--url', server.url, '--data-dir', dataDir],
      dir,
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const key = created.stdout.match(/Ingest key \([^)]*\): (\S+)/)?.[1] as string;
    expect(key).toBeTruthy();

    const now = Date.now();
    const batch = [
      {
        id: 'e1',
        timestamp: now - 60_000,
        provider: 'openai',
        model: 'gpt-4o',
        latencyMs: 900,
        usage: { inputTokens: 100, outputTokens: 20 },
      },
      {
        id: 'e2',
        timestamp: now - 50_000,
        provider: 'openai',
        model: 'gpt-4o',
        latencyMs: 1100,
        usage: { inputTokens: 200, outputTokens: 30 },
      },
      {
        id: 'e3',
        timestamp: now - 40_000,
        provider: 'anthropic',
        model: 'claude-3-5-haiku',
        latencyMs: 80,
        status: 'error',
        error: { type: 'rate_limit_error' },
      },
    ];
    const res = await fetch(`${server.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(res.status).toBe(200);

    const json = await runCli(
      ['query', 'summary', '--url', server.url, '--token', key, '--since', '1h', '--json'],
      dir,
    );
    expect(json.code).toBe(0);
    const rows = (
      JSON.parse(json.stdout) as { rows: Array<{ group: { model: string }; requests: number; errors: number }> }
    ).rows;
    const byModel = Object.fromEntries(rows.map((r) => [r.group.model, r]));
    expect(byModel['gpt-4o']?.requests).toBe(2);
    expect(byModel['claude-3-5-haiku']?.errors).toBe(1);

    const table = await runCli(
      ['query', 'summary', '--url', server.url, '--token', token, '--group-by', 'project,model'],
      dir,
    );
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^project\s+model\s+requests/);
    expect(table.stdout).toMatch(/e2e\s+gpt-4o\s+2\s/);
    expect(table.stdout).toContain('3 requests');

    const calls = await runCli(['query', 'calls', '--url', server.url, '--token', key, '--status', 'error'], dir);
    expect(calls.stdout).toMatch(/error: rate_limit_error/);
    expect(calls.stdout).toContain('1 call');

    const bad = await runCli(['query', 'calls', '--url', server.url, '--token', 'rpk_wrong'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: HTTP 401/);

    // Hot reload: a hot key applies (the info line shows once the level allows it) ...
    writeFileSync(configFile, 'logLevel: info\nretentionDays: 7\n');
    await server.waitFor(/configuration reloaded/);
    // ... a non-hot key is reported as needing a restart, an invalid file is refused.
    writeFileSync(configFile, 'logLevel: info\nretentionDays: 7\nhost: 0.0.0.0\n');
    await server.waitFor(/changed host: needs restart/);
    writeFileSync(configFile, 'logLevel: info\nretentionDays: -1\n');
    await server.waitFor(/is invalid; keeping the running configuration/);

    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);

    // A second start with the same data dir keeps the token and does not print it.
    writeFileSync(configFile, 'logLevel: warn\n');
    const again = await startServer(['--data-dir', dataDir, '--config', configFile], dir);
    running.push(again.proc);
    const list = await runCli(['keys', 'list', '--url', again.url, '--token', token], dir);
    expect(list.stdout).toMatch(/e2e\s+E2E app/);
    again.proc.kill('SIGINT');
    expect(await again.exited).toBe(0);
    expect(again.output()).not.toContain('Admin token');
  }, 120_000);

  it('exits 2 with every problem when the configuration is invalid', async () => {
    const r = await runCli(['start', '--port', '99999', '--role', 'ingest', '--log-level', 'loud'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('port: expected number ≤ 65535, got 99999 (from --port)');
    expect(r.stderr).toContain(
      'logLevel: expected one of fatal|error|warn|info|debug|trace|silent, got "loud" (from --log-level)',
    );
  }, 120_000);

  it('explains a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await runCli(['query', 'summary', '--url', `http://127.0.0.1:${port}`], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('connection refused');
    // fetch refuses some ports outright; the reason is shown rather than "fetch failed".
    const blocked = await runCli(['query', 'summary', '--url', 'http://127.0.0.1:1'], dir);
    expect(blocked.stderr).toBe('error: cannot reach http://127.0.0.1:1: bad port\n');
  }, 120_000);
});
