/**
 * `/api/v1/forecasts` and `/api/v1/forecasts/capacity` on a started server with eight weeks of
 * calls ingested through the native API (priced by the cost module), on a fake clock.
 */
import { FakeClock } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costModule } from '../cost/module.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { forecastModule } from './module.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Thursday 12 March 2026, noon UTC. */
const NOW = Date.UTC(2026, 2, 12, 12);
const TODAY = Date.UTC(2026, 2, 12);
const MARCH = Date.UTC(2026, 2, 1);
const APRIL = Date.UTC(2026, 3, 1);

/** gpt-4o calls on a day: 8 on weekdays, 3 at weekends, plus one more every second week. */
function callsOnDay(dayStartMs: number): number {
  const weekday = (new Date(dayStartMs).getUTCDay() + 6) % 7;
  return (weekday < 5 ? 8 : 3) + (Math.floor(dayStartMs / (14 * DAY_MS)) % 2);
}

interface NativeCall {
  id: string;
  timestamp: string;
  provider: string;
  model: string;
  latencyMs: number;
  usage: { inputTokens: number; outputTokens: number };
}

function shopCalls(): NativeCall[] {
  const calls: NativeCall[] = [];
  for (let day = TODAY - 56 * DAY_MS; day <= TODAY; day += DAY_MS) {
    const n = callsOnDay(day);
    for (let k = 0; k < n; k++) {
      const t = day + Math.floor((k * DAY_MS) / n);
      if (t >= NOW) break;
      calls.push({
        id: `shop-${day}-${k}`,
        timestamp: new Date(t).toISOString(),
        provider: 'openai',
        model: 'gpt-4o',
        latencyMs: 400,
        usage: { inputTokens: 1000, outputTokens: 500 },
      });
    }
  }
  return calls;
}

/** gpt-4o-mini calls over the last three days: 2 an hour at night, 5 an hour in the afternoon (UTC). */
function capacityCalls(): NativeCall[] {
  const calls: NativeCall[] = [];
  for (let hour = NOW - 72 * HOUR_MS; hour < NOW; hour += HOUR_MS) {
    const h = new Date(hour).getUTCHours();
    const n = h >= 12 && h < 18 ? 5 : 2;
    for (let k = 0; k < n; k++) {
      calls.push({
        id: `cap-${hour}-${k}`,
        timestamp: new Date(hour + k * 600_000).toISOString(),
        provider: 'openai',
        model: 'gpt-4o-mini',
        latencyMs: 300,
        usage: { inputTokens: 2000, outputTokens: 100 },
      });
    }
  }
  return calls;
}

let server: TestServer;
let shopKey: string;
let labKey: string;
const clock = new FakeClock(NOW);

async function ingest(key: string, calls: NativeCall[]) {
  for (let i = 0; i < calls.length; i += 500) {
    const res = await fetch(`${server.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: calls.slice(i, i + 500) }),
    });
    expect(res.status).toBe(200);
  }
}

async function get(path: string, token = ADMIN_TOKEN) {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  server = await startTestServer(
    { forecast: { rateLimits: { 'gpt-4o-mini': { requestsPerMinute: 0.05, tokensPerMinute: 1_000_000 } } } },
    { clock, modules: [costModule, forecastModule] },
  );
  shopKey = (await server.createProject('Shop', 'shop')).key;
  labKey = (await server.createProject('Lab', 'lab')).key;
  await ingest(shopKey, shopCalls());
  await ingest(labKey, capacityCalls());
});
afterAll(async () => {
  await server?.stop();
});

describe('GET /api/v1/forecasts', () => {
  it('projects month-end spend per model with an interval that holds the true total', async () => {
    const r = await get('/api/v1/forecasts?metric=cost&groupBy=model&project=shop&horizon=30d');
    expect(r.status).toBe(200);
    expect(r.body.scopes).toHaveLength(1);
    const scope = r.body.scopes[0];
    expect(scope.group).toEqual({ model: 'gpt-4o' });
    expect(scope.points).toHaveLength(30);
    expect(scope.points[0].t).toBe(TODAY);
    expect(scope.history.at(-1).t).toBe(TODAY);
    expect(scope.model).toMatch(/^hw-|seasonal-naive/);
    expect(scope.backtestMape).toBeLessThan(0.15);

    // The actual spend so far agrees with the cost API; every call costs the same.
    const breakdown = await get(`/api/v1/cost/breakdown?from=${MARCH}&to=${NOW}&project=shop`);
    const spent = breakdown.body.total.costUsd as number;
    expect(scope.period).toMatchObject({ fromMs: MARCH, toMs: APRIL });
    expect(scope.period.actual).toBeCloseTo(spent, 9);
    const perCall = spent / breakdown.body.total.requests;
    let callsInMarch = 0;
    for (let day = MARCH; day < APRIL; day += DAY_MS) callsInMarch += callsOnDay(day);
    const truth = callsInMarch * perCall;
    expect(Math.abs(scope.period.projected - truth) / truth).toBeLessThan(0.1);
    expect(scope.period.lo).toBeLessThanOrEqual(truth);
    expect(scope.period.hi).toBeGreaterThanOrEqual(truth);
    expect(r.body.costIsLowerBound).toBe(false);
  });

  it('says when the month total is projected to reach a threshold', async () => {
    const base = (await get('/api/v1/forecasts?project=shop')).body.scopes[0].period;
    const threshold = base.actual + (base.projected - base.actual) / 2;
    const r = await get(`/api/v1/forecasts?project=shop&threshold=${threshold}`);
    const t = r.body.scopes[0].threshold;
    expect(t.value).toBe(threshold);
    expect(t.crossesAt).toBeGreaterThan(NOW);
    expect(t.crossesAt).toBeLessThan(APRIL);
    expect(t.lo).toBeLessThanOrEqual(t.crossesAt);
    const reached = await get(`/api/v1/forecasts?project=shop&threshold=${base.actual / 2}`);
    expect(reached.body.scopes[0].threshold.crossesAt).toBe(NOW);
    const never = await get(`/api/v1/forecasts?project=shop&threshold=${base.hi * 10}`);
    expect(never.body.scopes[0].threshold).toMatchObject({ crossesAt: null, lo: null, hi: null });
  });

  it('forecasts tokens and requests per scope, largest first, hourly on request', async () => {
    const tokens = await get('/api/v1/forecasts?metric=tokens&groupBy=project,model');
    expect(tokens.status).toBe(200);
    expect(tokens.body.scopes.map((s: any) => s.group)).toEqual([
      { project: 'shop', model: 'gpt-4o' },
      { project: 'lab', model: 'gpt-4o-mini' },
    ]);
    const limited = await get('/api/v1/forecasts?metric=requests&groupBy=model&limit=1');
    expect(limited.body.scopes).toHaveLength(1);
    expect(limited.body.groupsOmitted).toBe(1);
    const hourly = await get('/api/v1/forecasts?metric=requests&project=lab&interval=1h&horizon=48h&period=day');
    expect(hourly.status).toBe(200);
    const scope = hourly.body.scopes[0];
    expect(hourly.body.stepMs).toBe(HOUR_MS);
    expect(scope.points).toHaveLength(48);
    expect(scope.points[0].t).toBe(NOW);
    // 12 of today's hours are observed (2 calls each); the other 12 hold 6×5 + 6×2 = 42 calls.
    expect(scope.period.actual).toBe(24);
    expect(scope.period.projected).toBeGreaterThan(24 + 42 * 0.8);
    expect(scope.period.projected).toBeLessThan(24 + 42 * 1.2);
  });

  it('keeps a project key to its own project', async () => {
    const own = await get('/api/v1/forecasts?groupBy=model', labKey);
    expect(own.status).toBe(200);
    expect(own.body.scopes.map((s: any) => s.group.model)).toEqual(['gpt-4o-mini']);
    const other = await get('/api/v1/forecasts?project=shop', labKey);
    expect(other.status).toBe(400);
    expect(other.body.error.message).toContain('project');
  });

  it('refuses bad input with the field at fault', async () => {
    const cases: [string, RegExp][] = [
      ['metric=dollars', /metric/],
      ['horizon=forever', /horizon/],
      ['horizon=900d', /horizon/],
      ['groupBy=colour', /groupBy/],
      ['level=2', /level/],
      ['threshold=-1', /threshold/],
      ['interval=1w', /interval/],
      ['limit=1000', /limit/],
      ['history=soon', /history/],
    ];
    for (const [query, field] of cases) {
      const r = await get(`/api/v1/forecasts?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.body.error.code).toBe('RP_VALIDATION');
      expect(r.body.error.message).toMatch(field);
    }
    expect((await get('/api/v1/forecasts', 'wrong')).status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
    const op = doc.paths['/api/v1/forecasts'].get;
    expect(op.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['metric', 'groupBy', 'horizon']));
    expect(doc.paths['/api/v1/forecasts/capacity'].get).toBeDefined();
  });
});

describe('GET /api/v1/forecasts/capacity', () => {
  it('projects requests and tokens per model against the configured rate limits', async () => {
    const r = await get('/api/v1/forecasts/capacity?horizon=2d');
    expect(r.status).toBe(200);
    expect(r.body.horizonHours).toBe(48);
    const mini = r.body.models.find((m: any) => m.model === 'gpt-4o-mini');
    const big = r.body.models.find((m: any) => m.model === 'gpt-4o');
    expect(mini.points).toHaveLength(48);
    // 5 calls an hour in the afternoon is 0.083 a minute, over the 0.05 limit; the night's 2 (0.033) are under.
    expect(mini.requests.limitPerMinute).toBe(0.05);
    expect(mini.requests.projectedPeakPerMinute).toBeGreaterThan(0.07);
    expect(mini.requests.projectedPeakPerMinute).toBeLessThan(0.1);
    expect(mini.requests.headroom).toBeLessThan(0);
    const crossing = new Date(mini.requests.reachesLimit.crossesAt).getUTCHours();
    expect(crossing).toBeGreaterThanOrEqual(11);
    expect(crossing).toBeLessThan(18);
    expect(mini.requests.observedPeakPerMinute).toBe(1);
    expect(mini.tokens.limitPerMinute).toBe(1_000_000);
    expect(mini.tokens.headroom).toBeGreaterThan(0.99);
    expect(mini.tokens.reachesLimit.crossesAt).toBeNull();
    expect(big.requests.limitPerMinute).toBeNull();
    expect(big.requests.headroom).toBeNull();
    expect(big.requests.reachesLimit).toBeNull();
  });

  it('refuses a bad horizon', async () => {
    const r = await get('/api/v1/forecasts/capacity?horizon=90d');
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain('horizon');
  });
});
