/**
 * The log pages in Chromium, signed in with a project key, against a started server with logs:
 * the explorer (search and filters in the URL, jump to the trace, live tail), the patterns page
 * (rates, examples, new patterns) and the policies page (preview with projected savings, apply,
 * history); axe-core on each in both themes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/src/test-support/harness.js';

const CHROMIUM = process.env['RP_CHROMIUM'] ?? '/usr/bin/chromium';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const TRACE = 'ab12'.repeat(8);

describe('log pages in Chromium', () => {
  let server: TestServer;
  let key: string;
  let browser: Browser;

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, path).toBeLessThan(300);
    return res.json().catch(() => null);
  };
  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status, path).toBe(200);
    return res.json();
  };
  const open = async (theme: 'light' | 'dark' = 'light'): Promise<Page> => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: theme });
    await ctx.addInitScript(
      ([token, t]) => {
        sessionStorage.setItem('rp-token', token as string);
        localStorage.setItem('rp-theme', t as string);
      },
      [key, theme],
    );
    return ctx.newPage();
  };

  beforeAll(async () => {
    server = await startTestServer();
    ({ key } = await server.createProject('logs-ui'));
    const now = Date.now();
    const logs = [];
    for (let i = 0; i < 600; i++)
      logs.push({
        timestamp: now - 3_000_000 + i * 5_000,
        message: `GET /health 200 in ${i % 7}ms`,
        severity: 'info',
        service: 'api',
      });
    for (let i = 0; i < 6; i++)
      logs.push({
        timestamp: now - 600_000 + i * 1_000,
        message: `checkout failed for cart ${i}`,
        severity: 'error',
        service: 'api',
        traceId: TRACE,
      });
    await post('/api/v1/logs', { logs });
    await post('/api/v1/ingest', {
      batch: [
        {
          id: 'call-1',
          timestamp: now - 600_000,
          provider: 'openai',
          model: 'gpt-4o-mini',
          latencyMs: 800,
          traceId: TRACE,
          spanId: 'cd34'.repeat(4),
          serviceName: 'api',
          usage: { inputTokens: 100, outputTokens: 20 },
        },
      ],
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('explorer: lines match the API, a severity filter lands in the URL, and a line jumps to its trace', async () => {
    const page = await open();
    await page.goto(`${server.url}/logs?range=1h`);
    await page.locator('main[data-ready]').waitFor();
    const rows = page.locator('table[data-logs="search"] tbody tr');
    await expect.poll(() => rows.count()).toBe(100);
    await page.getByLabel('Severity').selectOption('error,fatal');
    await expect.poll(() => new URL(page.url()).searchParams.get('severity')).toBe('error,fatal');
    const api = await get('/api/v1/logs?from=now-1h&severity=error,fatal');
    await expect.poll(() => rows.count()).toBe(api.items.length);
    await expect.poll(() => rows.first().locator('.log-body').textContent()).toBe(api.items[0].body);
    await rows.first().locator('a[data-trace-link]').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/traces/${TRACE}`);
    await page.locator('table[data-waterfall] tbody tr').first().waitFor({ timeout: 20_000 });
    await page.context().close();
  });

  it('explorer: the live tail shows lines stored after it started, filtered', async () => {
    const page = await open();
    await page.goto(`${server.url}/logs?service=worker`);
    await page.locator('main[data-ready]').waitFor();
    await page.getByRole('button', { name: 'Live tail' }).click();
    await expect.poll(() => page.locator('[data-live-state]').getAttribute('data-live-state')).toBe('open');
    await post('/api/v1/logs', {
      logs: [
        { message: 'job 1 done', service: 'worker', severity: 'info' },
        { message: 'not for this tail', service: 'api', severity: 'info' },
        { message: 'job 2 failed', service: 'worker', severity: 'error' },
      ],
    });
    const live = page.locator('table[data-logs="live"] tbody tr .log-body');
    await expect.poll(() => live.allTextContents()).toEqual(['job 2 failed', 'job 1 done']);
    expect(new URL(page.url()).searchParams.get('live')).toBe('1');
    await page.context().close();
  });

  it('patterns: rates and examples as the API computes them, and new patterns', async () => {
    const page = await open();
    await page.goto(`${server.url}/patterns?range=1h`);
    await page.locator('main[data-ready]').waitFor();
    const api = await get('/api/v1/logs/patterns?from=now-1h');
    const rows = page.locator('table[data-patterns] tbody tr');
    await expect.poll(() => rows.count()).toBe(api.patterns.length);
    const health = api.patterns.find((p: any) => /health/.test(p.template));
    const row = page.locator(`tr[data-pattern-id="${health.patternId}"]`);
    await expect.poll(() => row.locator('td').nth(1).textContent()).toBe(health.count.toLocaleString('en-US'));
    await row.locator('summary').click();
    await expect.poll(() => row.locator('.examples li').count()).toBe(health.examples.length);
    await page.getByLabel('Show').selectOption('new');
    const fresh = api.patterns.filter((p: any) => p.isNew);
    await expect.poll(() => rows.count()).toBe(fresh.length);
    await page.context().close();
  });

  it('policies: a preview with projected savings, applied as a version in the history', async () => {
    const page = await open();
    await page.goto(`${server.url}/policies?service=api`);
    await page.locator('main[data-ready]').waitFor();
    await page.getByLabel('Statistics of the last').selectOption('1h');
    await page.getByLabel('Target lines per minute').fill('1');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('[data-proposal]').waitFor();
    expect(await page.locator('[data-saved]').textContent()).toMatch(/\$.*\(\d+\.\d%\)/);
    await expect.poll(() => page.locator('[data-proposal] table[data-rules] tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Apply as new version' }).click();
    await expect.poll(() => page.locator('table[data-history] tbody tr').count()).toBe(1);
    const history = await get('/api/v1/policies/api/history');
    expect(history.versions[0]).toMatchObject({ version: 1, generatedBy: 'deterministic' });
    await page.context().close();
  });

  it('axe-core finds no serious or critical violation on the log pages, in either theme', async () => {
    const found: string[] = [];
    for (const theme of ['light', 'dark'] as const) {
      const page = await open(theme);
      for (const path of ['/logs?range=1h', '/logs?live=1', '/patterns?range=1h', '/policies?service=api']) {
        await page.goto(`${server.url}${path}`);
        await page.locator('main[data-ready]').waitFor({ timeout: 20_000 });
        if (path.startsWith('/policies')) await page.locator('table[data-history] tbody tr').first().waitFor();
        else if (!path.includes('live')) await page.locator('table tbody tr').first().waitFor();
        await page.addScriptTag({ content: AXE_SOURCE });
        const violations = await page.evaluate(async () => {
          const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<any> } }).axe;
          const r = await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] });
          return r.violations
            .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
            .map(
              (v: any) =>
                `${v.id}: ${v.nodes
                  .slice(0, 3)
                  .map((n: any) => n.target.join(' '))
                  .join(' | ')}`,
            );
        });
        for (const v of violations) found.push(`${path} [${theme}] ${v}`);
      }
      await page.context().close();
    }
    expect(found).toEqual([]);
  });
});
