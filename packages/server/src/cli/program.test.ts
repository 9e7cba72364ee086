import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { costSummary, emptyCostSums, FakeClock, type LlmCall, type SummaryRow, UNPRICED } from '@reskpoints/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VERSION } from '../version.js';
import { formatUsd, renderTable } from './format.js';
import type { CliIo } from './io.js';
import { runCli } from './program.js';
import { buildQuery, parseDurationMs, parseInstant } from './query.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

interface TestIo extends CliIo {
  out: string[];
  errOut: string[];
}

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'rp-cli-'));
});
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

function testIo(env: Record<string, string> = {}): TestIo {
  const out: string[] = [];
  const errOut: string[] = [];
  return {
    out,
    errOut,
    stdout: { write: (s) => void out.push(s) },
    stderr: { write: (s) => void errOut.push(s) },
    env,
    cwd,
    clock: new FakeClock(NOW),
    fetch: globalThis.fetch,
    onSignal: () => {},
    exit: (code) => {
      throw new Error(`exit(${code}) called`);
    },
  };
}

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  auth: string | undefined;
  body: unknown;
}

/** A local HTTP server that answers with canned responses and records requests. */
let server: Server;
let baseUrl: string;
const seen: Seen[] = [];
let respond: (s: Seen) => { status: number; body: unknown } = () => ({ status: 404, body: {} });

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const s: Seen = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        auth: req.headers.authorization,
        body: text ? JSON.parse(text) : undefined,
      };
      seen.push(s);
      const r = respond(s);
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  seen.length = 0;
});

const row = (over: Partial<SummaryRow>): SummaryRow => ({
  bucketStartMs: NOW - 3_600_000,
  group: {},
  requests: 0,
  errors: 0,
  errorRate: 0,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  totalTokens: 0,
  ...costSummary(emptyCostSums(), 0),
  latencyP50Ms: null,
  latencyP95Ms: null,
  latencyP99Ms: null,
  ttftP95Ms: null,
  ...over,
});

describe('reskpoints basics', () => {
  it('prints the version', async () => {
    const io = testIo();
    expect(await runCli(['--version'], io)).toEqual({ exitCode: 0, keepRunning: false });
    expect(io.out.join('')).toBe(`${VERSION}\n`);
  });

  it('rejects unknown commands and options with a suggestion', async () => {
    const io = testIo();
    expect((await runCli(['strat'], io)).exitCode).toBe(2);
    expect(io.errOut.join('')).toMatch(/Did you mean start\?/);
    const io2 = testIo();
    expect((await runCli(['query', 'summary', '--groupby', 'model'], io2)).exitCode).toBe(2);
    expect(io2.errOut.join('')).toMatch(/unknown option '--groupby'/);
  });

  it('start reports every configuration problem and exits 2 before starting anything', async () => {
    writeFileSync(join(cwd, 'reskpoints.yaml'), 'retentionDays: 0\nprot: 1\n');
    const io = testIo({ RESKPOINTS_INGEST__QUEUE_MAX_EVENTS: 'lots' });
    expect(await runCli(['start', '--port', '70000'], io)).toEqual({ exitCode: 2, keepRunning: false });
    const text = io.errOut.join('');
    expect(text).toContain('invalid configuration (4 problems)');
    expect(text).toContain('port: expected number ≤ 65535, got 70000 (from --port)');
    expect(text).toContain(`retentionDays: expected number ≥ 1, got 0 (from ${join(cwd, 'reskpoints.yaml')})`);
    expect(text).toContain('prot: unknown key (did you mean port?)');
    expect(text).toContain(
      'ingest.queueMaxEvents: expected number, got "lots" (from RESKPOINTS_INGEST__QUEUE_MAX_EVENTS)',
    );
  });

  it('start names a missing config file', async () => {
    const io = testIo();
    expect((await runCli(['start', '--config', 'nope.yaml'], io)).exitCode).toBe(2);
    expect(io.errOut.join('')).toContain('cannot read config file nope.yaml: file not found');
  });

  it('rejects a role outside the choices', async () => {
    const io = testIo();
    expect((await runCli(['migrate', '--role', 'boss'], io)).exitCode).toBe(2);
    expect(io.errOut.join('')).toMatch(/Allowed choices are all, ingest, worker, api/);
  });

  it('config check shows each value with its source and hides secrets', async () => {
    const file = join(cwd, 'rp.json');
    writeFileSync(file, JSON.stringify({ retentionDays: 30, postgres: { url: 'postgres://app:s3cret@db/rp' } }));
    const io = testIo({ RESKPOINTS_ADMIN_TOKEN: 'x'.repeat(32), RESKPOINTS_LOG_LEVEL: 'debug' });
    expect((await runCli(['config', 'check', '--config', file, '--port', '9000'], io)).exitCode).toBe(0);
    const text = io.out.join('');
    expect(text).toContain(`Configuration is valid (file: ${file})`);
    expect(text).toMatch(/port\s+9000\s+--port/);
    expect(text).toMatch(/logLevel\s+debug\s+RESKPOINTS_LOG_LEVEL/);
    expect(text).toMatch(/retentionDays\s+30\s+\S*rp\.json/);
    expect(text).toMatch(/host\s+127\.0\.0\.1\s+default/);
    expect(text).toMatch(/adminToken\s+\(set, hidden\)/);
    expect(text).toContain('postgres://app:***@db/rp');
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('x'.repeat(32));
  });
});

describe('query option parsing', () => {
  it('parses durations and instants', () => {
    expect(parseDurationMs('24h')).toBe(86_400_000);
    expect(parseDurationMs('1.5h')).toBe(5_400_000);
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('7')).toBeNull();
    expect(parseInstant('2026-01-15T10:00:00Z', NOW)).toBe(Date.UTC(2026, 0, 15, 10));
    expect(parseInstant(String(NOW - 5), NOW)).toBe(NOW - 5);
    expect(parseInstant('2h', NOW)).toBe(NOW - 7_200_000);
    expect(parseInstant('yesterday', NOW)).toBeNull();
    expect(parseInstant('now', NOW)).toBe(NOW);
    expect(parseInstant('now-24h', NOW)).toBe(NOW - 86_400_000);
    expect(parseInstant('now+1m', NOW)).toBe(NOW + 60_000);
    expect(parseInstant('now-soon', NOW)).toBeNull();
  });

  it('defaults to the last 24 hours grouped by model', () => {
    const q = buildQuery('summary', {}, NOW);
    expect(q.ok).toBe(true);
    if (!q.ok) return;
    expect(q.value.path).toBe('/api/v1/llm/summary');
    expect(Object.fromEntries(q.value.params)).toEqual({
      from: String(NOW - 86_400_000),
      to: String(NOW),
      groupBy: 'model',
    });
  });

  it('reports every bad option at once', () => {
    const q = buildQuery(
      'summary',
      { since: '5x', groupBy: 'model,colour', orderBy: 'price', interval: 'hourly', status: ['fine'], limit: '0' },
      NOW,
    );
    expect(q.ok).toBe(false);
    if (q.ok) return;
    expect(q.error).toEqual([
      '--since: expected a duration such as 30m, 24h or 7d, got "5x"',
      '--status: expected ok or error, got "fine"',
      '--limit: expected a positive integer, got "0"',
      '--group-by: unknown dimension "colour"; use project, environment, provider, model, operation, status, user, session, service, tag',
      '--interval: expected a duration such as 5m, 1h or 1d, got "hourly"',
      '--order-by: expected one of requests, errors, totalTokens, costUsd, latencyP95Ms, got "price"',
    ]);
    const calls = buildQuery('calls', { groupBy: 'model', from: '1h', since: '2h' }, NOW);
    expect(!calls.ok && calls.error).toEqual([
      '--since cannot be combined with --from',
      '--group-by applies to `query summary` only',
    ]);
  });
});

describe('reskpoints query', () => {
  it('sends the range, grouping and filters, and prints JSON with --json', async () => {
    const body = { rows: [row({ group: { model: 'gpt-4o' }, requests: 3 })], precision: 'exact' };
    respond = () => ({ status: 200, body });
    const io = testIo();
    const outcome = await runCli(
      [
        'query',
        'summary',
        '--url',
        baseUrl,
        '--token',
        'tok-123',
        '--since',
        '6h',
        '--group-by',
        'model,project',
        '--interval',
        '1h',
        '--order-by',
        'costUsd',
        '--model',
        'gpt-4o',
        '--model',
        'o3-mini,gpt-4o-mini',
        '--environment',
        'production',
        '--json',
      ],
      io,
    );
    expect(outcome.exitCode).toBe(0);
    const s = seen[0]!;
    expect(s.path).toBe('/api/v1/llm/summary');
    expect(s.auth).toBe('Bearer tok-123');
    expect(Object.fromEntries(s.query)).toEqual({
      from: String(NOW - 6 * 3_600_000),
      to: String(NOW),
      groupBy: 'model,project',
      interval: '1h',
      orderBy: 'costUsd',
      model: 'gpt-4o,o3-mini,gpt-4o-mini',
      environment: 'production',
    });
    expect(JSON.parse(io.out.join(''))).toEqual(body);
  });

  it('prints the summary as an aligned table with a footer', async () => {
    respond = () => ({
      status: 200,
      body: {
        rows: [
          row({
            group: { model: 'claude-sonnet-4-20250514', project: 'code-assistant' },
            requests: 1234,
            errors: 25,
            errorRate: 25 / 1234,
            inputTokens: 9_876_543,
            outputTokens: 432_100,
            costUsd: 123.456,
            latencyP50Ms: 2100,
            latencyP95Ms: 8400.4,
            ttftP95Ms: 1200,
          }),
          row({
            group: { model: 'gpt-4o-mini', project: null },
            requests: 7,
            costUsd: 0.00123,
            costIsLowerBound: true,
            costPerRequestUsd: 0.000246,
            unpricedRequests: 2,
          }),
          row({ group: { model: 'my-finetune', project: 'lab' }, requests: 4, costUsd: null, unpricedRequests: 4 }),
        ],
        precision: 'exact',
      },
    });
    const io = testIo({ RESKPOINTS_URL: baseUrl, RESKPOINTS_TOKEN: 'env-token' });
    expect((await runCli(['query', 'summary', '--group-by', 'model,project'], io)).exitCode).toBe(0);
    expect(seen[0]!.auth).toBe('Bearer env-token');
    const lines = io.out.join('').trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^model\s+project\s+requests\s+errors\s+error %\s+tokens in\s+tokens out\s+cost\s+cost\/req\s+\$\/1k tok\s+unpriced/,
    );
    expect(lines[1]).toMatch(/^-+ +-+ +-+/);
    expect(lines[2]).toMatch(
      /^claude-sonnet-4-20250514 +code-assistant +1,234 +25 +2\.0% +9,876,543 +432,100 +\$123\.46/,
    );
    expect(lines[2]).toMatch(/2,100 +8,400 +1,200$/);
    expect(lines[3]).toMatch(/^gpt-4o-mini +— +7 +0 +0\.0% .* ≥\$0\.0012 +\$0\.0002 +— +2 +— +— +—$/);
    // Right-aligned numeric columns end at the same offset in every row.
    const requestsEnd = lines[0]!.indexOf('requests') + 'requests'.length;
    expect(lines[2]!.slice(0, requestsEnd)).toMatch(/1,234$/);
    expect(lines[3]!.slice(0, requestsEnd)).toMatch(/ 7$/);
    // Calls without any known price show no cost rather than $0.
    expect(lines[4]).toMatch(/^my-finetune +lab +4 .* +— +— +— +4 +— +— +—$/);
    expect(lines.at(-1)).toBe(
      '3 rows · 1,245 requests · ≥$123.46 (6 unpriced: a lower bound) · 2026-01-14 12:00 → 2026-01-15 12:00 UTC',
    );
  });

  it('says the cost is unknown, not $0, when no call has a known cost', async () => {
    respond = () => ({
      status: 200,
      body: {
        rows: [row({ group: { model: 'gpt-4o' }, requests: 3, costUsd: null, unpricedRequests: 3 })],
        precision: 'exact',
      },
    });
    const io = testIo({ RESKPOINTS_URL: baseUrl, RESKPOINTS_TOKEN: 't' });
    expect((await runCli(['query', 'summary'], io)).exitCode).toBe(0);
    const out = io.out.join('');
    expect(out).not.toContain('$0');
    expect(out.trimEnd().split('\n').at(-1)).toMatch(/^1 row · 3 requests · cost unknown \(3 unpriced\) · /);
  });

  it('prints calls with the next-page hint', async () => {
    const call: Partial<LlmCall> = {
      id: 'demo_1',
      projectId: 'support-bot',
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      operation: 'chat',
      startTimeMs: NOW - 1000,
      latencyMs: 812,
      ttftMs: 240,
      status: 'error',
      errorType: 'rate_limit_exceeded',
      userId: 'user-0007',
      usage: {
        inputTokens: 1200,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        totalTokens: 1200,
      },
      reportedCostUsd: null,
      cost: { ...UNPRICED },
    };
    respond = () => ({ status: 200, body: { items: [call], nextCursor: 'abc' } });
    const io = testIo();
    expect((await runCli(['query', 'calls', '--url', baseUrl, '--limit', '1', '--status', 'error'], io)).exitCode).toBe(
      0,
    );
    expect(seen[0]!.query.get('limit')).toBe('1');
    expect(seen[0]!.query.get('status')).toBe('error');
    const text = io.out.join('');
    expect(text).toMatch(
      /2026-01-15 11:59:59 +support-bot +openai +gpt-4o-mini-2024-07-18 +chat +error: rate_limit_exceeded +812 +240 +1,200 +0 +— +user-0007 +demo_1/,
    );
    expect(text).toContain('More calls: add --cursor abc');
  });

  it("prints the API's error message and exits 1", async () => {
    respond = () => ({
      status: 400,
      body: {
        error: {
          code: 'RP_VALIDATION',
          message: 'invalid query: to: range longer than 400 days',
          issues: [{ path: 'to', message: 'range longer than 400 days' }],
        },
      },
    });
    const io = testIo();
    expect((await runCli(['query', 'summary', '--url', baseUrl, '--since', '500d'], io)).exitCode).toBe(1);
    expect(io.errOut.join('')).toBe(
      'error: HTTP 400 RP_VALIDATION: invalid query: to: range longer than 400 days\n  - to: range longer than 400 days\n',
    );
  });

  it('hints at the token on 401 when none was given', async () => {
    respond = () => ({ status: 401, body: { error: { code: 'RP_UNAUTHORIZED', message: 'missing bearer token' } } });
    const io = testIo();
    expect((await runCli(['query', 'calls', '--url', baseUrl], io)).exitCode).toBe(1);
    expect(io.errOut.join('')).toContain('error: HTTP 401 RP_UNAUTHORIZED: missing bearer token');
    expect(io.errOut.join('')).toContain('hint: pass --token');
  });

  it('explains a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const io = testIo();
    expect((await runCli(['query', 'summary', '--url', `http://127.0.0.1:${port}`], io)).exitCode).toBe(1);
    expect(io.errOut.join('')).toBe(
      `error: cannot reach http://127.0.0.1:${port}: connection refused — is the server running (\`reskpoints start\`)?\n`,
    );
  });
});

describe('reskpoints keys', () => {
  it('creates a project and shows its key once', async () => {
    respond = () => ({
      status: 201,
      body: {
        project: { id: 'support-bot', name: 'Support bot', createdAtMs: NOW },
        apiKey: { id: 'key_1', key: 'rpk_secret', prefix: 'rpk_sec' },
      },
    });
    const io = testIo({ RESKPOINTS_ADMIN_TOKEN: 'admin-tok', RESKPOINTS_TOKEN: 'project-tok' });
    const code = (await runCli(['keys', 'create-project', 'Support bot', '--id', 'support-bot', '--url', baseUrl], io))
      .exitCode;
    expect(code).toBe(0);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/projects',
      auth: 'Bearer admin-tok', // admin commands prefer the admin token
      body: { name: 'Support bot', id: 'support-bot' },
    });
    expect(io.out.join('')).toBe(
      [
        'Created project support-bot (Support bot)',
        'Ingest key (shown only this once; store it now): rpk_secret',
        'Send OpenTelemetry traces with it:',
        `  export OTEL_EXPORTER_OTLP_ENDPOINT=${baseUrl}`,
        '  export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer rpk_secret"',
        '',
      ].join('\n'),
    );

    // --env prints lines a shell can eval.
    const env = testIo({ RESKPOINTS_ADMIN_TOKEN: 'admin-tok' });
    expect((await runCli(['keys', 'create-project', 'Support bot', '--env', '--url', baseUrl], env)).exitCode).toBe(0);
    expect(env.out.join('')).toBe(
      [
        '# project support-bot (Support bot); the key is shown only this once',
        `export RESKPOINTS_URL=${baseUrl}`,
        'export RESKPOINTS_INGEST_KEY=rpk_secret',
        `export OTEL_EXPORTER_OTLP_ENDPOINT=${baseUrl}`,
        'export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer rpk_secret"',
        '',
      ].join('\n'),
    );
  });

  it('lists projects and creates keys, with the token a local server saved', async () => {
    mkdirSync(join(cwd, 'data'));
    writeFileSync(join(cwd, 'data', 'admin-token'), 'saved-admin-token\n');
    respond = (s) =>
      s.method === 'GET'
        ? {
            status: 200,
            body: {
              projects: [
                { id: 'a', name: 'Alpha', createdAtMs: NOW },
                { id: 'search-rag', name: 'search-rag', createdAtMs: NOW - 1000 },
              ],
            },
          }
        : { status: 201, body: { apiKey: { id: 'key_9', key: 'rpk_new', prefix: 'rpk_n' } } };
    const io = testIo({ RESKPOINTS_URL: baseUrl });
    expect((await runCli(['keys', 'list'], io)).exitCode).toBe(0);
    expect(seen[0]!.auth).toBe('Bearer saved-admin-token');
    expect(io.out.join('')).toBe(
      [
        'id          name        created (UTC)',
        '----------  ----------  -------------------',
        'a           Alpha       2026-01-15 12:00:00',
        'search-rag  search-rag  2026-01-15 11:59:59',
        '',
      ].join('\n'),
    );
    const io2 = testIo({ RESKPOINTS_URL: baseUrl });
    expect((await runCli(['keys', 'create', 'search-rag', '--name', 'ci'], io2)).exitCode).toBe(0);
    const posts = () => seen.filter((x) => x.method === 'POST');
    expect(posts()[0]).toMatchObject({ path: '/api/v1/projects/search-rag/keys', body: { name: 'ci' } });
    expect(io2.out.join('')).toContain('rpk_new');
    // A project is also named by its name.
    const byName = testIo({ RESKPOINTS_URL: baseUrl });
    expect((await runCli(['keys', 'create', 'Alpha'], byName)).exitCode).toBe(0);
    expect(posts()[1]).toMatchObject({ path: '/api/v1/projects/a/keys' });
    expect(byName.out.join('')).toContain('Created key key_9 for project a');
    const unknown = testIo({ RESKPOINTS_URL: baseUrl });
    expect((await runCli(['keys', 'create', 'Beta'], unknown)).exitCode).toBe(2);
    expect(unknown.errOut.join('')).toBe(
      'error: project: no project has the id or name "Beta"; projects: Alpha (a), search-rag\n',
    );
    expect(posts()).toHaveLength(2);
    respond = (s) =>
      s.method === 'GET'
        ? { status: 200, body: { projects: [{ id: 'search-rag', name: 'search-rag', createdAtMs: NOW }] } }
        : { status: 201, body: { langfuseKey: { id: 'key_10', publicKey: 'pk-lf-1', secretKey: 'sk-lf-2' } } };
    const io3 = testIo({ RESKPOINTS_URL: baseUrl });
    expect((await runCli(['keys', 'create-langfuse', 'search-rag'], io3)).exitCode).toBe(0);
    expect(posts()[2]).toMatchObject({ method: 'POST', path: '/api/v1/projects/search-rag/langfuse-keys', body: {} });
    expect(io3.out.join('')).toContain('LANGFUSE_PUBLIC_KEY=pk-lf-1\nLANGFUSE_SECRET_KEY=sk-lf-2');
  });

  it('requires an admin token', async () => {
    const io = testIo({ RESKPOINTS_URL: baseUrl });
    expect((await runCli(['keys', 'list'], io)).exitCode).toBe(2);
    expect(io.errOut.join('')).toContain('the admin token is required');
    expect(seen).toHaveLength(0);
  });
});

describe('format', () => {
  it('aligns columns and formats money', () => {
    expect(
      renderTable(
        [{ header: 'a' }, { header: 'n', align: 'right' }],
        [
          ['xx', '1'],
          ['y', '100'],
        ],
      ),
    ).toBe('a     n\n--  ---\nxx    1\ny   100');
    expect(formatUsd(0.5)).toBe('$0.5000');
    expect(formatUsd(1234.5)).toBe('$1,234.50');
    expect(formatUsd(null)).toBe('—');
  });
});
