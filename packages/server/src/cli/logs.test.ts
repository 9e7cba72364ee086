/**
 * `reskpoints logs search|tail|patterns` against a started server: search with filters and
 * pages, a live tail that prints lines stored after it connected (the `logs` event topic), and
 * pattern statistics with new patterns.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support/harness.js';
import type { CliIo } from './io.js';
import { runCli } from './program.js';

let server: TestServer;
let key: string;
let cwd: string;

beforeAll(async () => {
  server = await startTestServer();
  ({ key } = await server.createProject('cli-logs'));
  cwd = mkdtempSync(join(tmpdir(), 'rp-cli-logs-'));
});
afterAll(async () => {
  await server?.stop();
  rmSync(cwd, { recursive: true, force: true });
});

function io(): CliIo & { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: () => out.join(''),
    err: () => err.join(''),
    stdout: { write: (s) => void out.push(s) },
    stderr: { write: (s) => void err.push(s) },
    env: {},
    cwd,
    clock: systemClock,
    fetch: globalThis.fetch,
    onSignal: () => {},
    exit: (code) => {
      throw new Error(`exit(${code})`);
    },
  };
}

const cli = async (args: string[]) => {
  const x = io();
  const r = await runCli(['logs', ...args, '--url', server.url, '--token', key], x);
  return { code: r.exitCode, out: x.out(), err: x.err() };
};

async function ingest(logs: unknown[]): Promise<void> {
  const res = await fetch(`${server.url}/api/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ logs }),
  });
  expect(res.status).toBeLessThan(300);
}

describe('reskpoints logs', () => {
  it('searches by service, severity and text, and pages with --cursor', async () => {
    const now = Date.now();
    await ingest([
      ...Array.from({ length: 5 }, (_, i) => ({
        timestamp: now - 60_000 + i,
        message: `GET /cart ${i}`,
        service: 'web',
        severity: 'info',
      })),
      {
        timestamp: now - 30_000,
        message: 'db timeout after 30s',
        service: 'web',
        severity: 'error',
        traceId: 'ab'.repeat(16),
      },
      { timestamp: now - 20_000, message: 'db timeout after 31s', service: 'jobs', severity: 'error' },
    ]);
    const errors = await cli(['search', '--service', 'web', '--severity', 'error', '-q', 'timeout']);
    expect(errors.code).toBe(0);
    expect(errors.out.trim().split('\n')).toHaveLength(1);
    expect(errors.out).toMatch(/ERROR web db timeout after 30s trace=abab/);

    const page1 = await cli(['search', '--service', 'web', '--limit', '4']);
    expect(page1.out.trim().split('\n')).toHaveLength(4);
    const cursor = /--cursor (\S+)/.exec(page1.err)?.[1];
    expect(cursor).toBeTruthy();
    const page2 = await cli(['search', '--service', 'web', '--limit', '4', '--cursor', cursor as string]);
    expect(page2.out.trim().split('\n')).toHaveLength(2);

    const json = await cli(['search', '--service', 'jobs', '--json']);
    expect(JSON.parse(json.out).items[0].body).toBe('db timeout after 31s');

    const bad = await cli(['search', '--severity', 'loud']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--severity: expected one of/);
  });

  it('tails lines stored after it connected, filtered by service and severity', async () => {
    const tail = cli(['tail', '--service', 'api', '--severity', 'warn,error', '--lines', '0', '--count', '2']);
    // Let the WebSocket connect before the lines are stored.
    await new Promise((r) => setTimeout(r, 500));
    const now = Date.now();
    await ingest([
      { timestamp: now, message: 'healthy', service: 'api', severity: 'info' },
      { timestamp: now, message: 'disk 91% full', service: 'api', severity: 'warn' },
      { timestamp: now, message: 'unrelated failure', service: 'other', severity: 'error' },
      { timestamp: now, message: 'request failed: 502', service: 'api', severity: 'error' },
    ]);
    const r = await tail;
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/WARN +api disk 91% full/);
    expect(lines[1]).toMatch(/ERROR api request failed: 502/);
  });

  it('prints the last stored lines first, oldest first', async () => {
    const r = await cli(['tail', '--service', 'web', '--lines', '3', '--count', '3']);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(3);
    expect(r.out).toMatch(/GET \/cart 3[\s\S]*GET \/cart 4[\s\S]*db timeout after 30s/);
  });

  it('lists pattern statistics and only new patterns with --new', async () => {
    const all = await cli(['patterns', '--since', '1h', '--service', 'web']);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/GET \/cart <\*>/);
    const json = await cli(['patterns', '--since', '1h', '--json']);
    const patterns = JSON.parse(json.out).patterns;
    expect(patterns.find((p: any) => p.service === 'web' && /cart/.test(p.template)).count).toBe(5);
    const fresh = await cli(['patterns', '--since', '1h', '--new', '--json']);
    expect(JSON.parse(fresh.out).patterns.every((p: any) => p.isNew)).toBe(true);
    expect((await cli(['patterns', '--z', '-1'])).code).toBe(2);
  });
});
