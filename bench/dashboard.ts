/**
 * Dashboard benchmark: time to first meaningful paint of the overview and the cost explorer
 * with N calls (default 10,000,000) in the store, and the gzipped size of the JavaScript the
 * first page loads.
 *
 * Loads the query benchmark's data set (bench/lib/llm-calls.ts: 90 days ending now) into
 * `<dataDir>/telemetry.duckdb` through DuckDbTelemetryStore.appendBatch, starts the built
 * server on that data dir as its own process (`node packages/server/dist/main.js start`), and
 * opens each page in headless Debian Chromium (playwright-core) in a fresh browser context, so
 * nothing is cached. First meaningful paint is navigation start to the page's `rp:ready`
 * performance mark, which the page sets once its headline figures and chart are on screen
 * (`usePageReady` in packages/web/src/hooks.ts). Each page is opened `--runs` times; the line
 * gives the median, the first (cold) load and the slowest API request of the median run.
 *
 *   npm run bench:dashboard                        (builds, then runs with 10M calls)
 *   npx tsx bench/dashboard.ts --calls 1000000 --runs 5 [--keep]
 *   npx tsx bench/dashboard.ts --data-dir /tmp/…   (reuse a kept data dir; pass its --calls)
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { type Browser, chromium, type Request } from 'playwright-core';
import { DuckDbTelemetryStore } from '../packages/server/src/store/duckdb/duckdb-telemetry-store.js';
import { ADMIN_TOKEN, spawnServer } from '../packages/server/src/test-support/harness.js';
import { type CallSet, HOUR_MS, loadCalls } from './lib/llm-calls.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string' },
    batch: { type: 'string' },
    runs: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
  },
});
const totalCalls = Number(args.calls ?? process.env['BENCH_CALLS'] ?? 10_000_000);
const batchSize = Number(args.batch ?? 50_000);
const runs = Number(args.runs ?? 5);
const CHROMIUM = process.env['RP_CHROMIUM'] ?? '/usr/bin/chromium';
const TTFMP_TARGET_MS = 1000;
const JS_TARGET_BYTES = 200 * 1024;

interface PageLoad {
  ttfmpMs: number;
  requests: Array<{ url: string; ms: number }>;
  js: Array<{ url: string; raw: number; gzip: number }>;
}

async function main(): Promise<void> {
  const reuse = args['data-dir'] !== undefined;
  const dataDir = args['data-dir'] ?? (await mkdtemp(join(tmpdir(), 'reskpoints-bench-dashboard-')));
  const telemetryPath = join(dataDir, 'telemetry.duckdb');
  console.log(`bench:dashboard calls=${totalCalls} runs=${runs} dataDir=${dataDir}`);
  try {
    if (!reuse) {
      // The data set ends at the next whole hour, so "today", "this month" and "last 24 h" are full.
      const set: CallSet = { totalCalls, endMs: Math.ceil(Date.now() / HOUR_MS) * HOUR_MS, spanDays: 90 };
      const store = await DuckDbTelemetryStore.open({ path: telemetryPath });
      try {
        await store.migrate();
        const t0 = performance.now();
        await loadCalls(store, set, batchSize, () => undefined);
        await store.compact();
        console.log(
          `loaded ${totalCalls} calls in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
            `file ${((await stat(telemetryPath)).size / 1e6).toFixed(0)} MB`,
        );
      } finally {
        await store.close();
      }
    }
    await measure(dataDir);
  } finally {
    if (args.keep || reuse) console.log(`kept ${dataDir}`);
    else await rm(dataDir, { recursive: true, force: true });
  }
}

async function measure(dataDir: string): Promise<void> {
  const server = await spawnServer(dataDir);
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    let firstPageJs: PageLoad['js'] = [];
    for (const [name, path] of [
      ['overview', '/'],
      ['cost explorer', '/cost'],
    ] as const) {
      const loads: PageLoad[] = [];
      for (let r = 0; r < runs; r++) loads.push(await load(browser, `${server.url}${path}`));
      if (path === '/') firstPageJs = loads[0]!.js;
      const sorted = [...loads].sort((a, b) => a.ttfmpMs - b.ttfmpMs);
      const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
      const slowest = [...median.requests].sort((a, b) => b.ms - a.ms)[0];
      console.log(
        `ttfmp ${name}: ${Math.round(median.ttfmpMs)} ms median of ${runs} loads ` +
          `(first ${Math.round(loads[0]!.ttfmpMs)} ms, best ${Math.round(sorted[0]!.ttfmpMs)} ms; ` +
          `${median.requests.length} API requests, slowest ${slowest ? `${Math.round(slowest.ms)} ms ${slowest.url}` : 'none'}) ` +
          `with ${totalCalls} calls; target ≤ ${TTFMP_TARGET_MS} ms`,
      );
    }
    const raw = firstPageJs.reduce((s, f) => s + f.raw, 0);
    const gz = firstPageJs.reduce((s, f) => s + f.gzip, 0);
    console.log(
      `first page JavaScript: ${(gz / 1024).toFixed(1)} KB gzipped (${firstPageJs.length} file${firstPageJs.length === 1 ? '' : 's'}, ` +
        `${(raw / 1024).toFixed(1)} KB raw); target ≤ ${JS_TARGET_BYTES / 1024} KB`,
    );
  } finally {
    await browser?.close();
    await server.stop();
  }
}

/** Opens `url` in a fresh context (empty cache) signed in with the admin token. */
async function load(browser: Browser, url: string): Promise<PageLoad> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    await ctx.addInitScript((token) => sessionStorage.setItem('rp-token', token as string), ADMIN_TOKEN);
    const page = await ctx.newPage();
    const js: PageLoad['js'] = [];
    const apiRequests: Request[] = [];
    page.on('request', (req) => {
      if (new URL(req.url()).pathname.startsWith('/api/')) apiRequests.push(req);
    });
    page.on('response', (res) => {
      if (res.request().resourceType() !== 'script') return;
      void res.body().then(
        (body) => js.push({ url: res.url(), raw: body.length, gzip: gzipSync(body, { level: 9 }).length }),
        () => undefined,
      );
    });
    await page.goto(url);
    await page.locator('main[data-ready]').waitFor({ timeout: 120_000 });
    const errors = await page.locator('main [role="alert"]').allTextContents();
    if (errors.length > 0) throw new Error(`${url}: ${errors.join('; ')}`);
    const ttfmpMs = await page.evaluate(() => performance.getEntriesByName('rp:ready')[0]!.startTime);
    await page.waitForLoadState('networkidle');
    const requests = apiRequests
      .filter((r) => r.timing().responseEnd > 0)
      .map((r) => {
        const u = new URL(r.url());
        // Timing fields are ms after the request started.
        return { url: `${u.pathname}${u.search}`, ms: r.timing().responseEnd };
      });
    return { ttfmpMs, requests, js };
  } finally {
    await ctx.close();
  }
}

await main();
