/**
 * Spend-control pages in Chromium: five weeks of priced calls for two projects, a quota with
 * usage, and the Forecasts, Quotas and Recommendations pages showing exactly the numbers of
 * `GET /api/v1/forecasts`, `/forecasts/capacity`, `/quotas/usage`, `/recommendations` and
 * `/chargeback`; each page axe-clean in both themes, with screenshots at desktop and phone width.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { FakeClock } from '@reskpoints/core';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../server/src/test-support/harness.js';
import { formatCount, formatPercent, formatUsd } from '../src/format.js';

const CHROMIUM = process.env['RP_CHROMIUM'] ?? '/usr/bin/chromium';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = resolve(import.meta.dirname, '../../../artifacts/screenshots');
const DAY_MS = 86_400_000;

describe('spend-control pages in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  const clock = new FakeClock(Date.now());

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };
  const send = async (method: string, path: string, body: unknown, token = ADMIN_TOKEN) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
    return res.json();
  };

  beforeAll(async () => {
    server = await startTestServer({}, { clock });
    const shop = await server.createProject('Shop', 'shop');
    const lab = await server.createProject('Lab', 'lab');
    const today = Math.floor(clock.nowMs() / DAY_MS) * DAY_MS;
    for (const [key, project, perDay] of [
      [shop.key, 'shop', 8],
      [lab.key, 'lab', 4],
    ] as const) {
      const batch = [];
      for (let day = today - 35 * DAY_MS; day <= today; day += DAY_MS) {
        const weekday = (new Date(day).getUTCDay() + 6) % 7;
        const n = weekday < 5 ? perDay : perDay / 2;
        for (let k = 0; k < n; k++) {
          const t = day + Math.floor((k * DAY_MS) / n);
          if (t >= clock.nowMs()) break;
          batch.push({
            id: `${project}-${day}-${k}`,
            timestamp: new Date(t).toISOString(),
            provider: 'openai',
            model: k % 2 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
            latencyMs: 400,
            usage: { inputTokens: k % 4 === 0 ? 4000 : 600, outputTokens: 150 },
            prompt: `Question ${k} of day ${day}`,
            ...(k === 3 ? { status: 'error', error: { type: 'timeout' } } : {}),
            userId: `user-${k % 3}`,
            sessionId: `${project}-${day}-${k % 2}`,
            tags: [k % 2 === 0 ? 'team:search' : 'team:support', ...(k === 1 ? ['outcome:resolved'] : [])],
          });
        }
      }
      for (let i = 0; i < batch.length; i += 500)
        await send('POST', '/api/v1/ingest', { batch: batch.slice(i, i + 500) }, key);
    }
    await send('PUT', '/api/v1/quotas/shop-rpm', {
      metric: 'requests',
      limit: 50,
      windowMs: 3_600_000,
      scope: { project: 'shop' },
    });
    await send('PUT', '/api/v1/quotas/per-user-tokens', {
      metric: 'tokens',
      limit: 100_000,
      windowMs: 86_400_000,
      window: 'sliding',
      scope: { user: '*' },
    });
    for (let i = 0; i < 7; i++)
      await send(
        'POST',
        '/api/v1/quota/reserve',
        { model: 'gpt-4o', inputTokens: 1000, maxTokens: 500, user: `u${i % 2}` },
        shop.key,
      );
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const open = async (
    path: string,
    o: { theme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
  ) => {
    const theme = o.theme ?? 'light';
    const ctx = await browser.newContext({ viewport: o.viewport ?? { width: 1280, height: 900 }, colorScheme: theme });
    await ctx.addInitScript(
      ([token, t]) => {
        sessionStorage.setItem('rp-token', token as string);
        localStorage.setItem('rp-theme', t as string);
      },
      [ADMIN_TOKEN, theme],
    );
    const page = await ctx.newPage();
    await page.goto(`${server.url}${path}`);
    await page.locator('main[data-ready]').waitFor();
    return { ctx, page };
  };

  it('Forecasts shows the projected period total, its interval, the threshold crossing and capacity headroom of the API', async () => {
    const f = await get<any>('/api/v1/forecasts?metric=cost&period=month&horizon=30d&threshold=5&limit=5');
    const cap = await get<any>('/api/v1/forecasts/capacity');
    const { ctx, page } = await open('/forecasts?threshold=5');
    const [scope] = f.scopes;
    const card = page.locator('[data-forecast]').first();
    expect(await card.locator('[data-actual]').textContent()).toBe(formatUsd(scope.period.actual));
    expect(await card.locator('[data-projected]').textContent()).toBe(formatUsd(scope.period.projected));
    expect(await card.locator('[data-interval]').textContent()).toBe(
      `90% interval ${formatUsd(scope.period.lo)} – ${formatUsd(scope.period.hi)}`,
    );
    const crossing =
      scope.threshold.crossesAt === null
        ? 'not within the period'
        : new Date(scope.threshold.crossesAt).toISOString().slice(0, 10);
    expect(await card.locator('[data-crossing]').textContent()).toBe(crossing);
    await page.locator('.chart canvas').first().waitFor();
    for (const m of cap.models) {
      const row = page.locator(`[data-capacity] tr[data-model="${m.model}"][data-metric="requests"]`);
      expect(await row.locator('[data-headroom]').textContent()).toBe(formatPercent(m.requests.headroom));
    }
    // Switching to requests asks the API again.
    await page.getByLabel('Metric').selectOption('requests');
    const fr = await get<any>('/api/v1/forecasts?metric=requests&period=month&horizon=30d&threshold=5&limit=5');
    await expect
      .poll(() => page.locator('[data-projected]').first().textContent())
      .toBe(formatCount(fr.scopes[0].period.projected));
    await ctx.close();
  });

  it('Quotas shows each counter’s usage against its limit as the API reports it', async () => {
    const u = await get<any>('/api/v1/quotas/usage');
    const { ctx, page } = await open('/quotas');
    let rows = 0;
    for (const { quota, counters } of u.quotas)
      for (const c of counters) {
        const row = page.locator(`[data-quotas] tr[data-quota="${quota.id}"][data-counter="${c.counter}"]`);
        expect(await row.locator('[data-used]').textContent()).toBe(formatCount(c.used));
        expect(await row.locator('[data-utilization]').textContent()).toBe(formatPercent(c.utilization));
        rows++;
      }
    // shop-rpm: one counter with 7 requests; per-user-tokens: one counter per user.
    expect(rows).toBe(3);
    expect(await page.locator('[data-quota="shop-rpm"] [data-used]').textContent()).toBe('7');
    await ctx.close();
  });

  it('Recommendations lists each saving per month and the chargeback table of the API', async () => {
    const r = await get<any>('/api/v1/recommendations');
    const c = await get<any>('/api/v1/chargeback');
    expect(r.recommendations.length).toBeGreaterThan(0);
    const { ctx, page } = await open('/recommendations');
    const items = page.locator('[data-recommendations] li');
    expect(await items.count()).toBe(r.recommendations.length);
    for (let i = 0; i < r.recommendations.length; i++) {
      const rec = r.recommendations[i];
      expect(await items.nth(i).locator('[data-savings]').textContent()).toBe(
        `${formatUsd(rec.savingsUsdPerMonth)}/month`,
      );
      expect(await items.nth(i).textContent()).toContain(rec.title);
    }
    for (const e of r.efficiency)
      expect(await page.locator(`[data-efficiency] tr[data-project="${e.projectId}"] [data-score]`).textContent()).toBe(
        `${e.score}/100`,
      );
    expect(c.rows.map((x: any) => x.team).sort()).toEqual(['search', 'support']);
    for (const row of c.rows)
      expect(await page.locator(`[data-chargeback] tr[data-team="${row.team}"] [data-total]`).textContent()).toBe(
        formatUsd(row.totalUsd),
      );
    await ctx.close();
  });

  it('the three pages pass axe in both themes and reflow to phone width (screenshots)', async () => {
    const found: string[] = [];
    mkdirSync(SHOTS, { recursive: true });
    for (const path of ['/forecasts', '/quotas', '/recommendations'])
      for (const [label, viewport] of [
        ['desktop', { width: 1280, height: 900 }],
        ['phone', { width: 390, height: 844 }],
      ] as const)
        for (const theme of ['light', 'dark'] as const) {
          const { ctx, page } = await open(path, { theme, viewport });
          if (path === '/forecasts') await page.locator('.chart canvas').first().waitFor();
          await page.screenshot({
            path: join(SHOTS, `${path.slice(1)}-${label}-${theme}.png`),
            fullPage: label === 'desktop',
          });
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          if (overflow > 1) found.push(`[${path} ${label} ${theme}] scrolls sideways by ${overflow}px`);
          await page.addScriptTag({ content: AXE_SOURCE });
          const violations = await page.evaluate(async () => {
            const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<any> } }).axe;
            const r = await axe.run(document, {
              runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
            });
            return r.violations
              .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
              .map((v: any) => `${v.id}: ${v.nodes.map((n: any) => n.target.join(' ')).join(' | ')}`);
          });
          for (const v of violations) found.push(`[${path} ${label} ${theme}] ${v}`);
          await ctx.close();
        }
    expect(found).toEqual([]);
  });
});
