/**
 * The alerting pages in Chromium, signed in with the admin token, against a started server
 * whose rules fire on ingested calls: a rule created through the API fires and is on the
 * alerts page with the API's numbers (firing and pending, labels, since, summary); a silence
 * made from an alert's "Silence…" link mutes it and is expired from the page; the rules page
 * and the notification log agree with the API; axe-core finds no serious or critical
 * violation in either theme; screenshots at desktop and phone width (artifacts/screenshots/).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../server/src/test-support/harness.js';

const CHROMIUM = process.env['RP_CHROMIUM'] ?? '/usr/bin/chromium';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = resolve(import.meta.dirname, '../../../artifacts/screenshots');

async function until<T>(what: string, f: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('alerting pages in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let hook: Server;
  let projectKey: string;

  const call = async (method: string, path: string, body?: unknown, token = ADMIN_TOKEN) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    expect(res.status, `${method} ${path}: ${text}`).toBeLessThan(300);
    return text ? JSON.parse(text) : null;
  };
  const open = async (
    path: string,
    opts: { theme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {},
  ): Promise<Page> => {
    const theme = opts.theme ?? 'light';
    const ctx = await browser.newContext({
      viewport: opts.viewport ?? { width: 1280, height: 900 },
      colorScheme: theme,
    });
    await ctx.addInitScript(
      ([token, t]) => {
        sessionStorage.setItem('rp-token', token as string);
        localStorage.setItem('rp-theme', t as string);
      },
      [ADMIN_TOKEN, theme],
    );
    const page = await ctx.newPage();
    await page.goto(`${server.url}${path}`);
    await page.locator('main[data-ready]').waitFor({ timeout: 20_000 });
    return page;
  };
  const failedCalls = async (model: string, n: number, latencyMs = 300) => {
    const now = Date.now();
    await call(
      'POST',
      '/api/v1/ingest',
      {
        batch: Array.from({ length: n }, (_, i) => ({
          id: `${model}-${now}-${i}`,
          timestamp: now - 1000 - i,
          provider: 'openai',
          model,
          latencyMs,
          status: 'error',
          usage: { inputTokens: 10, outputTokens: 0 },
        })),
      },
      projectKey,
    );
  };

  beforeAll(async () => {
    hook = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    server = await startTestServer({
      alerting: {
        rules: [
          {
            // Waits an hour before firing: stays pending for the whole test.
            name: 'SlowModel',
            metric: 'latencyP95Ms',
            window: '1h',
            groupBy: ['model'],
            threshold: { op: '>', value: 5000 },
            for: '1h',
            annotations: { summary: 'p95 {{ $value }} ms on {{ $labels.model }}' },
          },
        ],
        route: { receiver: 'ops', groupBy: ['alertname', 'model'], groupWait: 0, groupInterval: '1m' },
        receivers: [{ name: 'ops', webhook: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/` } }],
      },
    });
    ({ key: projectKey } = await server.createProject('alerting-ui'));
    // A rule created through the API, as `reskpoints rules apply` would.
    await call('PUT', '/api/v1/alerts/rules/ModelErrors', {
      metric: 'errors',
      window: '1h',
      groupBy: ['model'],
      threshold: { op: '>', value: 2 },
      labels: { severity: 'page' },
      annotations: { summary: '{{ $value }} failed calls on {{ $labels.model }} (over {{ $threshold }})' },
    });
    await failedCalls('gpt-4o', 5);
    await failedCalls('claude-sonnet-4', 3);
    await failedCalls('gemini-2.5-pro', 1, 9000);
    await until('two alerts firing and one series pending', async () => {
      const alerts = (await call('GET', '/api/v1/alerts')).alerts as { status: string }[];
      const rules = (await call('GET', '/api/v1/alerts/rules')).rules as { series: { status: string }[] }[];
      const pending = rules.flatMap((r) => r.series).filter((s) => s.status === 'pending');
      return alerts.filter((a) => a.status === 'firing').length === 2 && pending.length === 1 ? true : null;
    });
    await until('the notifications to be delivered', async () =>
      (await call('GET', '/api/v1/alerts/notifications')).sent.length >= 2 ? true : null,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    hook?.close();
  });

  it('alerts page: firing and pending with the numbers, labels, since and summary of the API', async () => {
    const api = (await call('GET', '/api/v1/alerts')).alerts as any[];
    const rules = (await call('GET', '/api/v1/alerts/rules')).rules as any[];
    const page = await open('/alerts');
    const firingRows = page.locator('table[data-alerts="firing"] tbody tr');
    await expect.poll(() => firingRows.count()).toBe(2);
    expect(await page.locator('[data-count="firing"]').textContent()).toBe('2');
    expect(await page.locator('[data-count="pending"]').textContent()).toBe('1');
    for (const a of api) {
      const row = page.locator(`tr[data-fingerprint="${a.fingerprint}"]`);
      expect(await row.locator('th').textContent()).toBe('ModelErrors');
      expect(await row.locator('[data-summary]').textContent()).toBe(a.annotations.summary);
      expect(await row.locator('[data-since]').getAttribute('data-since')).toBe(String(a.startsAtMs));
      expect(await row.locator('ul.labels li').allTextContents()).toEqual([
        `model="${a.labels.model}"`,
        'severity="page"',
      ]);
    }
    expect(api.map((a) => a.annotations.summary).sort()).toEqual([
      '3 failed calls on claude-sonnet-4 (over 2)',
      '5 failed calls on gpt-4o (over 2)',
    ]);
    const slow = rules.find((r) => r.name === 'SlowModel').series[0];
    const pendingRow = page.locator('table[data-alerts="pending"] tbody tr');
    await expect.poll(() => pendingRow.count()).toBe(1);
    expect(await pendingRow.locator('[data-value]').textContent()).toBe(String(slow.value));
    expect(await pendingRow.locator('[data-summary]').textContent()).toBe('p95 9000 ms on gemini-2.5-pro');
    expect(await pendingRow.locator('[data-since]').getAttribute('data-since')).toBe(String(slow.activeAtMs));

    // The label filter and the state choice live in the URL.
    await page.getByLabel('Label filter').fill('model=gpt-4o');
    await page.getByLabel('Label filter').press('Enter');
    await expect.poll(() => firingRows.count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('filter')).toBe('model=gpt-4o');
    await page.getByLabel('Show').selectOption('pending');
    await expect.poll(() => new URL(page.url()).searchParams.get('show')).toBe('pending');
    expect(await page.locator('table[data-alerts="firing"]').count()).toBe(0);
    await page.context().close();
  });

  it('silences: made from an alert, it mutes the alert; expired from the page', async () => {
    const page = await open('/alerts?filter=model%3Dgpt-4o');
    const row = page.locator('table[data-alerts="firing"] tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    await row.getByRole('link', { name: /Silence ModelErrors/ }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/silences');
    const matchers = page.getByLabel('Matchers, one per line');
    await expect.poll(() => matchers.inputValue()).toBe('alertname="ModelErrors"\nmodel="gpt-4o"\nseverity="page"');
    await page.getByLabel('Duration').fill('1h');
    await page.getByLabel('Created by').fill('ops');
    await page.getByLabel('Comment').fill('provider incident');
    await page.getByRole('button', { name: 'Create silence' }).click();
    const id = await until('the created silence', async () =>
      (await page.locator('[data-created]').count())
        ? await page.locator('[data-created]').getAttribute('data-created')
        : null,
    );
    const silences = (await call('GET', '/api/v1/alerts/silences')).silences as any[];
    const made = silences.find((s) => s.id === id);
    expect(made).toMatchObject({
      state: 'active',
      createdBy: 'ops',
      comment: 'provider incident',
      matchers: ['alertname="ModelErrors"', 'model="gpt-4o"', 'severity="page"'],
    });
    expect(made.endsAtMs - made.startsAtMs).toBeGreaterThan(3_590_000);
    expect(made.endsAtMs - made.startsAtMs).toBeLessThan(3_610_000);
    const listed = page.locator(`tr[data-silence-id="${id}"]`);
    await listed.waitFor();
    expect(await listed.locator('[data-state]').getAttribute('data-state')).toBe('active');

    // The alert shows as silenced, as the API says.
    const alerts = (await call('GET', '/api/v1/alerts')).alerts as any[];
    const gpt = alerts.find((a) => a.labels.model === 'gpt-4o');
    expect(gpt.silencedBy).toEqual([id]);
    const alertsPage = await open('/alerts');
    await expect
      .poll(() => alertsPage.locator(`tr[data-fingerprint="${gpt.fingerprint}"] [data-silenced]`).count())
      .toBe(1);
    expect(await alertsPage.locator('[data-count="silenced"]').textContent()).toBe('1');
    await alertsPage.getByLabel('Show').selectOption('unsilenced');
    await expect.poll(() => alertsPage.locator('table[data-alerts="firing"] tbody tr').count()).toBe(1);
    await alertsPage.context().close();

    // Expired from the page: gone from the current list, expired in the API, the alert no longer silenced.
    await listed.getByRole('button', { name: /Expire silence/ }).click();
    await expect.poll(() => page.locator(`tr[data-silence-id="${id}"]`).count()).toBe(0);
    const after = ((await call('GET', '/api/v1/alerts/silences')).silences as any[]).find((s) => s.id === id);
    expect(after.state).toBe('expired');
    expect(((await call('GET', '/api/v1/alerts')).alerts as any[]).every((a) => a.silencedBy.length === 0)).toBe(true);
    await page.getByLabel('Show').selectOption('expired');
    await expect
      .poll(() => page.locator(`tr[data-silence-id="${id}"] [data-state]`).getAttribute('data-state'))
      .toBe('expired');
    expect(new URL(page.url()).searchParams.get('state')).toBe('expired');

    // A bad matcher is refused with the server's reason.
    await page.getByLabel('Matchers, one per line').fill('model=~"("');
    await page.getByLabel('Created by').fill('ops');
    await page.getByRole('button', { name: 'Create silence' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/matchers|regex|invalid/i);
    await page.context().close();
  });

  it('rules page and notification log agree with the API', async () => {
    const api = await call('GET', '/api/v1/alerts/rules');
    const page = await open('/rules');
    const rows = page.locator('table[data-rules-list] tbody tr');
    await expect.poll(() => rows.count()).toBe(api.rules.length);
    for (const r of api.rules) {
      const row = page.locator(`tr[data-rule="${r.name}"]`);
      expect(await row.locator('[data-state]').getAttribute('data-state')).toBe(r.state);
      expect(Number(await row.locator('[data-firing]').textContent())).toBe(
        r.series.filter((s: any) => s.status === 'firing').length,
      );
      expect(Number(await row.locator('[data-pending]').textContent())).toBe(
        r.series.filter((s: any) => s.status === 'pending').length,
      );
      expect(await row.locator('td').nth(1).textContent()).toBe(r.origin);
    }
    expect(await page.locator('tr[data-rule="ModelErrors"] code').first().textContent()).toBe(
      'errors over 1h by model > 2',
    );
    await page.getByLabel('Origin').selectOption('api');
    await expect.poll(() => rows.count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('origin')).toBe('api');
    await page.context().close();

    const log = await call('GET', '/api/v1/alerts/notifications?limit=200');
    const notes = await open('/notifications');
    await expect.poll(() => notes.locator('table[data-sent] tbody tr').count()).toBe(log.sent.length);
    for (const s of log.sent)
      expect(await notes.locator(`tr[data-notification="${s.id}"] td`).nth(3).textContent()).toContain(s.outcome);
    await notes.context().close();
  });

  it('axe-core finds no serious or critical violation on the alerting pages in either theme; screenshots', async () => {
    const found: string[] = [];
    mkdirSync(SHOTS, { recursive: true });
    for (const [label, viewport] of [
      ['desktop', { width: 1280, height: 900 }],
      ['phone', { width: 390, height: 844 }],
    ] as const)
      for (const theme of ['light', 'dark'] as const)
        for (const path of ['/alerts', '/silences?state=all', '/rules', '/notifications']) {
          const page = await open(path, { theme, viewport });
          await page.locator('table tbody tr').first().waitFor();
          const name = path.slice(1).split('?')[0];
          if (theme === 'light' || path === '/alerts')
            await page.screenshot({
              path: join(SHOTS, `${name}-${label}-${theme}.png`),
              fullPage: label === 'desktop',
            });
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          expect(overflow, `${path} at ${label} width scrolls sideways`).toBeLessThanOrEqual(1);
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
          for (const v of violations) found.push(`${path} [${label} ${theme}] ${v}`);
          await page.context().close();
        }
    expect(found).toEqual([]);
  }, 180_000);
});
