/**
 * `/api/v1/recommendations` and `/api/v1/chargeback` on a started server (fake clock) with calls
 * ingested through the native API and priced at ingest with two price entries set through the
 * prices API: every amount below is worked out by hand from those prices. The range is exactly
 * 30 days, so monthly amounts equal the range's.
 */
import { FakeClock } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../cli/io.js';
import { runCli } from '../cli/program.js';
import { costModule } from '../cost/module.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { recommendModule } from './module.js';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 5, 30, 12);
const FROM = NOW - 30 * DAY_MS;
const clock = new FakeClock(NOW);
let server: TestServer;
let shopKey: string;
let labKey: string;

/** $10 / $30 per million input / output tokens, cache reads $1, cache writes $12.50. */
const BIG = { input: 10, output: 30, cacheRead: 1, cacheWrite: 12.5 };
/** $1 / $2 per million. */
const SMALL = { input: 1, output: 2 };

const SYSTEM = 'Policy: answer briefly and cite the handbook. '.repeat(9).slice(0, 400);

interface Call {
  id: string;
  timestamp: string;
  provider: string;
  model: string;
  latencyMs: number;
  usage: { inputTokens: number; outputTokens: number };
  prompt?: string;
  status?: 'ok' | 'error';
  error?: { type: string };
  userId?: string;
  sessionId?: string;
  tags?: string[];
  metadata?: Record<string, string | number>;
}

const at = (day: number, minute = 0) => new Date(NOW - day * DAY_MS + minute * 60_000).toISOString();
const call = (
  id: string,
  model: string,
  input: number,
  output: number,
  day: number,
  more: Partial<Call> = {},
): Call => ({
  id,
  timestamp: at(day, more.timestamp ? 0 : 0),
  provider: 'openai',
  model,
  latencyMs: 500,
  usage: { inputTokens: input, outputTokens: output },
  ...more,
});

function shopCalls(): Call[] {
  const calls: Call[] = [];
  // A: ten short prompts on the big model (team search): alice 6 in session sa, bob 4 in sb.
  for (let i = 1; i <= 10; i++)
    calls.push(
      call(`a${i}`, 'big-model', 500, 100, 20, {
        timestamp: at(20, i),
        prompt: `Short question number ${i}?`,
        userId: i <= 6 ? 'alice' : 'bob',
        sessionId: i <= 6 ? 'sa' : 'sb',
        tags: ['team:search', ...(i === 6 ? ['outcome:resolved'] : i === 10 ? ['outcome:escalated'] : [])],
      }),
    );
  // B: six long prompts sharing a 410-character prefix, no cache reads (team support).
  for (let k = 1; k <= 6; k++)
    calls.push(
      call(`b${k}`, 'big-model', 2000, 400, 10, {
        timestamp: at(10, k * 2),
        prompt: `${SYSTEM} question ${k}`,
        tags: ['team:support', ...(k === 1 ? ['outcome:resolved'] : [])],
      }),
    );
  // C: three failed calls (billed for their input); the first is retried 10 s later and succeeds.
  calls.push(
    call('c1', 'big-model', 1000, 0, 5, {
      timestamp: at(5, 0),
      prompt: 'Summarize ticket 1',
      status: 'error',
      error: { type: 'timeout' },
    }),
    call('c1-retry', 'big-model', 1000, 400, 5, {
      timestamp: new Date(Date.parse(at(5, 0)) + 10_000).toISOString(),
      prompt: 'Summarize ticket 1',
    }),
    call('c2', 'big-model', 1000, 0, 4, {
      timestamp: at(4, 0),
      prompt: 'Summarize ticket 2',
      status: 'error',
      error: { type: 'timeout' },
    }),
    call('c3', 'big-model', 1000, 0, 3, {
      timestamp: at(3, 0),
      prompt: 'Summarize ticket 3',
      status: 'error',
      error: { type: 'rate_limit' },
    }),
  );
  // D: the same prompt four times within the hour on the small model: three duplicates.
  for (let j = 0; j < 4; j++)
    calls.push(
      call(`d${j}`, 'small-model', 100, 50, 2, { timestamp: at(2, j * 10), prompt: 'What is the refund policy?' }),
    );
  // E: max_tokens 256: two completions used all of it, one did not.
  calls.push(
    call('e1', 'small-model', 300, 256, 1, {
      timestamp: at(1, 1),
      prompt: 'Write the release notes',
      metadata: { max_tokens: 256 },
    }),
    call('e2', 'small-model', 300, 256, 1, {
      timestamp: at(1, 2),
      prompt: 'Write the changelog',
      metadata: { max_tokens: 256 },
    }),
    call('e3', 'small-model', 300, 100, 1, {
      timestamp: at(1, 3),
      prompt: 'Write a haiku',
      metadata: { max_tokens: 256 },
    }),
  );
  return calls;
}

function labCalls(): Call[] {
  return [
    call('l1', 'small-model', 1000, 500, 7, { prompt: 'Shared research task', tags: ['team:search', 'team:support'] }),
    call('l2', 'small-model', 1000, 500, 6, { prompt: 'Nightly evaluation run' }),
  ];
}

async function req(method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    type: res.headers.get('content-type'),
    body: text.startsWith('{') ? JSON.parse(text) : null,
  };
}

async function ingest(key: string, batch: Call[]) {
  const r = await req('POST', '/api/v1/ingest', { batch }, key);
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  server = await startTestServer(
    { recommend: { downgrades: { 'big-model': 'small-model' } } },
    { clock, modules: [costModule, recommendModule] },
  );
  for (const [id, model, r] of [
    [
      'big',
      'big-model',
      {
        inputPerMtokUsd: BIG.input,
        outputPerMtokUsd: BIG.output,
        cacheReadPerMtokUsd: BIG.cacheRead,
        cacheWritePerMtokUsd: BIG.cacheWrite,
      },
    ],
    ['small', 'small-model', { inputPerMtokUsd: SMALL.input, outputPerMtokUsd: SMALL.output }],
  ] as const) {
    const res = await req('POST', '/api/v1/prices', {
      id,
      provider: '*',
      match: [{ kind: 'exact', value: model }],
      effectiveFrom: '2020-01-01',
      rates: r,
    });
    expect(res.status, res.text).toBe(201);
  }
  shopKey = (await server.createProject('Shop', 'shop')).key;
  labKey = (await server.createProject('Lab', 'lab')).key;
  await ingest(shopKey, shopCalls());
  await ingest(labKey, labCalls());
});
afterAll(async () => {
  await server?.stop();
});

const range = `from=${FROM}&to=${NOW}`;
const byKind = (recs: any[], kind: string) => recs.filter((r) => r.kind === kind);

describe('GET /api/v1/recommendations', () => {
  it('quantifies each finding in dollars per month from the stored calls and the price book', async () => {
    const r = await req('GET', `/api/v1/recommendations?${range}&project=shop`);
    expect(r.status, r.text).toBe(200);
    const b = r.body;
    expect(b.monthFactor).toBe(1);
    expect(b.callsAnalyzed).toBe(27);
    expect(b.unpricedCalls).toBe(0);
    // 10 × $0.008 + 6 × $0.032 + 3 × $0.01 + $0.022 + 4 × $0.0002 + 2 × $0.000812 + $0.0005
    expect(b.totalSpendUsd).toBeCloseTo(0.326924, 9);

    const [cheaper] = byKind(b.recommendations, 'cheaper-model');
    // Ten calls of 500 in / 100 out: $0.008 each on big-model, $0.0007 each on small-model.
    expect(cheaper).toMatchObject({ projectId: 'shop', model: 'big-model', calls: 10 });
    expect(cheaper.evidence.candidateModel).toBe('small-model');
    expect(cheaper.affectedUsdPerMonth).toBeCloseTo(0.08, 9);
    expect(cheaper.savingsUsdPerMonth).toBeCloseTo(0.073, 9);

    const [caching] = byKind(b.recommendations, 'prompt-caching');
    // 410 shared characters = 102 tokens; five calls read them at $1 instead of $10 a million,
    // the first writes them at $12.50 instead of $10.
    expect(caching).toMatchObject({ projectId: 'shop', model: 'big-model', calls: 6 });
    expect(caching.evidence.prefixTokens).toBe(102);
    expect(caching.savingsUsdPerMonth).toBeCloseTo((5 * 102 * 9 - 102 * 2.5) / 1e6, 9);

    const [errors] = byKind(b.recommendations, 'errors');
    expect(errors).toMatchObject({ projectId: 'shop', calls: 3 });
    expect(errors.evidence).toMatchObject({ failedCalls: 3, retried: 1 });
    expect(errors.savingsUsdPerMonth).toBeCloseTo(0.03, 9);
    expect(errors.detail).toContain('timeout 2, rate_limit 1');

    const [dups] = byKind(b.recommendations, 'duplicate-requests');
    expect(dups).toMatchObject({ projectId: 'shop', model: 'small-model', calls: 3 });
    expect(dups.savingsUsdPerMonth).toBeCloseTo(0.0006, 9);

    const [cut] = byKind(b.recommendations, 'truncated-completions');
    // 300 in × $1 + 256 out × $2 per million = $0.000812 each.
    expect(cut).toMatchObject({ projectId: 'shop', model: 'small-model', calls: 2 });
    expect(cut.savingsUsdPerMonth).toBeCloseTo(0.001624, 9);

    expect(b.recommendations).toHaveLength(5);
    // Largest saving first.
    expect(b.recommendations.map((x: any) => x.kind)).toEqual([
      'cheaper-model',
      'errors',
      'prompt-caching',
      'truncated-completions',
      'duplicate-requests',
    ]);
    expect(b.notes).toEqual([]);
  });

  it('scores token efficiency per project with its drivers', async () => {
    const r = await req('GET', `/api/v1/recommendations?${range}`);
    const shop = r.body.efficiency.find((e: any) => e.projectId === 'shop');
    const waste = 0.073 + 0.004335 + 0.03 + 0.0006 + 0.001624;
    expect(shop.spendUsdPerMonth).toBeCloseTo(0.326924, 9);
    expect(shop.wasteUsdPerMonth).toBeCloseTo(waste, 9);
    expect(shop.score).toBe(Math.round(100 * (1 - waste / 0.326924)));
    expect(shop.drivers[0]).toMatchObject({ kind: 'cheaper-model' });
    expect(shop.drivers[0].shareOfSpend).toBeCloseTo(0.073 / 0.326924, 9);
    expect(shop.errorRate).toBeCloseTo(3 / 27, 9);
    // Nothing found for the lab: 100.
    const lab = r.body.efficiency.find((e: any) => e.projectId === 'lab');
    expect(lab).toMatchObject({ score: 100, wasteUsdPerMonth: 0, drivers: [] });
  });

  it('reports cost per user, per session and per outcome tag', async () => {
    const r = await req('GET', `/api/v1/recommendations?${range}&project=shop`);
    expect(r.body.costPerUser).toEqual([
      { key: 'alice', costUsd: 0.048, calls: 6, sessions: 1, costPerCallUsd: 0.008 },
      { key: 'bob', costUsd: 0.032, calls: 4, sessions: 1, costPerCallUsd: 0.008 },
    ]);
    expect(r.body.costPerSession.map((s: any) => [s.key, s.userId, s.costUsd])).toEqual([
      ['sa', 'alice', 0.048],
      ['sb', 'bob', 0.032],
    ]);
    // resolved: session sa ($0.048) and the session-less call b1 ($0.032); escalated: session sb.
    expect(r.body.costPerOutcome).toEqual([
      { outcome: 'resolved', costUsd: 0.08, outcomes: 2, costPerOutcomeUsd: 0.04 },
      { outcome: 'escalated', costUsd: 0.032, outcomes: 1, costPerOutcomeUsd: 0.032 },
    ]);
  });

  it('says when max_tokens is not stored, and scopes a project key to its project', async () => {
    const r = await req('GET', `/api/v1/recommendations?${range}`, undefined, labKey);
    expect(r.status).toBe(200);
    expect(r.body.callsAnalyzed).toBe(2);
    expect(r.body.recommendations).toEqual([]);
    expect(r.body.notes[0]).toMatch(/max_tokens is not stored/);
    const other = await req('GET', `/api/v1/recommendations?${range}&project=shop`, undefined, labKey);
    expect(other.status).toBe(400);
    expect(other.text).toContain('this key can only read its own project');
  });

  it('scales to a month: the same calls over 15 days are worth twice as much a month', async () => {
    const r = await req('GET', `/api/v1/recommendations?from=${NOW - 15 * DAY_MS}&to=${NOW}&project=shop`);
    expect(r.body.monthFactor).toBe(2);
    const [errors] = byKind(r.body.recommendations, 'errors');
    expect(errors.savingsUsdPerMonth).toBeCloseTo(0.06, 9);
  });

  it('refuses a bad range, naming it', async () => {
    const r = await req('GET', '/api/v1/recommendations?from=yesterday');
    expect(r.status).toBe(400);
    expect(r.text).toContain('from');
    const back = await req('GET', `/api/v1/recommendations?from=${NOW}&to=${FROM}`);
    expect(back.status).toBe(400);
    expect(back.text).toContain('must be after from');
  });
});

describe('GET /api/v1/chargeback', () => {
  // Direct: search = A ($0.08) + half of l1 ($0.001); support = B ($0.192) + half of l1.
  const search = 0.081;
  const support = 0.193;
  // Untagged: C ($0.052), D ($0.0008), E ($0.002124), l2 ($0.002).
  const shared = 0.056924;
  const total = search + support + shared;

  it('allocates shared spend in proportion to direct spend', async () => {
    const r = await req('GET', `/api/v1/chargeback?${range}`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.totalUsd).toBeCloseTo(total, 9);
    expect(r.body.sharedUsd).toBeCloseTo(shared, 9);
    expect(r.body.unallocatedUsd).toBe(0);
    const [sup, sea] = r.body.rows;
    expect(sup).toMatchObject({ team: 'support', calls: 7 });
    expect(sup.directUsd).toBeCloseTo(support, 9);
    expect(sup.sharedUsd).toBeCloseTo((shared * support) / (search + support), 6);
    expect(sea).toMatchObject({ team: 'search', calls: 11 });
    expect(sea.totalUsd).toBeCloseTo(search + (shared * search) / (search + support), 6);
    expect(sup.share + sea.share).toBeCloseTo(1, 9);
  });

  it('splits shared spend evenly on request, and writes CSV with the same numbers', async () => {
    const r = await req('GET', `/api/v1/chargeback?${range}&method=even&format=csv`);
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/csv');
    const lines = r.text.trim().split('\n');
    expect(lines[0]).toBe('team,direct_usd,shared_usd,total_usd,share,calls');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.map((x) => x[0])).toEqual(['support', 'search']);
    for (const row of rows) expect(Number(row[2])).toBeCloseTo(shared / 2, 6);
    expect(Number(rows[0]?.[3])).toBeCloseTo(support + shared / 2, 6);
  });

  it('takes another tag prefix, and leaves shared spend unallocated when no call has it', async () => {
    const r = await req('GET', `/api/v1/chargeback?${range}&tagPrefix=cost-center:`);
    expect(r.body.rows).toEqual([]);
    expect(r.body.unallocatedUsd).toBeCloseTo(total, 9);
  });
});

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (x) => void out.push(x) },
    stderr: { write: (x) => void err.push(x) },
    env: {},
    cwd: process.cwd(),
    clock,
    fetch: globalThis.fetch,
    onSignal: () => {},
    exit: (code) => {
      throw new Error(`exit(${code})`);
    },
  };
  const r = await runCli([...args, '--url', server.url, '--token', ADMIN_TOKEN], io);
  return { code: r.exitCode, out: out.join(''), err: err.join('') };
}

describe('reskpoints recommendations and chargeback', () => {
  it('prints each saving per month, the efficiency per project and cost per outcome', async () => {
    const r = await cli(['recommendations', '--from', String(FROM), '--to', String(NOW), '--project', 'shop']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const first = r.out.split('\n').find((l) => l.includes('cheaper-model'));
    expect(first).toMatch(/^\s*\$0\.0730\s+cheaper-model\s+shop\s+10\s+Use small-model instead of big-model/);
    expect(r.out).toMatch(/shop\s+66\/100\s+\$0\.3269\s+\$0\.1096/);
    expect(r.out).toMatch(/resolved\s+\$0\.0800\s+2\s+\$0\.0400/);
  });

  it('prints the chargeback as a table and as the API’s CSV', async () => {
    const table = await cli(['chargeback', '--from', String(FROM), '--to', String(NOW)]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/support\s+\$0\.1930/);
    const csv = await cli([
      'chargeback',
      '--from',
      String(FROM),
      '--to',
      String(NOW),
      '--format',
      'csv',
      '--method',
      'even',
    ]);
    const api = await req('GET', `/api/v1/chargeback?${range}&method=even&format=csv`);
    expect(csv.out).toBe(api.text);
  });

  it('refuses bad options', async () => {
    const r = await cli(['chargeback', '--method', 'fair', '--format', 'xml', '--from', 'last tuesday']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--method: expected proportional or even');
    expect(r.err).toContain('--format: expected table, csv or json');
    expect(r.err).toContain('--from: expected RFC 3339');
  });
});
