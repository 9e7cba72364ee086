/**
 * Anomaly markers in Chromium: steady traffic for two projects with one injected cost spike,
 * ingested through the native API and scored by the detect module; the cost explorer and the
 * overview list the anomalies `GET /api/v1/anomalies` returns for their range and filters.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaussian, seededRandom } from '../../server/src/detect/synthetic.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../server/src/test-support/harness.js';

const CHROMIUM = process.env['RP_CHROMIUM'] ?? '/usr/bin/chromium';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = resolve(import.meta.dirname, '../../../artifacts/screenshots');
const MINUTE_MS = 60_000;
const MINUTES = 200;
const SPIKE = 185;

interface Anomaly {
  id: string;
  projectId: string;
  metric: string;
  bucketStartMs: number;
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

  const open = async (path: string) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addInitScript((t) => sessionStorage.setItem('rp-token', t as string), ADMIN_TOKEN);
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
});
