/**
 * Budgets end to end on a fake clock: a monthly budget in America/New_York over a month of
 * traffic ($1 calls every two hours, with a burst) — each threshold kind fires once in its period
 * at the evaluation after its condition began, the forecast warning long before the crossing, no
 * event repeats across a restart, and the period rolls over at New York's midnight (not UTC's).
 * Crossings reach WebSocket clients and fire an alert rule of kind `signal`. A block action makes
 * quota reservations in the budget's scope answer 429 until the period ends.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { alertingModule } from '../alerting/module.js';
import { costModule } from '../cost/module.js';
import { quotaModule } from '../quota/module.js';
import { ADMIN_TOKEN, startTestServer, type TestServer, tempDir } from '../test-support/harness.js';
import { budgetsModule } from './module.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const MODULES = [costModule, quotaModule, budgetsModule, alertingModule];
/** The scheduler's own timer stays out of the way: the tests tick the jobs (wake-ups still do). */
const NO_TIMER = 3_600_000;
/** 1 November 2026, 00:00 in New York (still EDT: daylight saving ends at 02:00 that night). */
const NOV = Date.UTC(2026, 10, 1, 4);
/** 1 December 2026, 00:00 in New York (EST). */
const DEC = Date.UTC(2026, 11, 1, 5);

interface NativeCall {
  id: string;
  timestamp: string;
  provider: string;
  model: string;
  latencyMs: number;
  usage: { inputTokens: number; outputTokens: number };
}

/** A gpt-4o call of exactly `usd` dollars (400k input tokens a dollar at $2.50 per million). */
const dollarCall = (id: string, atMs: number, usd = 1): NativeCall => ({
  id,
  timestamp: new Date(atMs).toISOString(),
  provider: 'openai',
  model: 'gpt-4o',
  latencyMs: 300,
  usage: { inputTokens: 400_000 * usd, outputTokens: 0 },
});

async function ingest(s: TestServer, key: string, calls: NativeCall[]) {
  for (let i = 0; i < calls.length; i += 500) {
    const res = await fetch(`${s.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: calls.slice(i, i + 500) }),
    });
    expect(res.status).toBe(200);
  }
}

async function call(s: TestServer, method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as any };
}

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

function subscribe(url: string): Promise<{ ws: WebSocket; messages: any[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: any[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.topic === 'hello') resolve({ ws, messages });
      else messages.push(m);
    });
    ws.on('error', reject);
  });
}

async function until(check: () => boolean, tick?: () => Promise<void>): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await tick?.();
    if (!check()) await new Promise((r) => setTimeout(r, 20));
  }
}

describe('budgets module', () => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.app.close();
    server = null;
  });

  it('fires each threshold kind once per period at the right time, forecasts first, across a restart and a New York month end', async () => {
    const dataDir = tempDir('reskpoints-budgets-');
    const hook = await recorder();
    const clock = new FakeClock(NOV + 60_000);
    const config = {
      dataDir,
      // An acknowledgement is a commit here, so the jobs ticked after an ingest see what it sent.
      ingest: { ackLog: false },
      alerting: {
        rules: [
          {
            name: 'BudgetAt80',
            signal: { source: 'budget', matchers: ['threshold="percent-80"'] },
            labels: { severity: 'page' },
          },
        ],
        route: { receiver: 'hook', groupBy: ['alertname', 'budget'], groupWait: 0, groupInterval: '1m' },
        receivers: [{ name: 'hook', webhook: { url: hook.url } }],
      },
    };
    server = await startTestServer(config, { clock, modules: MODULES, schedulerTickMs: NO_TIMER });
    const shop = await server.createProject('Shop', 'shop');
    try {
      // October: $12 a day, one $3 call every six hours (at :30).
      const october: NativeCall[] = [];
      for (let t = NOV - 31 * DAY_MS + 30 * 60_000; t < NOV; t += 6 * HOUR_MS)
        october.push(dollarCall(`oct-${t}`, t, 3));
      await ingest(server, shop.key, october);
      const live = () =>
        subscribe(`${server!.url.replace('http', 'ws')}/api/v1/events?topics=budgets&token=${shop.key}`);
      const clients = [await live()];

      const created = await call(server, 'POST', '/api/v1/budgets', {
        id: 'shop-monthly',
        name: 'Shop, monthly',
        scope: { project: 'shop' },
        period: 'monthly',
        timeZone: 'America/New_York',
        amountUsd: 300,
        thresholds: [
          { kind: 'percent', percent: 50 },
          { kind: 'percent', percent: 80 },
          { kind: 'percent', percent: 100 },
          { kind: 'absolute', usd: 200 },
          { kind: 'forecast', percent: 100 },
          { kind: 'forecast', percent: 90, withinDays: 7 },
          { kind: 'burn-rate', window: '1h', rate: 14.4 },
          { kind: 'burn-rate', window: '6h', shortWindow: '30m', rate: 6 },
        ],
      });
      expect(created.status).toBe(201);
      await server.app.tickJobs();
      // A minute into November nothing of this period is spent (October's $372 is October's),
      // but October's pace already projects more than the amount: the forecast warns at once.
      const first = (await call(server, 'GET', '/api/v1/budgets/shop-monthly')).body;
      expect(first.status).toMatchObject({ state: 'active', spendUsd: 0, periodStartMs: NOV, periodEndMs: DEC });
      expect(first.events.map((e: any) => [e.thresholdId, e.atMs])).toEqual([['forecast-100', NOV + 60_000]]);

      // November, step by step: a $3 call at :30 every six hours, evaluated a minute later.
      // Bursts of 14 $1 calls in the 40 minutes before noon on 5 and 20 November (New York).
      const burstSteps = new Set([NOV + 4 * DAY_MS + 12 * HOUR_MS, NOV + 19 * DAY_MS + 12 * HOUR_MS]);
      const spentAt = new Map<number, number>();
      let spent = 0;
      let restarted = false;
      const stepTimes: number[] = [];
      for (let call0 = NOV + 30 * 60_000; call0 < DEC + 6 * HOUR_MS; call0 += 6 * HOUR_MS) {
        const batch = [dollarCall(`nov-${call0}`, call0, 3)];
        const step = call0 + 60_000;
        if (burstSteps.has(call0 - 30 * 60_000))
          for (let k = 0; k < 14; k++) batch.push(dollarCall(`burst-${call0}-${k}`, call0 - k * 3 * 60_000));
        clock.set(step);
        await ingest(server, shop.key, batch);
        await server.app.tickJobs();
        if (step < DEC) spent += batch.length + 2;
        spentAt.set(step, spent);
        stepTimes.push(step);
        // Once 80% fired: restart on the same data, and go on.
        if (!restarted && spent >= 240) {
          // Live messages are sent after the commit: let the ones of events stored so far arrive
          // before the server goes away (a live stream does not outlive its server).
          const stored = (await call(server, 'GET', '/api/v1/budgets/shop-monthly/events')).body.events.length;
          await until(() => clients.flatMap((c) => c.messages).length >= stored);
          await server.app.close();
          server = await startTestServer(config, { clock, modules: MODULES, schedulerTickMs: NO_TIMER });
          clients.push(await live());
          await server.app.tickJobs();
          restarted = true;
        }
        if (step === DEC - 29 * 60_000) {
          // 23:31 on 30 November in New York, 04:31 UTC on 1 December: still November.
          const s = (await call(server, 'GET', '/api/v1/budgets/shop-monthly')).body.status;
          expect([s.periodStartMs, s.periodEndMs]).toEqual([NOV, DEC]);
          expect(s.spendUsd).toBeCloseTo(spent, 6);
        }
      }
      expect(restarted).toBe(true);
      // The step at which the running total first reached a target.
      const firstStep = (usd: number) => stepTimes.find((t) => (spentAt.get(t) ?? 0) >= usd);

      const all = (await call(server, 'GET', '/api/v1/budgets/shop-monthly/events?limit=1000')).body.events as any[];
      const november = all.filter((e) => e.periodStartMs === NOV);
      const byThreshold = new Map<string, any[]>();
      for (const e of november) byThreshold.set(e.thresholdId, [...(byThreshold.get(e.thresholdId) ?? []), e]);
      // Each threshold once in November, though several held for days and the server restarted.
      expect([...byThreshold.keys()].sort()).toEqual([
        'absolute-200',
        'burn-1h-14.4',
        'burn-6h-6',
        'forecast-100',
        'forecast-90',
        'percent-100',
        'percent-50',
        'percent-80',
      ]);
      for (const list of byThreshold.values()) expect(list).toHaveLength(1);
      const ev = (id: string) => (byThreshold.get(id) as any[])[0];

      // Amount thresholds: at the evaluation right after the call that reached them.
      expect(ev('percent-50').atMs).toBe(firstStep(150));
      expect(ev('percent-80').atMs).toBe(firstStep(240));
      expect(ev('percent-100').atMs).toBe(firstStep(300));
      expect(ev('absolute-200').atMs).toBe(firstStep(200));
      expect(ev('percent-100')).toMatchObject({ kind: 'percent', targetUsd: 300, amountUsd: 300, projectId: 'shop' });
      expect(ev('percent-100').spendUsd).toBeCloseTo(
        firstStep(300) ? (spentAt.get(firstStep(300) as number) as number) : 0,
        6,
      );

      // Burn rates: at the first burst only (once per period), both windows over the rate.
      const burst = NOV + 4 * DAY_MS + 12 * HOUR_MS + 60_000 + 30 * 60_000;
      expect(ev('burn-1h-14.4').atMs).toBe(burst);
      expect(ev('burn-1h-14.4').burnRate).toBeGreaterThan(14.4);
      expect(ev('burn-1h-14.4').shortBurnRate).toBeGreaterThan(14.4);
      expect(ev('burn-6h-6').atMs).toBe(burst);

      // Forecast: $12 a day from October projects about $360 for November, so the warning comes
      // at the first November evaluation, weeks before spend reaches the amount, and names a
      // date close to the real crossing.
      expect(ev('forecast-100').atMs).toBe(NOV + 60_000);
      expect(ev('forecast-100').atMs).toBeLessThan(ev('percent-100').atMs - 20 * DAY_MS);
      // $12 a day reaches $300 after 25 days (the bursts, unforeseeable, came on top).
      expect(Math.abs(ev('forecast-100').crossesAtMs - (NOV + 25 * DAY_MS))).toBeLessThan(DAY_MS);
      expect(ev('forecast-100').projectedUsd).toBeGreaterThan(330);
      expect(ev('forecast-100').message).toMatch(/^projected to reach 100% of the budget \(\$300\.00\) by Nov 2[4-6]/);
      // The warning held back until the crossing was at most 7 days ahead, still before it.
      const w = ev('forecast-90');
      expect(w.crossesAtMs - w.atMs).toBeLessThanOrEqual(7 * DAY_MS);
      expect(w.crossesAtMs - w.atMs).toBeGreaterThan(7 * DAY_MS - 3 * HOUR_MS);
      expect(w.atMs).toBeLessThan(firstStep(270) as number);

      // New York's month ends at 05:00 UTC: the next step belongs to December, a new period, in
      // which the forecast warns again (once) and November's spend does not count.
      const decStatus = (await call(server, 'GET', '/api/v1/budgets/shop-monthly')).body.status;
      expect(decStatus.periodStartMs).toBe(DEC);
      expect(decStatus.spendUsd).toBe(3);
      const december = all.filter((e) => e.periodStartMs === DEC);
      expect(december.map((e) => e.thresholdId).sort()).toEqual(['forecast-100']);
      const current = (await call(server, 'GET', '/api/v1/budgets/shop-monthly/events?period=current')).body.events;
      expect(current.map((e: any) => e.id)).toEqual(december.map((e) => e.id));

      // Every event went out live to the project's clients, each once.
      const messages = () => clients.flatMap((c) => c.messages);
      await until(() => messages().length >= all.length);
      expect(
        messages()
          .map((m) => m.data.id)
          .sort(),
      ).toEqual(all.map((e) => e.id).sort());
      expect(messages().every((m) => m.topic === 'budgets' && m.projectId === 'shop')).toBe(true);
      for (const c of clients) c.ws.close();

      // The signal rule on percent-80 fired, labelled with the budget and its scope.
      await until(
        () => hook.received.length > 0,
        () => server!.app.tickJobs(),
      );
      expect(hook.received[0]).toMatchObject({ status: 'firing' });
      expect(hook.received[0].alerts[0].labels).toMatchObject({
        alertname: 'BudgetAt80',
        budget: 'shop-monthly',
        threshold: 'percent-80',
        kind: 'percent',
        project: 'shop',
        severity: 'page',
      });
    } finally {
      hook.close();
    }
  }, 300_000);

  it('blocks quota reservations in the scope after a block action, until the period ends', async () => {
    // A daily budget in Kolkata (UTC+5:30): the day ends at 18:30 UTC.
    const dayEnd = Date.UTC(2026, 10, 10, 18, 30);
    const clock = new FakeClock(dayEnd - 10 * HOUR_MS);
    server = await startTestServer(
      { dataDir: tempDir('reskpoints-budgets-block-') },
      { clock, modules: MODULES, schedulerTickMs: NO_TIMER },
    );
    const shop = await server.createProject('Shop', 'shop');
    const other = await server.createProject('Other', 'other');
    const put = await call(server, 'PUT', '/api/v1/budgets/shop-daily', {
      scope: { project: 'shop' },
      period: 'daily',
      timeZone: 'Asia/Kolkata',
      amountUsd: 5,
      thresholds: [
        { kind: 'percent', percent: 60, action: { kind: 'throttle', metric: 'requests', limit: 1, window: '1h' } },
        { kind: 'percent', percent: 100, action: { kind: 'block' } },
      ],
    });
    expect(put.status).toBe(200);
    expect(put.body.created).toBe(true);
    const reserve = (key: string) =>
      call(server!, 'POST', '/api/v1/quota/reserve', { model: 'gpt-4o', inputTokens: 100, maxTokens: 100 }, key);
    /** An evaluation after the last commit, then the quota module's reload (every 2 s). */
    const settleTick = async () => {
      clock.advance(6_000);
      for (let i = 0; i < 100; i++) {
        await server!.app.tickJobs();
        const s = (await call(server!, 'GET', '/api/v1/budgets/shop-daily')).body.status;
        if (s?.evaluatedAtMs === clock.nowMs()) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      clock.advance(3_000);
      await server!.app.tickJobs();
    };
    expect((await reserve(shop.key)).status).toBe(200);

    // $3 of $5: the throttle (one request an hour) is in force for the scope.
    await ingest(
      server,
      shop.key,
      [0, 1, 2].map((k) => dollarCall(`a-${k}`, clock.nowMs() - k * 60_000)),
    );
    await settleTick();
    const quotas = (await call(server, 'GET', '/api/v1/quotas')).body.quotas as any[];
    expect(quotas.map((q) => [q.id, q.metric, q.limit, q.scope, q.expiresAtMs])).toEqual([
      ['budget.shop-daily.percent-60', 'requests', 1, { project: 'shop' }, dayEnd],
    ]);
    expect((await reserve(shop.key)).status).toBe(200);
    expect((await reserve(shop.key)).status).toBe(429);

    // $5: blocked, with Retry-After until the end of Kolkata's day; other projects are not.
    clock.advance(HOUR_MS);
    await ingest(
      server,
      shop.key,
      [0, 1].map((k) => dollarCall(`b-${k}`, clock.nowMs() - k * 60_000)),
    );
    await settleTick();
    const blocked = await reserve(shop.key);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('RP_QUOTA_EXCEEDED');
    expect(blocked.body.error.message).toContain('budget.shop-daily.percent-100');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(Math.abs(retryAfter - (dayEnd - clock.nowMs()) / 1000)).toBeLessThanOrEqual(1);
    expect((await reserve(other.key)).status).toBe(200);
    const ev = (await call(server, 'GET', '/api/v1/budgets/shop-daily/events')).body.events as any[];
    expect(ev.map((e) => [e.thresholdId, e.action])).toEqual([
      ['percent-100', { kind: 'block', quotaId: 'budget.shop-daily.percent-100', untilMs: dayEnd }],
      ['percent-60', { kind: 'throttle', quotaId: 'budget.shop-daily.percent-60', untilMs: dayEnd }],
    ]);

    // The next day in Kolkata: the quotas are gone and calls go through again.
    clock.set(dayEnd + 1_000);
    await settleTick();
    expect((await call(server, 'GET', '/api/v1/quotas')).body.quotas).toEqual([]);
    expect((await reserve(shop.key)).status).toBe(200);
  }, 120_000);
});
