/**
 * `reskpoints forecast` and `reskpoints forecast capacity` against a started server (fake clock)
 * holding five weeks of priced calls: the tables carry the API's numbers, scopes and thresholds
 * reach the API as filters, and bad options are refused before any request.
 */
import { FakeClock } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costModule } from '../cost/module.js';
import { forecastModule } from '../forecast/module.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { formatUsd } from './format.js';
import type { CliIo } from './io.js';
import { runCli } from './program.js';

const DAY_MS = 86_400_000;
/** Wednesday 18 March 2026, 06:00 UTC. */
const NOW = Date.UTC(2026, 2, 18, 6);
const TODAY = Date.UTC(2026, 2, 18);
const clock = new FakeClock(NOW);
let server: TestServer;

function io(): CliIo & { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: () => out.join(''),
    err: () => err.join(''),
    stdout: { write: (s) => void out.push(s) },
    stderr: { write: (s) => void err.push(s) },
    env: {},
    cwd: process.cwd(),
    clock,
    fetch: globalThis.fetch,
    onSignal: () => {},
    exit: (code) => {
      throw new Error(`exit(${code})`);
    },
  };
}

const cli = async (args: string[]) => {
  const x = io();
  const r = await runCli([...args, '--url', server.url, '--token', ADMIN_TOKEN], x);
  return { code: r.exitCode, out: x.out(), err: x.err() };
};

async function get(path: string) {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as any;
}

beforeAll(async () => {
  server = await startTestServer(
    { forecast: { rateLimits: { 'gpt-4o-mini': { requestsPerMinute: 1000 } } } },
    { clock, modules: [costModule, forecastModule] },
  );
  for (const [project, model, perDay] of [
    ['shop', 'gpt-4o', 6],
    ['lab', 'gpt-4o-mini', 12],
  ] as const) {
    const { key } = await server.createProject(project, project);
    const batch = [];
    for (let day = TODAY - 35 * DAY_MS; day <= TODAY; day += DAY_MS) {
      const weekday = (new Date(day).getUTCDay() + 6) % 7;
      const n = weekday < 5 ? perDay : perDay / 2;
      for (let k = 0; k < n; k++) {
        const t = day + Math.floor((k * DAY_MS) / n);
        if (t >= NOW) break;
        batch.push({
          id: `${project}-${day}-${k}`,
          timestamp: new Date(t).toISOString(),
          provider: 'openai',
          model,
          latencyMs: 300,
          usage: { inputTokens: 1000, outputTokens: 400 },
        });
      }
    }
    const res = await fetch(`${server.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch }),
    });
    expect(res.status).toBe(200);
  }
});
afterAll(async () => {
  await server?.stop();
});

describe('reskpoints forecast', () => {
  it('prints the projected month total per model, as the API computes it', async () => {
    const api = await get('/api/v1/forecasts?metric=cost&groupBy=model');
    expect(api.scopes).toHaveLength(2);
    const r = await cli(['forecast', '--by', 'model']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('cost forecast, month 2026-03-01 → 2026-04-01 UTC, 90% intervals');
    for (const s of api.scopes) {
      const line = r.out.split('\n').find((l) => l.startsWith(s.group.model));
      expect(line).toBeDefined();
      expect(line).toContain(formatUsd(s.period.actual));
      expect(line).toContain(formatUsd(s.period.projected));
      expect(line).toContain(`${formatUsd(s.period.lo)} – ${formatUsd(s.period.hi)}`);
    }
  });

  it('narrows to a scope, projects requests and says when a threshold is reached', async () => {
    const api = await get('/api/v1/forecasts?metric=requests&project=shop&threshold=150');
    const r = await cli([
      'forecast',
      '--metric',
      'requests',
      '--scope',
      'project=shop',
      '--threshold',
      '150',
      '--points',
      '--horizon',
      '14d',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const [scope] = api.scopes;
    expect(scope.threshold.crossesAt).not.toBeNull();
    const crossing = new Date(scope.threshold.crossesAt).toISOString().slice(0, 10);
    expect(r.out).toMatch(new RegExp(`everything .*150: ${crossing}`));
    expect(r.out).toContain(Math.round(scope.period.projected).toLocaleString('en-US'));
    // --points: one row per day of the 14-day horizon, from today.
    const steps = r.out.split('\n').filter((l) => /^2026-\d\d-\d\d\s/.test(l));
    expect(steps.map((l) => l.slice(0, 10))).toEqual(
      Array.from({ length: 14 }, (_, i) => new Date(TODAY + i * DAY_MS).toISOString().slice(0, 10)),
    );
  });

  it('prints JSON with --json', async () => {
    const r = await cli(['forecast', '--metric', 'tokens', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ metric: 'tokens', period: 'month' });
  });

  it('refuses bad options before asking the server, naming each', async () => {
    const r = await cli(['forecast', '--metric', 'dollars', '--scope', 'team=a', '--horizon', 'soon', '--level', '2']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('--metric: expected cost, tokens or requests, got "dollars"');
    expect(r.err).toContain('--scope: expected DIMENSION=VALUE');
    expect(r.err).toContain('--horizon: expected a duration');
    expect(r.err).toContain('--level: expected a probability');
  });

  it('passes the server’s refusal on', async () => {
    const r = await cli(['forecast', '--interval', '1h', '--horizon', '60d']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/horizon/);
  });
});

describe('reskpoints forecast capacity', () => {
  it('prints the observed and projected peak per minute against the configured limit', async () => {
    const api = await get('/api/v1/forecasts/capacity?horizon=2d');
    const mini = api.models.find((m: any) => m.model === 'gpt-4o-mini');
    expect(mini.requests.limitPerMinute).toBe(1000);
    const r = await cli(['forecast', 'capacity', '--horizon', '2d']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Capacity over the next 48 h');
    const line = r.out.split('\n').find((l) => l.startsWith('gpt-4o-mini'));
    expect(line).toContain('1,000');
    expect(line).toContain(`${(mini.requests.headroom * 100).toFixed(1)}%`);
    expect(line).toMatch(/\bno$/);
  });
});
