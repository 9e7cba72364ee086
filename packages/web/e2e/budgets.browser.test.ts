/**
 * The Budgets page in Chromium: three weeks of calls ingested through the native API with a
 * burst in the last half hour, three budgets (monthly UTC, weekly in New York, daily in Kolkata
 * with a block action) evaluated by the budgets module; each card shows the numbers
 * `GET /api/v1/budgets` and the events API give — spend, share, bar widths and threshold marks,
 * forecast, burn rates, crossings — axe-clean in both themes, with screenshots at desktop and
 * phone width.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../server/src/test-support/harness.js';
import {
  type Budget,
  type BudgetEvent,
  barPosition,
  barScaleUsd,
  burnText,
  periodText,
  scopeText,
  thresholdRule,
  zonedTime,
} from '../src/budgets.js';
import { formatPercent, formatUsd } from '../src/format.js';

const CHROMIUM = process.env['RP_CHROMIUM'] ?? '/usr/bin/chromium';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = resolve(import.meta.dirname, '../../../artifacts/screenshots');
const HOUR_MS = 3_600_000;

/** A gpt-4o call of `usd` dollars (400k input tokens a dollar at $2.50 per million). */
const call = (id: string, atMs: number, usd: number, model = 'gpt-4o') => ({
  id,
  timestamp: new Date(atMs).toISOString(),
  provider: 'openai',
  model,
  latencyMs: 300,
  usage: { inputTokens: Math.round(400_000 * usd), outputTokens: 0 },
});

describe('Budgets page in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let budgets: Budget[];

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };
  const put = async (id: string, body: unknown) => {
    const res = await fetch(`${server.url}/api/v1/budgets/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.text()).toBe(200);
  };

  beforeAll(async () => {
    // Evaluated once after the data are in: the cards and the API then show one evaluation.
    server = await startTestServer({ budgets: { evaluateEveryMs: 3_600_000 } });
    const shop = await server.createProject('Shop', 'shop');
    const now = Date.now();
    const calls = [];
    // Three weeks: a $0.50 gpt-4o call every three hours and a $0.10 mini call every six.
    for (let t = now - 21 * 24 * HOUR_MS; t < now - HOUR_MS; t += 3 * HOUR_MS) {
      calls.push(call(`h-${t}`, t, 0.5));
      if (Math.floor(t / (3 * HOUR_MS)) % 2 === 0) calls.push(call(`m-${t}`, t, 0.1, 'gpt-4o-mini'));
    }
    // A burst: twelve $1 calls over the last half hour.
    for (let k = 0; k < 12; k++) calls.push(call(`b-${k}`, now - 60_000 - k * 150_000, 1));
    for (let i = 0; i < calls.length; i += 500) {
      const res = await fetch(`${server.url}/api/v1/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${shop.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch: calls.slice(i, i + 500) }),
      });
      expect(res.status).toBe(200);
    }
    await put('shop-monthly', {
      name: 'Shop, monthly',
      scope: { project: 'shop' },
      period: 'monthly',
      amountUsd: 150,
      thresholds: [
        { kind: 'percent', percent: 50 },
        { kind: 'percent', percent: 80 },
        { kind: 'percent', percent: 100 },
        { kind: 'forecast', percent: 100 },
        { kind: 'burn-rate', window: '1h', rate: 14.4 },
      ],
    });
    await put('everything-weekly', { period: 'weekly', timeZone: 'America/New_York', amountUsd: 40 });
    await put('gpt4o-daily', {
      name: 'gpt-4o, daily',
      scope: { model: 'gpt-4o' },
      period: 'daily',
      timeZone: 'Asia/Kolkata',
      amountUsd: 10,
      thresholds: [
        { kind: 'absolute', usd: 5 },
        { kind: 'percent', percent: 100, action: { kind: 'block' } },
      ],
    });
    for (let i = 0; i < 100; i++) {
      await server.app.tickJobs();
      budgets = (await get<{ budgets: Budget[] }>('/api/v1/budgets')).budgets;
      if (budgets.every((b) => b.status !== null && b.status.evaluatedAtMs >= now)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const open = async (o: { theme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {}) => {
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
    await page.goto(`${server.url}/budgets`);
    await page.locator('main[data-ready]').waitFor();
    return { ctx, page };
  };

  const eventsShown = (page: Page, id: string) =>
    page
      .locator(`[data-budget-id="${id}"] [data-event-id]`)
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-event-id')));

  it('shows each budget with the numbers the API gives', async () => {
    expect(budgets.map((b) => b.id)).toEqual(['everything-weekly', 'gpt4o-daily', 'shop-monthly']);
    for (const b of budgets) expect(b.status?.state).toBe('active');
    const shop = budgets.find((b) => b.id === 'shop-monthly') as Budget;
    // The burst runs far above the even rate, and the forecast projects the period end.
    expect(shop.status?.burnRates.find((r) => r.windowMs === HOUR_MS)?.rate).toBeGreaterThan(14.4);
    expect(shop.status?.forecast?.projectedUsd).toBeGreaterThan(shop.status?.spendUsd as number);

    const { ctx, page } = await open();
    await expect.poll(() => page.locator('[data-budget-id]').count()).toBe(3);
    for (const b of budgets) {
      const s = b.status!;
      const card = page.locator(`[data-budget-id="${b.id}"]`);
      const field = (name: string) => card.locator(`[data-field="${name}"]`).first().textContent();
      expect(await card.locator('h2').textContent()).toBe(b.name);
      expect(await card.locator('.budget-meta').textContent()).toBe(
        `${formatUsd(b.amountUsd)} ${periodText(b)} · ${scopeText(b.scope)}`,
      );
      expect(await field('percent')).toBe(formatPercent(s.percentUsed / 100));
      expect(await field('spent')).toBe(`${formatUsd(s.spendUsd)} of ${formatUsd(s.amountUsd)}`);
      expect(await field('period')).toBe(
        `${zonedTime(s.periodStartMs!, b.timeZone)} to ${zonedTime(s.periodEndMs!, b.timeZone)}`,
      );
      expect(await field('forecast')).toBe(
        `${formatUsd(s.forecast!.projectedUsd)} at period end (${formatUsd(s.forecast!.loUsd)} to ${formatUsd(s.forecast!.hiUsd)})`,
      );
      expect(await field('crosses')).toBe(
        s.spendUsd >= s.amountUsd
          ? 'already reached'
          : s.forecast!.crossesAtMs != null
            ? zonedTime(s.forecast!.crossesAtMs, b.timeZone)
            : 'not projected in this period',
      );
      expect(await field('burn')).toBe(`${burnText(s)} (even rate ${formatUsd(s.evenRateUsdPerHour)}/h)`);

      // The bar: spend and projection on the scale, a mark per amount threshold, red once crossed.
      const scale = barScaleUsd(s);
      const bar = card.locator('.budget-bar');
      expect(Number(await bar.getAttribute('data-bar-scale'))).toBeCloseTo(scale, 9);
      expect(await bar.locator('[data-spent-width]').getAttribute('data-spent-width')).toBe(
        barPosition(s.spendUsd, scale).toFixed(2),
      );
      expect(await bar.locator('[data-projected-width]').getAttribute('data-projected-width')).toBe(
        barPosition(s.forecast!.projectedUsd, scale).toFixed(2),
      );
      const marks = s.thresholds.filter((t) => t.targetUsd !== null && t.kind !== 'forecast');
      expect(
        await bar.locator('[data-mark]').evaluateAll((els) => els.map((e) => e.getAttribute('data-mark'))),
      ).toEqual(marks.map((t) => t.id));
      expect(
        await bar.locator('[data-mark].crossed').evaluateAll((els) => els.map((e) => e.getAttribute('data-mark'))),
      ).toEqual(marks.filter((t) => t.crossedAtMs !== null).map((t) => t.id));

      // Thresholds with their rule, target and whether they crossed in this period.
      for (const t of b.thresholds) {
        const ts = s.thresholds.find((x) => x.id === t.id)!;
        const row = card.locator(`[data-threshold-id="${t.id}"] td`);
        expect(await row.nth(0).textContent()).toBe(thresholdRule(t));
        expect(await row.nth(1).textContent()).toBe(ts.targetUsd != null ? formatUsd(ts.targetUsd) : '—');
        expect(await row.nth(2).textContent()).toContain(
          ts.crossedAtMs != null ? `crossed ${zonedTime(ts.crossedAtMs, b.timeZone)}` : 'not crossed',
        );
      }
      // Recent crossings: the five newest events of the API.
      const events = (await get<{ events: BudgetEvent[] }>(`/api/v1/budgets/${b.id}/events?limit=5`)).events;
      await expect.poll(() => eventsShown(page, b.id)).toEqual(events.map((e) => e.id));
    }
    // The burst crossed the burn-rate threshold, and the gpt-4o budget's $5 mark.
    const shopEvents = await eventsShown(page, 'shop-monthly');
    expect(shopEvents).toContain(`shop-monthly|${shop.status!.periodStartMs}|burn-1h-14.4`);
    await ctx.close();
  });

  it('passes axe in both themes and reflows to phone width (screenshots)', async () => {
    const found: string[] = [];
    mkdirSync(SHOTS, { recursive: true });
    for (const [label, viewport] of [
      ['desktop', { width: 1280, height: 900 }],
      ['phone', { width: 390, height: 844 }],
    ] as const)
      for (const theme of ['light', 'dark'] as const) {
        const { ctx, page } = await open({ theme, viewport });
        await expect.poll(() => page.locator('[data-budget-id] [data-event-id]').count()).toBeGreaterThan(0);
        await page.screenshot({ path: join(SHOTS, `budgets-${label}-${theme}.png`), fullPage: label === 'desktop' });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${label} scrolls sideways`).toBeLessThanOrEqual(1);
        await page.addScriptTag({ content: AXE_SOURCE });
        const violations = await page.evaluate(async () => {
          const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<any> } }).axe;
          const r = await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] });
          return r.violations
            .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
            .map((v: any) => `${v.id}: ${v.nodes.map((n: any) => n.target.join(' ')).join(' | ')}`);
        });
        for (const v of violations) found.push(`[${label} ${theme}] ${v}`);
        await ctx.close();
      }
    expect(found).toEqual([]);
  });
});
