/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against a
 * started server with demo traffic. Visits every page, checks the numbers shown against the
 * API, uses filters and a shared URL, opens a call and its trace, watches the live page, saves
 * screenshots at desktop and phone width (artifacts/screenshots/) and runs axe-core on every
 * page in both themes. Run with `npm run test:browser` (builds first).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoHandle, startDemo } from '../../server/src/demo/generator.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../../server/src/test-support/harness.js';

const CHROMIUM = process.env['RP_CHROMIUM'] ?? '/usr/bin/chromium';
const SHOTS = resolve(import.meta.dirname, '../../../artifacts/screenshots');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const HOUR_MS = 3_600_000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

interface SummaryRow {
  group: Record<string, string | null>;
  requests: number;
  errors: number;
  costUsd: number | null;
  errorRate: number;
  [k: string]: unknown;
}

describe('dashboard in Chromium', () => {
  let server: TestServer;
  let demo: DemoHandle;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** A finished, hour-aligned window inside the demo's backfill: its numbers do not move. */
  let fromMs: number;
  let toMs: number;
  let range: string;

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  };

  const newPage = async (viewport = DESKTOP, theme: 'light' | 'dark' = 'light') => {
    const ctx = await browser.newContext({ viewport, colorScheme: theme });
    await ctx.addInitScript(
      ([token, t]) => {
        sessionStorage.setItem('rp-token', token as string);
        localStorage.setItem('rp-theme', t as string);
      },
      [ADMIN_TOKEN, theme],
    );
    return { ctx, page: await ctx.newPage() };
  };

  beforeAll(async () => {
    server = await startTestServer();
    demo = await startDemo({
      baseUrl: server.url,
      adminToken: ADMIN_TOKEN,
      dataDir: server.config.dataDir,
      seed: 7,
      backfillHours: 6,
      backfillCallsPerHour: 400,
      callsPerSecond: 2,
    });
    toMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    fromMs = toMs - 4 * HOUR_MS;
    range = `from=${new Date(fromMs).toISOString()}&to=${new Date(toMs).toISOString()}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    ({ ctx: context, page } = await newPage());
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await demo?.stop();
    await server?.stop();
  });

  it('signs in with the admin token and keeps it for the tab', async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const p = await ctx.newPage();
    await p.goto(`${server.url}/`);
    await p.getByLabel('Admin token or project key').fill('rpa_wrong');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => p.getByRole('alert').textContent()).toContain('not valid');
    await p.getByLabel('Admin token or project key').fill(ADMIN_TOKEN);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    expect(await p.evaluate(() => sessionStorage.getItem('rp-token'))).toBe(ADMIN_TOKEN);
    await p.reload();
    await p.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await ctx.close();
  });

  it('overview shows the API numbers for a shared range', async () => {
    await page.goto(`${server.url}/?${range}`);
    const total = (await api<{ rows: SummaryRow[] }>(`/api/v1/llm/summary?from=${fromMs}&to=${toMs}`)).rows[0]!;
    const requests = page.locator('[data-kpi="requests"] [data-value]');
    await expect.poll(() => requests.textContent()).toBe(total.requests.toLocaleString('en-US'));
    const errorRate = page.locator('[data-kpi="error-rate"] [data-value]');
    await expect.poll(() => errorRate.textContent()).not.toBe('0%');
    const top = (
      await api<{ rows: SummaryRow[] }>(
        `/api/v1/llm/summary?from=${fromMs}&to=${toMs}&groupBy=model&orderBy=costUsd&limit=5`,
      )
    ).rows.map((r) => r.group['model']);
    const shown = page.locator('table[data-top="model"] tbody tr td:first-child');
    await expect.poll(() => shown.allTextContents()).toEqual(top);
    await page.locator('.spark canvas').first().waitFor();
  });

  it('cost explorer: breakdown matches the API; a filter lands in the URL and a shared URL restores it', async () => {
    await page.goto(`${server.url}/cost?${range}&groupBy=project&metric=requests`);
    const byProject = (
      await api<{ rows: SummaryRow[] }>(`/api/v1/llm/summary?from=${fromMs}&to=${toMs}&groupBy=project`)
    ).rows;
    const cells = page.locator('table[data-breakdown] tbody tr');
    await expect.poll(() => cells.count()).toBe(byProject.length);
    for (const r of byProject) {
      const row = page.locator('table[data-breakdown] tbody tr', {
        has: page.getByRole('rowheader', { name: r.group['project']! }),
      });
      await expect.poll(() => row.locator('td').first().textContent()).toBe(r.requests.toLocaleString('en-US'));
    }
    await page.locator('.chart canvas').first().waitFor();
    // Filter by one project through the filter bar.
    const project = byProject[0]!.group['project']!;
    await page.getByLabel(/^Project/).selectOption(project);
    await expect.poll(() => new URL(page.url()).searchParams.get('project')).toBe(project);
    await expect.poll(() => cells.count()).toBe(1);
    // The shared URL opens the same view in a fresh tab.
    const shared = page.url();
    const { ctx, page: other } = await newPage();
    await other.goto(shared);
    await expect.poll(() => other.locator('table[data-breakdown] tbody tr th').allTextContents()).toEqual([project]);
    expect(await other.getByLabel(/^Project/).inputValue()).toBe(project);
    expect(await other.getByLabel(/^Group by/).inputValue()).toBe('project');
    await ctx.close();
  });

  it('calls: a filtered table, a call in the drawer, and its trace', async () => {
    await page.goto(`${server.url}/calls?${range}&status=error`);
    const rows = page.locator('table[data-calls] tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    const statuses = await page.locator('table[data-calls] tbody .pill').allTextContents();
    expect(new Set(statuses)).toEqual(new Set(['error']));
    // A call with a trace: find one through the API (OTLP demo calls carry trace ids).
    const calls = await api<{ items: Array<{ id: string; projectId: string; traceId: string | null }> }>(
      `/api/v1/llm/calls?from=${fromMs}&to=${toMs}&limit=200`,
    );
    const traced = calls.items.find((c) => c.traceId !== null)!;
    expect(traced).toBeDefined();
    await page.goto(
      `${server.url}/calls?${range}&call=${traced.id}&callProject=${traced.projectId}&traceId=${traced.traceId}`,
    );
    const drawer = page.getByRole('dialog');
    await drawer.waitFor();
    expect(await drawer.getByRole('heading', { level: 2 }).textContent()).toBe(`Call ${traced.id}`);
    await page.keyboard.press('Escape');
    await expect.poll(() => drawer.count()).toBe(0);
    await page.locator(`[data-call-id="${traced.id}"]`).click();
    await drawer.locator('[data-trace-link]').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/traces/${traced.traceId}`);
    const trace = await api<{ llmCalls: unknown[]; spans: unknown[]; costUsd: number | null }>(
      `/api/v1/traces/${traced.traceId}`,
    );
    const waterfall = page.locator('table[data-waterfall] tbody tr');
    await expect.poll(() => waterfall.count()).toBe(trace.llmCalls.length + trace.spans.length);
    await expect.poll(() => page.locator('table[data-waterfall] tbody tr.is-call').count()).toBe(trace.llmCalls.length);
  });

  it('calls: the search runs on the server over the whole range, and lands in the URL', async () => {
    const sample = await api<{ items: Array<{ userId: string | null }> }>(
      `/api/v1/llm/calls?from=${fromMs}&to=${toMs}&limit=50`,
    );
    const user = sample.items.find((c) => c.userId)!.userId!;
    const expected = await api<{ items: Array<{ id: string }>; nextCursor: string | null }>(
      `/api/v1/llm/calls?from=${fromMs}&to=${toMs}&limit=50&q=${encodeURIComponent(user.toUpperCase())}`,
    );
    expect(expected.items.length).toBeGreaterThan(0);
    await page.goto(`${server.url}/calls?${range}`);
    await page.locator('table[data-calls] tbody tr').first().waitFor();
    await page.getByRole('searchbox', { name: 'Search calls' }).fill(user.toUpperCase());
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe(user.toUpperCase());
    await expect
      .poll(() =>
        page
          .locator('table[data-calls] tbody [data-call-id]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-call-id'))),
      )
      .toEqual(expected.items.map((c) => c.id));
    await page.getByRole('searchbox', { name: 'Search calls' }).fill('no-such-text-anywhere');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('[data-empty]').textContent()).toContain('no-such-text-anywhere');
  });

  it('traces: the list pages with the cursor, matching the API', async () => {
    const first = await api<{ items: Array<{ traceId: string }>; nextCursor: string | null }>(
      `/api/v1/traces?from=${fromMs}&to=${toMs}&limit=50`,
    );
    expect(first.nextCursor).not.toBeNull();
    const second = await api<{ items: Array<{ traceId: string }> }>(
      `/api/v1/traces?from=${fromMs}&to=${toMs}&limit=50&cursor=${first.nextCursor}`,
    );
    await page.goto(`${server.url}/traces?${range}`);
    const ids = () =>
      page
        .locator('table[data-traces] tbody tr a')
        .evaluateAll((els) =>
          els.map((e) => decodeURIComponent(new URL((e as HTMLAnchorElement).href).pathname.split('/').pop()!)),
        );
    await expect.poll(ids).toEqual(first.items.map((t) => t.traceId));
    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(ids).toEqual(second.items.map((t) => t.traceId));
    expect(await page.locator('[data-page]').textContent()).toBe('Page 2');
    await page.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(ids).toEqual(first.items.map((t) => t.traceId));
  });

  it('keyboard: skip link, nav by Tab and Enter, the drawer closes with Escape and gives focus back', async () => {
    await page.goto(`${server.url}/?${range}`);
    await page.locator('main[data-ready]').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // Tab from the top reaches the nav's Cost link; Enter opens it without a mouse.
    await page.reload();
    await page.locator('main[data-ready]').waitFor();
    let onCost = false;
    for (let i = 0; i < 15 && !onCost; i++) {
      await page.keyboard.press('Tab');
      onCost = await page.evaluate(() => document.activeElement?.textContent === 'Cost');
    }
    expect(onCost).toBe(true);
    expect(
      await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle !== 'none'),
      'focus is visible',
    ).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/cost');
    // Calls: a row's link opens the drawer from the keyboard; Escape closes it.
    await page.goto(`${server.url}/calls?${range}`);
    const firstCall = page.locator('table[data-calls] tbody [data-call-id]').first();
    await firstCall.focus();
    await page.keyboard.press('Enter');
    const drawer = page.getByRole('dialog');
    await drawer.waitFor();
    expect(await drawer.evaluate((d) => d.contains(document.activeElement))).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => drawer.count()).toBe(0);
    // Focus goes back to the row once the drawer has unmounted.
    await expect.poll(() => page.evaluate(() => document.activeElement?.hasAttribute('data-call-id'))).toBe(true);
  });

  it('an unknown page says so inside the app', async () => {
    await page.goto(`${server.url}/no-such-page`);
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    expect(await page.title()).toBe('Page not found · ReskPoints');
  });

  it('traces list links to trace views', async () => {
    await page.goto(`${server.url}/traces?${range}`);
    const first = page.locator('table[data-traces] tbody tr a').first();
    await first.waitFor();
    await first.click();
    await page.locator('table[data-waterfall]').waitFor();
  });

  it('live: calls stream in, pause holds the table still, a model filter narrows the stream', async () => {
    await page.goto(`${server.url}/live`);
    const rows = page.locator('table[data-live] tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Pause' }).click();
    const held = await rows.count();
    const received = Number((await page.locator('[data-received]').textContent())!.replace(/,/g, ''));
    await expect
      .poll(async () => Number((await page.locator('[data-received]').textContent())!.replace(/,/g, '')), {
        timeout: 20_000,
      })
      .toBeGreaterThan(received);
    expect(await rows.count()).toBe(held);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBeGreaterThan(held);
    // Filtered by a model: the table starts again with that model's calls only, and the URL keeps it.
    const model = (await rows.first().locator('td').nth(2).textContent())!;
    const box = page.getByRole('searchbox', { name: 'Model' });
    await box.fill(model);
    await box.press('Enter');
    await expect.poll(() => new URL(page.url()).searchParams.get('model')).toBe(model);
    await expect
      .poll(async () => [...new Set(await rows.locator('td:nth-child(3)').allTextContents())], { timeout: 20_000 })
      .toEqual([model]);
  });

  it('projects: create a project and a key, shown once with the OTel set-up; revoke a key', async () => {
    await page.goto(`${server.url}/projects`);
    await page.getByLabel('Project name').fill('browser-made');
    await page.getByRole('button', { name: 'Create project' }).click();
    const issued = page.locator('[data-issued-key]');
    await issued.waitFor();
    const key = (await issued.locator('[data-key]').textContent())!;
    expect(key).toMatch(/^rpk_/);
    expect(await issued.locator('pre').textContent()).toContain(`OTEL_EXPORTER_OTLP_ENDPOINT=${server.url}`);
    // The key works.
    const me = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await me.json()) as { kind: string }).kind).toBe('project');
    page.once('dialog', (d) => void d.accept());
    const keys = page.locator('table[data-keys] tbody tr');
    await expect.poll(() => keys.count()).toBe(1);
    await page.getByRole('button', { name: /^Revoke/ }).click();
    await expect.poll(() => keys.first().locator('td').nth(3).textContent()).toMatch(/^revoked/);
    const after = await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(after.status).toBe(401);
  });

  it("a fresh install teaches how to send the first call, with this server's address", async () => {
    const fresh = await startTestServer();
    try {
      const ctx = await browser.newContext({ viewport: DESKTOP });
      await ctx.addInitScript((t) => sessionStorage.setItem('rp-token', t as string), ADMIN_TOKEN);
      const p = await ctx.newPage();
      await p.goto(`${fresh.url}/`);
      const empty = p.locator('[data-empty-state]');
      await empty.waitFor();
      expect(await empty.textContent()).toContain(`export OTEL_EXPORTER_OTLP_ENDPOINT=${fresh.url}`);
      await p.screenshot({ path: join(SHOTS, 'empty-state-desktop.png'), fullPage: true });
      await p.setViewportSize(PHONE);
      await p.screenshot({ path: join(SHOTS, 'empty-state-phone.png'), fullPage: true });
      // The other data pages teach too instead of showing an empty table.
      await p.goto(`${fresh.url}/calls`);
      await p.locator('main[data-ready]').waitFor();
      expect(await p.locator('main').textContent()).toMatch(/No calls|send/i);
      await ctx.close();
    } finally {
      await fresh.stop();
    }
  });

  /**
   * Every page in the nav (so a page added to the registry is visited without editing this
   * file), as the nav links it from the overview of the shared range. Each page sets
   * `main[data-ready]` when its first data are on screen; the pages below also name what that
   * data looks like here.
   */
  const CONTENT: Record<string, string> = {
    '/': '[data-kpi="requests"] [data-value]',
    '/cost': 'table[data-breakdown] tbody tr',
    '/calls': 'table[data-calls] tbody tr',
    '/traces': 'table[data-traces] tbody tr',
    '/live': 'table[data-live] tbody tr',
    '/projects': '.project-list li',
  };
  let pages: Array<{ name: string; href: string }> = [];
  const navPages = async () => {
    if (pages.length > 0) return pages;
    await page.goto(`${server.url}/?${range}`);
    await page.locator('main[data-ready]').waitFor();
    const hrefs = await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link')
      .evaluateAll((els) => els.map((e) => e.getAttribute('href')!));
    pages = hrefs.map((href) => {
      const path = href.split('?')[0]!;
      return { name: path === '/' ? 'overview' : path.slice(1).replace(/\//g, '-'), href };
    });
    for (const known of Object.keys(CONTENT)) expect(pages.map((pg) => pg.href.split('?')[0])).toContain(known);
    return pages;
  };
  const waitReady = async (p: Page, href: string) => {
    await p.locator('main[data-ready]').waitFor({ timeout: 20_000 });
    const content = CONTENT[href.split('?')[0]!];
    if (content) await p.locator(content).first().waitFor({ timeout: 20_000 });
    await p.waitForLoadState('networkidle').catch(() => undefined);
  };

  it('screenshots of every page at desktop and phone width', async () => {
    for (const [label, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      for (const theme of ['light', 'dark'] as const) {
        const { ctx, page: p } = await newPage(viewport, theme);
        for (const pg of await navPages()) {
          await p.goto(`${server.url}${pg.href}`);
          await waitReady(p, pg.href);
          await p.screenshot({ path: join(SHOTS, `${pg.name}-${label}-${theme}.png`), fullPage: label === 'desktop' });
          if (pg.name === 'traces') {
            await p.locator('table[data-traces] tbody tr a').first().click();
            await p.locator('table[data-waterfall] tbody tr').first().waitFor();
            await p.screenshot({ path: join(SHOTS, `trace-${label}-${theme}.png`), fullPage: label === 'desktop' });
          }
          // Nothing wider than the viewport: the page reflows down to phone width.
          const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          expect(overflow, `${pg.name} ${label} scrolls sideways`).toBeLessThanOrEqual(1);
        }
        await ctx.close();
      }
    }
  }, 300_000);

  it('axe-core finds no serious or critical violation on any page, in either theme', async () => {
    const found: string[] = [];
    for (const [theme, viewport] of [
      ['light', DESKTOP],
      ['dark', DESKTOP],
      ['light', PHONE],
    ] as const) {
      const { ctx, page: p } = await newPage(viewport, theme);
      for (const pg of [...(await navPages()), { name: 'trace', href: '' }]) {
        if (pg.name === 'trace') {
          await p.goto(`${server.url}/traces?${range}`);
          await p.locator('table[data-traces] tbody tr a').first().click();
          await p.locator('table[data-waterfall] tbody tr').first().waitFor({ timeout: 20_000 });
        } else await p.goto(`${server.url}${pg.href}`);
        await waitReady(p, pg.href);
        await p.addScriptTag({ content: AXE_SOURCE });
        const violations = await p.evaluate(async () => {
          const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<any> } }).axe;
          const r = await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] });
          return r.violations
            .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
            .map(
              (v: any) =>
                `${v.id} (${v.impact}): ${v.nodes
                  .slice(0, 3)
                  .map((n: any) => n.target.join(' '))
                  .join(' | ')}`,
            );
        });
        for (const v of violations) found.push(`${pg.name} [${theme}] ${v}`);
      }
      await ctx.close();
    }
    expect(found).toEqual([]);
  }, 300_000);
});
