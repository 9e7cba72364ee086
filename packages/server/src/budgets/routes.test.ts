/**
 * `/api/v1/budgets` on a started server (fake clock): bad definitions refused with every problem
 * named, who may read and write what, create/replace/delete, the status after an evaluation,
 * and the `reskpoints budgets` commands against it.
 */
import { FakeClock } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/program.js';
import { costModule } from '../cost/module.js';
import { quotaModule } from '../quota/module.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { budgetsModule } from './module.js';

const T0 = Date.UTC(2026, 10, 12, 15);

let server: TestServer;
let shopKey: string;
let otherKey: string;
const clock = new FakeClock(T0);

beforeAll(async () => {
  server = await startTestServer(
    {},
    { clock, modules: [costModule, quotaModule, budgetsModule], schedulerTickMs: 3_600_000 },
  );
  shopKey = (await server.createProject('Shop', 'shop')).key;
  otherKey = (await server.createProject('Other', 'other')).key;
});
afterAll(async () => {
  await server?.stop();
});

async function req(method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as any };
}

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const r = await runCli([...args, '--url', server.url, '--token', ADMIN_TOKEN], {
    stdout: { write: (t: string) => void out.push(t) },
    stderr: { write: (t: string) => void err.push(t) },
    env: {},
    cwd: process.cwd(),
    clock,
    fetch: globalThis.fetch,
    onSignal: () => {},
    exit: () => {},
  });
  return { code: r.exitCode, out: out.join(''), err: err.join('') };
}

/**
 * Runs jobs until every budget's status is from an evaluation at the clock's time (one woken by
 * a route or a commit may already be under way, started earlier).
 */
async function settle() {
  for (let i = 0; i < 100; i++) {
    await server.app.tickJobs();
    const list = (await req('GET', '/api/v1/budgets')).body.budgets as any[];
    if (list.every((b) => b.status?.evaluatedAtMs === clock.nowMs())) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('budgets were not evaluated');
}

const good = { scope: { project: 'shop' }, period: 'monthly', amountUsd: 100 };

describe('budget routes', () => {
  it('refuses a bad definition naming every problem', async () => {
    const r = await req('PUT', '/api/v1/budgets/bad', {
      scope: { project: 'shop', team: 'x' },
      period: 'yearly',
      timeZone: 'Mars/Olympus',
      amountUsd: -5,
      thresholds: [{ kind: 'percent', percent: 0 }, { kind: 'burn-rate', window: '2y', rate: 10 }, { kind: 'gut' }],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('RP_VALIDATION');
    const paths = (r.body.error.issues as any[]).map((i) => i.path).sort();
    expect(paths).toEqual(
      expect.arrayContaining(
        [
          'amountUsd',
          'period',
          'scope',
          'thresholds.0.percent',
          'thresholds.1.window',
          'thresholds.2.kind',
          'timeZone',
        ].map((p) => `body.${p}`),
      ),
    );
    expect(r.body.error.message).toMatch(/amountUsd/);

    // Problems only seen once the fields are each valid: duplicates, windows, actions.
    const r2 = await req('PUT', '/api/v1/budgets/bad', {
      scope: { project: 'shop', model: ['a', 'b'], environment: 'prod' },
      period: { kind: 'custom', start: '2026-02-30', length: '0d' },
      amountUsd: 10,
      thresholds: [
        { kind: 'percent', percent: 80 },
        { kind: 'percent', percent: 80, action: { kind: 'block' } },
        { kind: 'burn-rate', window: '1h', shortWindow: '2h', rate: 5 },
      ],
    });
    expect(r2.status).toBe(400);
    const messages = (r2.body.error.issues as any[]).map((i) => `${i.path}: ${i.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^body.period.start: expected a local date/),
        expect.stringMatching(/^body.period.length: expected a length/),
      ]),
    );
    const r3 = await req('PUT', '/api/v1/budgets/bad', {
      scope: { project: 'shop', model: ['a', 'b'], environment: 'prod' },
      period: 'daily',
      amountUsd: 10,
      thresholds: [
        { kind: 'percent', percent: 80 },
        { kind: 'percent', percent: 80, action: { kind: 'block' } },
        { kind: 'burn-rate', window: '1h', shortWindow: '2h', rate: 5 },
      ],
    });
    expect(r3.status).toBe(400);
    const m3 = (r3.body.error.issues as any[]).map((i) => `${i.path}: ${i.message}`);
    expect(m3).toEqual([
      'body.thresholds.1: threshold percent-80 is given twice',
      "body.thresholds.1.action: quotas act on project, user and model only; this budget's scope has environment",
      "body.thresholds.1.action: a quota takes one model; this budget's scope lists 2",
      'body.thresholds.2.shortWindow: must be shorter than window (1h)',
    ]);

    expect((await req('PUT', '/api/v1/budgets/Bad%20Id', good)).status).toBe(400);
    expect((await req('POST', '/api/v1/budgets', good)).body.error.message).toMatch(/id/);
    expect((await req('GET', '/api/v1/budgets/nope')).status).toBe(404);
    expect((await req('GET', '/api/v1/budgets/nope/events?limit=0')).status).toBe(400);
    expect((await req('DELETE', '/api/v1/budgets/nope')).status).toBe(404);
  });

  it('creates, replaces, reads with a project key, evaluates and deletes', async () => {
    expect((await req('POST', '/api/v1/budgets', { ...good, id: 'shop-monthly' }, shopKey)).status).toBe(403);
    const created = await req('POST', '/api/v1/budgets', { ...good, id: 'shop-monthly', name: 'Shop' });
    expect(created.status).toBe(201);
    expect(created.body.budget).toMatchObject({
      id: 'shop-monthly',
      name: 'Shop',
      scope: { project: ['shop'] },
      period: { kind: 'monthly' },
      timeZone: 'UTC',
      amountUsd: 100,
      enabled: true,
      createdAtMs: T0,
    });
    expect(created.body.budget.thresholds.map((t: any) => t.id)).toEqual(['percent-50', 'percent-80', 'percent-100']);
    expect((await req('POST', '/api/v1/budgets', { ...good, id: 'shop-monthly' })).status).toBe(409);
    await req('PUT', '/api/v1/budgets/everything', { period: 'weekly', amountUsd: 1000, timeZone: 'Europe/Berlin' });
    await server.app.tickJobs();

    // A $50 call (20M gpt-4o input tokens), then an evaluation (woken by its commit).
    clock.advance(10_000);
    const ingest = await fetch(`${server.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${shopKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        batch: [
          {
            id: 'c1',
            timestamp: new Date(T0 - 60_000).toISOString(),
            provider: 'openai',
            model: 'gpt-4o',
            latencyMs: 200,
            usage: { inputTokens: 20_000_000, outputTokens: 0 },
          },
        ],
      }),
    });
    expect(ingest.status).toBe(200);
    await settle();

    const list = (await req('GET', '/api/v1/budgets')).body.budgets as any[];
    expect(list.map((b) => b.id)).toEqual(['everything', 'shop-monthly']);
    const shop = list[1];
    expect(shop.status).toMatchObject({
      state: 'active',
      periodStartMs: Date.UTC(2026, 10, 1),
      periodEndMs: Date.UTC(2026, 11, 1),
      spendUsd: 50,
      percentUsed: 50,
    });
    // Crossed at the evaluation that first read the call: one woken by its commit, or one
    // already under way (started at T0) whose read came after the commit.
    expect(shop.status.thresholds.map((t: any) => [t.id, t.active, t.crossedAtMs !== null])).toEqual([
      ['percent-50', true, true],
      ['percent-80', false, false],
      ['percent-100', false, false],
    ]);
    expect([T0, T0 + 10_000]).toContain(shop.status.thresholds[0].crossedAtMs);
    expect(shop.status.evaluatedAtMs).toBe(T0 + 10_000);
    expect(list[0].status.periodStartMs).toBe(Date.UTC(2026, 10, 8, 23)); // Monday 00:00 in Berlin
    // The project's key sees its budget only; another project's key sees none of it.
    expect((await req('GET', '/api/v1/budgets', undefined, shopKey)).body.budgets.map((b: any) => b.id)).toEqual([
      'shop-monthly',
    ]);
    expect((await req('GET', '/api/v1/budgets', undefined, otherKey)).body.budgets).toEqual([]);
    expect((await req('GET', '/api/v1/budgets/shop-monthly', undefined, otherKey)).status).toBe(404);
    const one = (await req('GET', '/api/v1/budgets/shop-monthly', undefined, shopKey)).body;
    expect(one.events.map((e: any) => [e.thresholdId, e.spendUsd, e.message])).toEqual([
      ['percent-50', 50, 'spend reached 50% of the budget ($50.00 of $100.00)'],
    ]);

    // Replacing keeps the creation time and this period's events: 50% does not fire again.
    clock.advance(10_000);
    const replaced = await req('PUT', '/api/v1/budgets/shop-monthly', { ...good, amountUsd: 90 });
    expect(replaced.body).toMatchObject({ created: false, budget: { amountUsd: 90, createdAtMs: T0 } });
    await settle();
    const events = (await req('GET', '/api/v1/budgets/shop-monthly/events?period=current')).body.events as any[];
    expect(events.map((e) => e.thresholdId)).toEqual(['percent-50']);

    // The CLI.
    const ls = await cli('budgets', 'list');
    expect(ls.code).toBe(0);
    expect(ls.out).toMatch(/shop-monthly\s+monthly UTC\s+project=shop\s+\$90\.00\s+\$50\.00\s+55\.6%/);
    const st = await cli('budgets', 'status', 'shop-monthly');
    expect(st.code).toBe(0);
    expect(st.out).toContain('$50.00 of $90.00');
    expect(st.out).toMatch(/percent-50\s+50%\s+\$45\.00\s+yes\s+2026-11-12 15:00/);
    const ev = await cli('budgets', 'events', 'shop-monthly');
    expect(ev.out).toMatch(/percent-50\s+\$50\.00\s+spend reached 50%/);
    const set = await cli(
      'budgets',
      'set',
      'gpt4o-daily',
      '--amount',
      '20',
      '--period',
      'daily',
      '--tz',
      'America/New_York',
      '--model',
      'gpt-4o',
      '--threshold',
      '80%',
      '--threshold',
      'forecast:100%',
      '--threshold',
      'burn:1h:14.4@block',
    );
    expect(set.err).toBe('');
    expect(set.out).toContain('Created budget gpt4o-daily: $20.00 daily in America/New_York, scope model=gpt-4o');
    expect(set.out).toContain('burn-1h-14.4 (burn 14.4× over 1h → block)');
    const badSet = await cli('budgets', 'set', 'x', '--threshold', '80', '--period', 'hourly');
    expect(badSet.code).toBe(2);
    expect(badSet.err).toContain('--threshold "80": expected');
    expect(badSet.err).toContain('--amount: required');
    const badServer = await cli('budgets', 'set', 'x', '--amount', '5', '--period', 'hourly');
    expect(badServer.code).toBe(1);
    expect(badServer.err).toMatch(/period/);
    expect((await cli('budgets', 'delete', 'gpt4o-daily')).out).toContain('Deleted budget gpt4o-daily');

    expect((await req('DELETE', '/api/v1/budgets/shop-monthly')).body).toEqual({ deleted: true });
    expect((await req('GET', '/api/v1/budgets/shop-monthly')).status).toBe(404);
  });
});

describe('budgets without the quota module', () => {
  it('evaluates budgets and refuses actions, which need quotas', async () => {
    const c = new FakeClock(T0);
    const s = await startTestServer({}, { clock: c, modules: [costModule, budgetsModule] });
    try {
      const put = (body: unknown) =>
        fetch(`${s.url}/api/v1/budgets/b`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const refused = await put({
        ...good,
        thresholds: [{ kind: 'percent', percent: 100, action: { kind: 'block' } }],
      });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as any).error.message).toContain(
        'body.thresholds.0.action: actions need the quota module',
      );
      expect((await put(good)).status).toBe(200);
      await s.app.tickJobs();
      const res = await fetch(`${s.url}/api/v1/budgets/b`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(((await res.json()) as any).status).toMatchObject({ state: 'active', spendUsd: 0 });
    } finally {
      await s.stop();
    }
  });
});
