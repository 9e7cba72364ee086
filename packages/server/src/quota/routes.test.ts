/**
 * `/api/v1/quota/reserve|settle`, `/api/v1/quotas` and `/api/v1/quotas/usage` on a started
 * server (in-process accounting, a fake clock), and the `reskpoints quotas` commands against it.
 */
import { FakeClock } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../cli/io.js';
import { runCli } from '../cli/program.js';
import { costModule } from '../cost/module.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { quotaModule } from './module.js';

const T0 = Date.UTC(2026, 10, 2, 12);

let server: TestServer;
let shopKey: string;
let otherKey: string;
const clock = new FakeClock(T0);

beforeAll(async () => {
  server = await startTestServer({}, { clock, modules: [costModule, quotaModule] });
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
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const putQuota = (id: string, body: Record<string, unknown>) => req('PUT', `/api/v1/quotas/${id}`, body);
const reserve = (body: Record<string, unknown>, token = shopKey) => req('POST', '/api/v1/quota/reserve', body, token);
const settle = (body: Record<string, unknown>, token = shopKey) => req('POST', '/api/v1/quota/settle', body, token);
const usageOf = async (id: string, token = ADMIN_TOKEN) =>
  ((await req('GET', '/api/v1/quotas/usage', undefined, token)).body.quotas as any[]).find((q) => q.quota.id === id);

describe('quota routes', () => {
  it('refuses bad definitions with the field at fault', async () => {
    const r1 = await putQuota('bad', { metric: 'dollars', limit: 5, windowMs: 60_000 });
    expect(r1.status).toBe(400);
    expect(r1.body.error.code).toBe('RP_VALIDATION');
    expect(r1.body.error.message).toContain('metric');
    const r2 = await putQuota('bad', { metric: 'tokens', limit: 5, windowMs: 10 });
    expect(r2.status).toBe(400);
    expect(r2.body.error.message).toContain('windowMs');
    const r3 = await putQuota('bad', { metric: 'tokens', limit: 5, windowMs: 60_000, scope: { team: 'x' } });
    expect(r3.status).toBe(400);
    expect(r3.body.error.message).toMatch(/team/);
    const r4 = await putQuota('Bad Id', { metric: 'tokens', limit: 5, windowMs: 60_000 });
    expect(r4.status).toBe(400);
    expect(r4.body.error.message).toContain('lower-case');
    const r5 = await req('PUT', '/api/v1/quotas/x', { metric: 'tokens', limit: 5, windowMs: 60_000 }, shopKey);
    expect(r5.status).toBe(403);
    expect((await req('DELETE', '/api/v1/quotas/nope')).status).toBe(404);
  });

  it('grants a reservation with its worst case priced from the price book and the RateLimit headers', async () => {
    expect(
      (
        await putQuota('shop-cost', {
          description: 'shop: $1 a day on gpt-4o',
          scope: { project: 'shop', model: 'gpt-4o' },
          metric: 'costUsd',
          limit: 1,
          windowMs: 86_400_000,
        })
      ).status,
    ).toBe(200);
    const r = await reserve({ model: 'gpt-4o', inputTokens: 1_000, maxTokens: 500 });
    expect(r.status).toBe(200);
    // gpt-4o: $2.50 per million input, $10 per million output: 1000 × 2.5e-6 + 500 × 1e-5.
    expect(r.body.worstCase).toEqual({ requests: 1, tokens: 1_500, costUsd: expect.closeTo(0.0075, 12) });
    expect(r.body.reservationId).toMatch(/^rsv_/);
    expect(r.body.expiresAtMs).toBe(T0 + 300_000);
    expect(r.body.quotas).toEqual([
      {
        quotaId: 'shop-cost',
        counter: 'shop-cost',
        metric: 'costUsd',
        limit: 1,
        remaining: expect.closeTo(0.9925, 12),
        resetSeconds: 43_200,
      },
    ]);
    expect(r.headers.get('ratelimit-policy')).toBe('"shop-cost";q=1000000;w=86400;qu="usd-micros"');
    expect(r.headers.get('ratelimit')).toBe('"shop-cost";r=992500;t=43200');
    // Settled with what it cost: 1000 input, 100 output = $0.0035; the rest is released.
    const s = await settle({ reservationId: r.body.reservationId, inputTokens: 1_000, outputTokens: 100 });
    expect(s).toMatchObject({ status: 200, body: { settled: true, actual: { requests: 1, tokens: 1_100 } } });
    expect(s.body.actual.costUsd).toBeCloseTo(0.0035, 12);
    const u = await usageOf('shop-cost');
    expect(u.counters).toHaveLength(1);
    expect(u.counters[0]).toMatchObject({ counter: 'shop-cost', reserved: 0, dimensions: {} });
    expect(u.counters[0].settled).toBeCloseTo(0.0035, 12);
    expect(u.counters[0].remaining).toBeCloseTo(0.9965, 12);
    // Other models and projects are not drawn on.
    const other = await reserve({ model: 'gpt-4o-mini', inputTokens: 10, maxTokens: 10 });
    expect(other.body.quotas).toEqual([]);
    expect(other.headers.get('ratelimit-policy')).toBeNull();
    await req('DELETE', '/api/v1/quotas/shop-cost');
  });

  it('answers 429 with Retry-After and RateLimit headers once a request quota is spent', async () => {
    await putQuota('shop-rpm', { scope: { project: 'shop' }, metric: 'requests', limit: 2, windowMs: 60_000 });
    clock.set(T0 + 3_600_000 + 10_000);
    const a = await reserve({ model: 'gpt-4o', inputTokens: 10, maxTokens: 10 });
    const b = await reserve({ model: 'gpt-4o', inputTokens: 10, maxTokens: 10 });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.headers.get('ratelimit')).toBe('"shop-rpm";r=0;t=50');
    const c = await reserve({ model: 'gpt-4o', inputTokens: 10, maxTokens: 10 });
    expect(c.status).toBe(429);
    expect(c.body.error.code).toBe('RP_QUOTA_EXCEEDED');
    expect(c.body.error.message).toContain('quota shop-rpm');
    expect(c.headers.get('retry-after')).toBe('50');
    expect(c.headers.get('ratelimit-policy')).toBe('"shop-rpm";q=2;w=60;qu="requests"');
    expect(c.headers.get('ratelimit')).toBe('"shop-rpm";r=0;t=50');
    // Settling does not give a request back: both calls were made.
    await settle({ reservationId: a.body.reservationId, inputTokens: 10, outputTokens: 1 });
    expect((await reserve({ model: 'gpt-4o', inputTokens: 10, maxTokens: 10 })).status).toBe(429);
    // Another project is not limited by shop's quota.
    expect((await reserve({ model: 'gpt-4o', inputTokens: 10, maxTokens: 10 }, otherKey)).status).toBe(200);
    clock.advance(50_000);
    expect((await reserve({ model: 'gpt-4o', inputTokens: 10, maxTokens: 10 })).status).toBe(200);
    await req('DELETE', '/api/v1/quotas/shop-rpm');
  });

  it('releases the difference on settle and keeps a separate counter per user with "*"', async () => {
    await putQuota('per-user-tokens', {
      scope: { project: 'shop', user: '*' },
      metric: 'tokens',
      limit: 10_000,
      windowMs: 3_600_000,
      window: 'sliding',
    });
    clock.set(T0 + 2 * 3_600_000);
    const a = await reserve({ model: 'gpt-4o', inputTokens: 1_000, maxTokens: 4_000, user: 'alice' });
    expect(a.body.quotas[0]).toMatchObject({ counter: 'per-user-tokens|user=alice', remaining: 5_000 });
    const tooMuch = await reserve({ model: 'gpt-4o', inputTokens: 2_000, maxTokens: 4_000, user: 'alice' });
    expect(tooMuch.status).toBe(429);
    // Bob has his own counter.
    const bob = await reserve({ model: 'gpt-4o', inputTokens: 2_000, maxTokens: 4_000, user: 'bob' });
    expect(bob.body.quotas[0]).toMatchObject({ counter: 'per-user-tokens|user=bob', remaining: 4_000 });
    // Alice's call used 1500 tokens: 3500 of the 5000 reserved go back.
    await settle({ reservationId: a.body.reservationId, inputTokens: 1_000, outputTokens: 500 });
    const again = await reserve({ model: 'gpt-4o', inputTokens: 2_000, maxTokens: 4_000, user: 'alice' });
    expect(again.status).toBe(200);
    expect(again.body.quotas[0].remaining).toBe(2_500);
    const u = await usageOf('per-user-tokens');
    expect(
      u.counters.map((c: any) => [c.dimensions.user, c.used, c.reserved, c.settled, c.remaining, c.utilization]),
    ).toEqual([
      ['alice', 7_500, 6_000, 1_500, 2_500, 0.75],
      ['bob', 6_000, 6_000, 0, 4_000, 0.6],
    ]);
    expect(u.maxUtilization).toBe(0.75);
    // A settle twice is refused.
    const twice = await settle({ reservationId: a.body.reservationId, inputTokens: 1, outputTokens: 1 });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('RP_CONFLICT');
  });

  it('expires unsettled reservations, charging their worst case', async () => {
    await putQuota('key-tokens', { scope: { key: '*' }, metric: 'tokens', limit: 1_000, windowMs: 86_400_000 });
    clock.set(T0 + 86_400_000);
    const r = await reserve({ model: 'gpt-4o', inputTokens: 100, maxTokens: 300, ttlMs: 5_000 });
    expect(r.status).toBe(200);
    expect(r.body.quotas.find((q: any) => q.quotaId === 'key-tokens').counter).toMatch(/^key-tokens\|key=/);
    clock.advance(6_000);
    const late = await settle({ reservationId: r.body.reservationId, inputTokens: 100, outputTokens: 1 });
    expect(late.status).toBe(409);
    expect(late.body.error.message).toContain('expired');
    const u = await usageOf('key-tokens');
    expect(u.counters[0]).toMatchObject({ reserved: 0, settled: 400, remaining: 600 });
    // 601 no longer fits; 600 does.
    expect((await reserve({ model: 'gpt-4o', inputTokens: 1, maxTokens: 600 })).status).toBe(429);
    expect((await reserve({ model: 'gpt-4o', inputTokens: 0, maxTokens: 600 })).status).toBe(200);
    await req('DELETE', '/api/v1/quotas/key-tokens');
  });

  it('names the problem in bad reserve and settle requests', async () => {
    await putQuota('model-cost', { scope: { model: '*' }, metric: 'costUsd', limit: 0.01, windowMs: 60_000 });
    const noModel = await reserve({ inputTokens: 1, maxTokens: 1 });
    expect(noModel.status).toBe(400);
    expect(noModel.body.error.message).toContain('model');
    const negative = await reserve({ model: 'gpt-4o', inputTokens: -1, maxTokens: 1 });
    expect(negative.status).toBe(400);
    expect(negative.body.error.message).toContain('inputTokens');
    const unpriced = await reserve({ model: 'no-such-model-x', inputTokens: 1, maxTokens: 1 });
    expect(unpriced.status).toBe(400);
    expect(unpriced.body.error.message).toContain('no-such-model-x has no price');
    const huge = await reserve({ model: 'gpt-4o', inputTokens: 1_000, maxTokens: 100_000 });
    expect(huge.status).toBe(400);
    expect(huge.body.error.message).toContain('lower max_tokens');
    const adminNoProject = await reserve({ model: 'gpt-4o', inputTokens: 1, maxTokens: 1 }, ADMIN_TOKEN);
    expect(adminNoProject.status).toBe(400);
    expect(adminNoProject.body.error.message).toContain('projectId');
    const wrongProject = await reserve({ projectId: 'other', model: 'gpt-4o', inputTokens: 1, maxTokens: 1 });
    expect(wrongProject.status).toBe(403);
    const badId = await settle({ reservationId: 'nope', inputTokens: 1, outputTokens: 1 });
    expect(badId.status).toBe(400);
    expect(badId.body.error.message).toContain('reservationId');
    const ok = await reserve({ model: 'gpt-4o', inputTokens: 10, maxTokens: 10 });
    const foreign = await settle({ reservationId: ok.body.reservationId, inputTokens: 1, outputTokens: 1 }, otherKey);
    expect(foreign.status).toBe(403);
    const noAuth = await fetch(`${server.url}/api/v1/quota/reserve`, { method: 'POST' });
    expect(noAuth.status).toBe(401);
    await req('DELETE', '/api/v1/quotas/model-cost');
  });

  it('shows a project key only the quotas of its project', async () => {
    const shopView = (await req('GET', '/api/v1/quotas/usage', undefined, shopKey)).body.quotas.map(
      (q: any) => q.quota.id,
    );
    expect(shopView).toEqual(['per-user-tokens']);
    const otherView = (await req('GET', '/api/v1/quotas/usage', undefined, otherKey)).body.quotas;
    expect(otherView).toEqual([]);
    expect((await req('GET', '/api/v1/quotas', undefined, shopKey)).status).toBe(403);
  });
});

function io(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: {
      write: (s: string) => {
        out += s;
      },
    },
    stderr: {
      write: (s: string) => {
        err += s;
      },
    },
    env: { RESKPOINTS_URL: server.url, RESKPOINTS_TOKEN: ADMIN_TOKEN },
    cwd: process.cwd(),
    clock,
    fetch: globalThis.fetch,
    onSignal: () => {},
    exit: () => {},
    out: () => out,
    err: () => err,
  };
}

describe('reskpoints quotas', () => {
  it('sets, lists, shows usage of and deletes quotas', async () => {
    const set = io();
    const r = await runCli(
      ['quotas', 'set', 'cli-rpm', '--metric', 'requests', '--limit', '3', '--window', '1m', '--project', 'shop'],
      set,
    );
    expect(set.err()).toBe('');
    expect(r.exitCode).toBe(0);
    expect(set.out()).toContain('cli-rpm');
    const bad = io();
    expect(
      (await runCli(['quotas', 'set', 'x', '--metric', 'gallons', '--limit', 'lots', '--window', 'soon'], bad))
        .exitCode,
    ).toBe(2);
    expect(bad.err()).toContain('--metric');
    expect(bad.err()).toContain('--limit');
    expect(bad.err()).toContain('--window');

    await reserve({ model: 'gpt-4o', inputTokens: 1, maxTokens: 1 });
    const list = io();
    await runCli(['quotas', 'list'], list);
    expect(list.out()).toMatch(/cli-rpm\s+requests\s+3\s+1m fixed\s+project=shop/);
    const usage = io();
    await runCli(['quotas', 'usage'], usage);
    expect(usage.out()).toMatch(/cli-rpm\s+—\s+1\s+1\s+0\s+3\s+33\.3%/);
    const json = io();
    await runCli(['quotas', 'usage', '--json'], json);
    expect(JSON.parse(json.out()).quotas.find((q: any) => q.quota.id === 'cli-rpm').counters[0].used).toBe(1);
    const del = io();
    expect((await runCli(['quotas', 'delete', 'cli-rpm'], del)).exitCode).toBe(0);
    const gone = io();
    expect((await runCli(['quotas', 'delete', 'cli-rpm'], gone)).exitCode).toBe(1);
    expect(gone.err()).toContain('quota cli-rpm does not exist');
  });
});
