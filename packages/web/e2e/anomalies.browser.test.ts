/**
 * Anomalies in Chromium: steady traffic for two projects with one injected cost spike,
 * ingested through the native API and scored by the detect module; the cost explorer and the
 * overview list the anomalies `GET /api/v1/anomalies` returns for their range and filters, and
 * the anomalies page shows each with the values the API gives, its series chart (the points of
 * `GET /api/v1/anomalies/context`), its filters in the URL, axe-clean in both themes, with
 * screenshots at desktop and phone width.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaussian, seededRandom } from '../../server/src/detect/synthetic.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../server/src/test-support/harness.js';
import { deviationText, firedText, formatMetric } from '../src/anomalies.js';

const CHROMIUM = process.env['RP_CHROMIUM'] ?? '/usr/bin/chromium';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = resolve(import.meta.dirname, '../../../artifacts/screenshots');
const MINUTE_MS = 60_000;
const MINUTES = 200;
const SPIKE = 185;

interface Anomaly {
  id: string;
  projectId: string;
  model: string;
  metric: string;
  series: string;
  bucketStartMs: number;
  value: number;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  score: number;
  explanation: {
    deviation: number | null;
    deviationBands: number | null;
    fired: { detector: string; score: number }[];
    sinceMs: number | null;
    changeStartMs: number | null;
  };
}

/** Three gpt-4o calls a minute from `t0`; the spike minute has 20 times the input tokens. */
function traffic(tag: string, t0: number, from: number, to: number, spike: number | null, seed: number) {
  const noise = gaussian(seededRandom(seed));
  const calls = [];
  for (let m = from; m < to; m++)
    for (let k = 0; k < 3; k++)
      calls.push({
        id: `${tag}-${m}-${k}`,
        timestamp: new Date(t0 + m * MINUTE_MS + k * 15_000).toISOString(),
        provider: 'openai',
        model: 'gpt-4o',
        latencyMs: Math.round(500 + 50 * noise()),
        usage: {
          inputTokens: Math.round(Math.max(100, 1000 + 200 * noise()) * (m === spike ? 20 : 1)),
          outputTokens: Math.round(Math.max(20, 200 + 40 * noise())),
        },
      });
  return calls;
}

describe('anomaly markers in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let t0: number;
  let costAnomalies: Anomaly[];

  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    server = await startTestServer();
    const a = await server.createProject('Checkout', 'prj_checkout');
    const b = await server.createProject('Search', 'prj_search');
    await server.app.tickJobs(); // fixes the detector's starting point
    // Event time ends a few minutes ago, so every bucket is closed and inside "now".
    t0 = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - (MINUTES + 5) * MINUTE_MS;
    for (let m = 0; m < MINUTES; m += 50) {
      for (const [key, tag, spike, seed] of [
        [a.key, 'a', SPIKE, 1],
        [b.key, 'b', null, 1000],
      ] as const) {
        const calls = traffic(tag, t0, m, m + 50, spike, seed + m);
        const res = await fetch(`${server.url}/api/v1/ingest`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ batch: calls }),
        });
        expect(res.status).toBe(200);
      }
      await server.app.tickJobs();
    }
    for (let i = 0; i < 50; i++) {
      costAnomalies = (await get<{ anomalies: Anomaly[] }>('/api/v1/anomalies?metric=costUsd')).anomalies;
      if (costAnomalies.length > 0) break;
      await server.app.tickJobs();
    }
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

  it('the cost explorer lists the cost anomalies of its range, and follows the project filter', async () => {
    expect(costAnomalies.map((x) => [x.projectId, x.bucketStartMs])).toEqual([
      ['prj_checkout', t0 + SPIKE * MINUTE_MS],
    ]);
    const range = `from=${new Date(t0).toISOString()}&to=${new Date(t0 + MINUTES * MINUTE_MS).toISOString()}`;
    const { ctx, page } = await open(`/cost?${range}&groupBy=project`);
    const items = page.locator('[data-anomalies] [data-anomaly]');
    await expect
      .poll(() => items.evaluateAll((els) => els.map((e) => e.getAttribute('data-anomaly'))))
      .toEqual(costAnomalies.map((x) => x.id));
    expect(await items.first().textContent()).toContain('prj_checkout / gpt-4o');
    mkdirSync(SHOTS, { recursive: true });
    await page.locator('[data-anomalies] summary').click();
    await page.locator('.chart').screenshot({ path: join(SHOTS, 'cost-anomaly-markers.png') });
    // The opened list passes axe like the rest of the page.
    await page.addScriptTag({ content: AXE_SOURCE });
    const serious = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<any> } }).axe;
      const r = await axe.run('[data-anomalies]', { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] });
      return r.violations.filter((v: any) => v.impact === 'serious' || v.impact === 'critical').map((v: any) => v.id);
    });
    expect(serious).toEqual([]);
    // The tokens chart has its own anomaly (the spike had 20 times the input).
    const tokens = (await get<{ anomalies: Anomaly[] }>('/api/v1/anomalies?metric=totalTokens')).anomalies;
    await page.getByLabel('Measure').selectOption('totalTokens');
    await expect
      .poll(() => items.evaluateAll((els) => els.map((e) => e.getAttribute('data-anomaly'))))
      .toEqual(tokens.map((x) => x.id));
    // Filtered to the other project, nothing is marked.
    await page.getByLabel(/^Project/).selectOption('prj_search');
    await expect.poll(() => page.locator('[data-anomalies]').count()).toBe(0);
    await ctx.close();
  });

  it('the overview lists every key-series anomaly of its range with its metric', async () => {
    const all = (await get<{ anomalies: Anomaly[] }>(`/api/v1/anomalies?fromMs=${t0}`)).anomalies.filter(
      (x) => x.bucketStartMs < t0 + MINUTES * MINUTE_MS,
    );
    expect(all.length).toBeGreaterThan(0);
    const range = `from=${new Date(t0).toISOString()}&to=${new Date(t0 + MINUTES * MINUTE_MS).toISOString()}`;
    const { ctx, page } = await open(`/?${range}`);
    const items = page.locator('[data-anomalies] [data-anomaly]');
    await expect
      .poll(async () => (await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-anomaly')))).sort())
      .toEqual(all.map((x) => x.id).sort());
    await page.locator('[data-anomalies] summary').click();
    expect(await items.first().isVisible()).toBe(true);
    await ctx.close();
  });

  const pageIds = (page: import('playwright-core').Page) =>
    page.locator('[data-anomaly-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-anomaly-id')));

  it('the anomalies page shows each anomaly as the API gives it, with its series chart, band and explanation', async () => {
    const toMs = t0 + MINUTES * MINUTE_MS;
    const listed = (await get<{ anomalies: Anomaly[] }>(`/api/v1/anomalies?fromMs=${t0}&toMs=${toMs}`)).anomalies;
    expect(listed.map((x) => x.metric).sort()).toEqual(['costUsd', 'totalTokens']);
    const range = `from=${new Date(t0).toISOString()}&to=${new Date(toMs).toISOString()}`;
    const { ctx, page } = await open(`/anomalies?${range}`);
    await expect.poll(() => pageIds(page)).toEqual(listed.map((x) => x.id));
    expect(await page.locator('[data-anomaly-count]').getAttribute('data-anomaly-count')).toBe(String(listed.length));

    const cost = listed.find((x) => x.metric === 'costUsd')!;
    const card = page.locator(`[data-anomaly-id="${cost.id}"]`);
    const field = (name: string) => card.locator(`[data-field="${name}"]`).textContent();
    expect(await card.locator('h2').textContent()).toBe('Cost · prj_checkout / gpt-4o');
    expect(await card.locator('[data-score]').textContent()).toBe(`score ${cost.score.toFixed(3)}`);
    expect(await field('value')).toBe(formatMetric('costUsd', cost.value));
    expect(await field('expected')).toBe(formatMetric('costUsd', cost.expected));
    expect(await field('band')).toBe(
      `${formatMetric('costUsd', cost.lower)} to ${formatMetric('costUsd', cost.upper)}`,
    );
    expect(await field('deviation')).toBe(deviationText(cost));
    expect(await field('fired')).toBe(firedText(cost.explanation));
    expect(cost.explanation.fired.length).toBeGreaterThan(0);
    expect(await card.locator('[data-field="bucket"] time').getAttribute('datetime')).toBe(
      new Date(cost.bucketStartMs).toISOString(),
    );
    if (cost.explanation.sinceMs !== null)
      expect(await card.locator('[data-field="since"] time').getAttribute('datetime')).toBe(
        new Date(cost.explanation.sinceMs).toISOString(),
      );

    // The chart draws the points the context API returns around the anomaly.
    const context = await get<{ series: { points: { bucketStartMs: number; value: number }[] } }>(
      `/api/v1/anomalies/context?id=${encodeURIComponent(cost.id)}&before=60&after=15`,
    );
    const points = context.series.points;
    expect(points.find((p) => p.bucketStartMs === cost.bucketStartMs)?.value).toBeCloseTo(cost.value, 9);
    const chart = card.locator('[data-anomaly-chart]');
    await chart.locator('canvas').waitFor();
    expect(await chart.getAttribute('data-points')).toBe(String(points.length));
    const label = await chart.locator('figure').getAttribute('aria-label');
    expect(label).toContain(`${formatMetric('costUsd', cost.value)} at`);
    expect(label).toContain(`band ${formatMetric('costUsd', cost.lower)} to ${formatMetric('costUsd', cost.upper)}`);
    // The legend names the value, the expected value, the band and the anomalous point.
    const legend = await chart.locator('.u-legend').textContent();
    for (const name of ['Value', 'Expected', 'Band low', 'Band high', 'Anomaly']) expect(legend).toContain(name);

    mkdirSync(SHOTS, { recursive: true });
    await card.screenshot({ path: join(SHOTS, 'anomaly-card.png') });
    await ctx.close();
  });

  it('the anomalies page filters by metric, series, project and model, all kept in the URL', async () => {
    const toMs = t0 + MINUTES * MINUTE_MS;
    const range = `from=${new Date(t0).toISOString()}&to=${new Date(toMs).toISOString()}`;
    const list = async (q: string) =>
      (await get<{ anomalies: Anomaly[] }>(`/api/v1/anomalies?fromMs=${t0}&toMs=${toMs}${q}`)).anomalies.map(
        (x) => x.id,
      );
    const { ctx, page } = await open(`/anomalies?${range}`);
    await page.locator('[data-anomaly-id]').first().waitFor();

    await page.getByLabel('Metric').selectOption('totalTokens');
    await expect.poll(() => pageIds(page)).toEqual(await list('&metric=totalTokens'));
    expect(new URL(page.url()).searchParams.get('metric')).toBe('totalTokens');
    // A shared link shows the same list.
    const shared = page.url();
    await page.getByLabel('Metric').selectOption('');
    await expect.poll(async () => (await pageIds(page)).length).toBe(2);
    await page.goto(shared);
    await expect.poll(() => pageIds(page)).toEqual(await list('&metric=totalTokens'));
    await page.getByLabel('Metric').selectOption('');

    const costSeries = 'costUsd|prj_checkout|gpt-4o';
    await page.getByLabel('Series').fill(costSeries);
    await page.getByLabel('Series').press('Enter');
    await expect.poll(() => pageIds(page)).toEqual(await list(`&series=${encodeURIComponent(costSeries)}`));
    expect(new URL(page.url()).searchParams.get('series')).toBe(costSeries);
    await page.getByLabel('Series').fill('');
    await page.getByLabel('Series').press('Enter');
    await expect.poll(async () => (await pageIds(page)).length).toBe(2);

    await page.getByLabel(/^Model/).selectOption('gpt-4o');
    await expect.poll(() => pageIds(page)).toEqual(await list('&model=gpt-4o'));
    await page.getByLabel(/^Project/).selectOption('prj_search');
    await expect.poll(() => page.locator('[data-empty]').count()).toBe(1);
    expect(await pageIds(page)).toEqual([]);
    expect(new URL(page.url()).searchParams.get('project')).toBe('prj_search');
    await ctx.close();

    // A range before the spike shows nothing.
    const before = `from=${new Date(t0).toISOString()}&to=${new Date(t0 + (SPIKE - 10) * MINUTE_MS).toISOString()}`;
    const empty = await open(`/anomalies?${before}`);
    await empty.page.locator('[data-empty]').waitFor();
    await empty.ctx.close();
  });

  it('the anomalies page passes axe in both themes and reflows to phone width (screenshots)', async () => {
    const range = `from=${new Date(t0).toISOString()}&to=${new Date(t0 + MINUTES * MINUTE_MS).toISOString()}`;
    const found: string[] = [];
    mkdirSync(SHOTS, { recursive: true });
    for (const [label, viewport] of [
      ['desktop', { width: 1280, height: 900 }],
      ['phone', { width: 390, height: 844 }],
    ] as const)
      for (const theme of ['light', 'dark'] as const) {
        const { ctx, page } = await open(`/anomalies?${range}`, { theme, viewport });
        await page.locator('[data-anomaly-chart] canvas').first().waitFor();
        await expect.poll(() => page.locator('[data-anomaly-chart] canvas').count()).toBe(2);
        await page.screenshot({ path: join(SHOTS, `anomalies-${label}-${theme}.png`), fullPage: label === 'desktop' });
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
