/**
 * Rules managed by API and CLI beside the hot-reloaded rules file, and the alerting CLI
 * (`alerts`, `silences`, `rules`, `receivers`, `notifications`) against a real server on a
 * fake clock, with a local webhook receiver recording what arrives.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FakeClock } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../cli/io.js';
import { runCli } from '../cli/program.js';
import { ADMIN_TOKEN, startTestServer, type TestServer, tempDir } from '../test-support/harness.js';

const T0 = Date.UTC(2026, 10, 30, 8);

async function recorder() {
  const received: any[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => server.close(),
  };
}

async function ingest(s: TestServer, key: string, n: number, atMs: number, model = 'gpt-4o') {
  const batch = Array.from({ length: n }, (_, i) => ({
    id: `c-${atMs}-${model}-${i}`,
    timestamp: new Date(atMs + i).toISOString(),
    provider: 'openai',
    model,
    latencyMs: 100,
    costUsd: 0.01,
    usage: { inputTokens: 10, outputTokens: 10 },
  }));
  const res = await fetch(`${s.url}/api/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch }),
  });
  expect(res.status).toBe(200);
}

async function api(s: TestServer, method: string, path: string, body?: unknown) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function tickUntil(s: TestServer, done: () => boolean) {
  for (let i = 0; i < 100 && !done(); i++) {
    await s.app.tickJobs();
    if (!done()) await new Promise((r) => setTimeout(r, 50));
  }
}

function cli(s: TestServer, clock: FakeClock, cwd: string) {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: {
      write: (t: string) => {
        out += t;
      },
    },
    stderr: {
      write: (t: string) => {
        err += t;
      },
    },
    env: { RESKPOINTS_URL: s.url, RESKPOINTS_TOKEN: ADMIN_TOKEN, USER: 'oncall' },
    cwd,
    clock,
    fetch: globalThis.fetch,
    onSignal: () => {},
    exit: () => {},
  };
  return async (...argv: string[]) => {
    out = '';
    err = '';
    const r = await runCli(argv, io);
    return { code: r.exitCode, out, err };
  };
}

describe('rules by API and CLI beside the rules file', () => {
  let server: TestServer | null = null;
  const closers: (() => void)[] = [];
  afterEach(async () => {
    await server?.stop();
    server = null;
    for (const c of closers.splice(0)) c();
  });

  it('validates every problem, keeps file rule names, fires and resolves API rules, and the CLI drives it all', async () => {
    const hook = await recorder();
    closers.push(hook.close);
    const dir = tempDir('reskpoints-rules-api-');
    const rulesFile = join(dir, 'rules.yaml');
    writeFileSync(
      rulesFile,
      'rules:\n  - name: FileRule\n    metric: errorRate\n    threshold: { op: ">", value: 0.5 }\n',
    );
    const clock = new FakeClock(T0);
    server = await startTestServer(
      {
        alerting: {
          rulesFile,
          route: { receiver: 'hook', groupBy: ['alertname'], groupWait: 0, groupInterval: '1m', repeatInterval: '4h' },
          receivers: [{ name: 'hook', webhook: { url: hook.url, secret: 'hush' } }],
        },
      },
      { clock },
    );
    const s = server;
    const run = cli(s, clock, dir);
    const p = await s.createProject('Shop', 'prj_shop');

    // Every problem of a bad rule at once, each with its field.
    const bad = await api(s, 'PUT', '/api/v1/alerts/rules/Bad', {
      name: 'Other',
      metric: 'gallons',
      window: 'soon',
      threshold: { op: '>>', value: 'x' },
      absent: {},
      labels: { 'bad-label': 'v' },
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.error.issues.map((i: any) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['name', 'metric', 'window', 'threshold.op', 'threshold.value', 'labels.bad-label']),
    );
    // A name the rules file owns is refused.
    const owned = await api(s, 'PUT', '/api/v1/alerts/rules/FileRule', {
      metric: 'requests',
      threshold: { op: '>', value: 1 },
    });
    expect(owned.status).toBe(409);
    expect(owned.body.error.message).toContain(rulesFile);

    // Create, then replace.
    const spec = {
      metric: 'requests',
      window: '5m',
      groupBy: ['model'],
      threshold: { op: '>', value: 5 },
      labels: { severity: 'page' },
      annotations: { summary: '{{ $value }} requests on {{ $labels.model }}' },
    };
    expect((await api(s, 'PUT', '/api/v1/alerts/rules/ManyCalls', spec)).status).toBe(201);
    const replaced = await api(s, 'PUT', '/api/v1/alerts/rules/ManyCalls', {
      ...spec,
      threshold: { op: '>', value: 2 },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body.rule).toMatchObject({ name: 'ManyCalls', origin: 'api', threshold: { value: 2 } });
    const listed = await api(s, 'GET', '/api/v1/alerts/rules');
    expect(listed.body.rules.map((r: any) => [r.name, r.origin, r.kind])).toEqual([
      ['FileRule', 'file', 'threshold'],
      ['ManyCalls', 'api', 'threshold'],
    ]);

    // `rules apply`: a file with problems in two rules writes nothing and names each problem.
    writeFileSync(
      join(dir, 'more.yaml'),
      [
        'rules:',
        '  - name: SlowCalls',
        '    metric: latencyP95Ms',
        '    threshold: { op: ">", value: 2000 }',
        '  - name: Broken',
        '    metric: latencyP95Ms',
        '    for: later',
        '  - name: FileRule',
        '    metric: requests',
        '    threshold: { op: ">", value: 1 }',
      ].join('\n'),
    );
    const refused = await run('rules', 'apply', 'more.yaml');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('rules.1.for');
    expect(refused.err).toMatch(/give exactly one of threshold, change, absent, signal/);
    expect(refused.err).toContain('rule "FileRule" is defined in the rules file');
    expect((await api(s, 'GET', '/api/v1/alerts/rules')).body.rules).toHaveLength(2);
    writeFileSync(
      join(dir, 'more.yaml'),
      'rules:\n  - name: SlowCalls\n    metric: latencyP95Ms\n    threshold: { op: ">", value: 2000 }\n',
    );
    const dry = await run('rules', 'apply', 'more.yaml', '--dry-run');
    expect(dry.out).toContain('1 would be created: SlowCalls');
    expect((await run('rules', 'apply', 'more.yaml')).out).toContain('1 created: SlowCalls');
    expect((await run('rules', 'apply', 'more.yaml')).out).toContain('1 unchanged: SlowCalls');
    expect((await run('rules', 'apply', 'missing.yaml')).err).toContain('missing.yaml: cannot read (ENOENT)');

    // The API rule fires on ingested calls like any other.
    await s.app.tickJobs();
    await ingest(s, p.key, 3, T0 - 1000);
    await tickUntil(s, () => hook.received.length >= 1);
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]).toMatchObject({
      status: 'firing',
      commonLabels: { alertname: 'ManyCalls', model: 'gpt-4o', severity: 'page' },
    });
    const rulesOut = await run('rules', 'list');
    expect(rulesOut.out).toMatch(/FileRule\s+threshold\s+file\s+inactive\s+0\s+0\s+1m/);
    expect(rulesOut.out).toMatch(/ManyCalls\s+threshold\s+api\s+firing\s+1\s+0\s+1m/);
    const alertsOut = await run('alerts', 'list');
    expect(alertsOut.out).toMatch(
      /firing\s+ManyCalls\s+model=gpt-4o,severity=page\s+2026-11-30 08:00:00\s+3 requests on gpt-4o/,
    );
    expect((await run('alerts', 'list', '--state', 'pending')).out).toContain('No alerts.');
    expect((await run('alerts', 'list', '--state', 'gone')).code).toBe(2);

    // Silences from the CLI: every bad option at once; create (recurring too), list, expire.
    const badSilence = await run('silences', 'create', '--end', 'someday', '--times', '2am');
    expect(badSilence.code).toBe(2);
    expect(badSilence.err).toContain('--matcher');
    expect(badSilence.err).toContain('--end');
    expect(badSilence.err).toContain('--times');
    const created = await run(
      'silences',
      'create',
      '--matcher',
      'model="claude"',
      '--duration',
      '2h',
      '--comment',
      'noisy',
    );
    expect(created.code).toBe(0);
    const id = /Created silence (\S+)/.exec(created.out)?.[1] as string;
    expect(created.out).toMatch(
      /active\s+model="claude"\s+2026-11-30 08:00:00\s+2026-11-30 10:00:00\s+no\s+oncall\s+noisy/,
    );
    const nightly = await run(
      'silences',
      'create',
      '--matcher',
      'severity="info"',
      '--duration',
      '30d',
      '--times',
      '02:00-04:00',
      '--location',
      'Europe/Berlin',
    );
    expect(nightly.out).toMatch(/active\s+severity="info".*\s+yes\s+oncall/);
    const badZone = await run(
      'silences',
      'create',
      '--matcher',
      'a="b"',
      '--times',
      '02:00-04:00',
      '--location',
      'Mars/Base',
    );
    expect(badZone.code).toBe(1);
    expect(badZone.err).toContain('"Mars/Base" is not an IANA time zone');
    expect((await run('silences', 'expire', id)).out).toContain(`Expired silence ${id} at 2026-11-30 08:00:00 UTC`);
    expect((await run('silences', 'list')).out).not.toContain(id);
    expect((await run('silences', 'list', '--all')).out).toMatch(new RegExp(`${id}\\s+expired`));
    expect((await run('silences', 'expire', 'nope')).err).toContain('no silence "nope"');

    const receivers = await run('receivers', 'list');
    expect(receivers.out).toMatch(/hook\s+webhook \(127\.0\.0\.1:\d+\)\s+yes/);
    expect(receivers.out).not.toContain('hush');
    const notes = await run('notifications', 'list');
    expect(notes.out).toMatch(/delivered\s+hook\s+firing\s+1\s+1/);
    expect((await run('notifications', 'list', '--limit', '0')).code).toBe(2);

    // A file edit that takes an API rule's name: the file's rule wins, the API rule is reported.
    writeFileSync(
      rulesFile,
      'rules:\n  - name: FileRule\n    metric: errorRate\n    threshold: { op: ">", value: 0.5 }\n  - name: SlowCalls\n    metric: requests\n    threshold: { op: ">", value: 1000 }\n',
    );
    clock.advance(1000);
    const shadowed = await api(s, 'GET', '/api/v1/alerts/rules');
    expect(shadowed.body.rules.map((r: any) => [r.name, r.origin])).toEqual([
      ['FileRule', 'file'],
      ['SlowCalls', 'file'],
      ['ManyCalls', 'api'],
    ]);
    expect(shadowed.body.problems).toEqual([
      'API rule "SlowCalls" is shadowed by the rules file rule of the same name',
    ]);
    expect((await api(s, 'DELETE', '/api/v1/alerts/rules/FileRule')).status).toBe(409);
    expect((await api(s, 'DELETE', '/api/v1/alerts/rules/Nope')).status).toBe(404);

    // Deleting the API rule resolves its alert.
    const del = await run('rules', 'delete', 'ManyCalls');
    expect(del.code).toBe(0);
    clock.advance(60_000);
    await tickUntil(s, () => hook.received.length >= 2);
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]).toMatchObject({ status: 'resolved', commonLabels: { alertname: 'ManyCalls' } });
    expect((await run('rules', 'delete', 'ManyCalls')).err).toContain('no API-managed rule "ManyCalls"');
  });
});
