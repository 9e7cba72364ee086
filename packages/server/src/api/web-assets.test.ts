import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, tempDir } from '../test-support/harness.js';

/** What Chromium sends when it opens a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('the dashboard is served at /', () => {
  let s: TestServer;
  const dir = tempDir('reskpoints-web-');
  beforeAll(async () => {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>ReskPoints</title><div id="app"></div>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'favicon.svg'), '<svg/>');
    s = await startTestServer({}, { webDir: dir });
  });
  afterAll(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers index.html at / and to a browser opening any page (shared links), never cached', async () => {
    for (const path of [
      '/',
      '/cost?range=7d&model=gpt-4o',
      '/calls',
      '/traces/0af7651916cd43dd',
      '/live',
      '/projects',
      // A page the app adds later needs nothing on the server.
      '/some-future-page/abc?x=1',
    ]) {
      const res = await fetch(`${s.url}${path}`, { headers: { accept: BROWSER_ACCEPT } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const html = await res.text();
      expect(html).toContain('<div id="app">');
      // The next steps, with this server's address, are on the page before the app starts.
      expect(html).toContain(`export OTEL_EXPORTER_OTLP_ENDPOINT=${s.url}`);
      expect(html).toContain('<script type="application/json" id="rp-next-steps">');
    }
  });

  it('serves hashed assets with a long cache and other files revalidated', async () => {
    const js = await fetch(`${s.url}/assets/index-abc123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const svg = await fetch(`${s.url}/favicon.svg`);
    expect(svg.headers.get('cache-control')).toBe('no-cache');
  });

  it('leaves the API, files and non-browser clients alone', async () => {
    for (const [path, accept] of [
      ['/assets/nope.js', BROWSER_ACCEPT],
      ['/favicon-missing.ico', BROWSER_ACCEPT],
      ['/api/v1/nope', BROWSER_ACCEPT],
      ['/v1/nope', BROWSER_ACCEPT],
      ['/cost', 'application/json'],
      ['/cost', '*/*'],
    ] as const) {
      const missing = await fetch(`${s.url}${path}`, { headers: { accept } });
      expect(missing.status, `${path} ${accept}`).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('RP_NOT_FOUND');
    }
    const post = await fetch(`${s.url}/cost`, { method: 'POST', headers: { accept: BROWSER_ACCEPT } });
    expect(post.status).toBe(404);
    expect((await fetch(`${s.url}/api/v1/llm/calls?from=now-1h&to=now`)).status).toBe(401);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    const spec = (await (await fetch(`${s.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).not.toContain('/cost');
  });
});

describe('without a built dashboard', () => {
  it('/ still says what to do next', async () => {
    const s = await startTestServer({}, { webDir: join(tempDir('reskpoints-noweb-'), 'missing') });
    try {
      const res = await fetch(`${s.url}/`);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('npm run build');
      expect(html).toContain(`export OTEL_EXPORTER_OTLP_ENDPOINT=${s.url}`);
      // The app's routes are not served without the app.
      expect((await fetch(`${s.url}/cost`, { headers: { accept: BROWSER_ACCEPT } })).status).toBe(404);
    } finally {
      await s.stop();
    }
  });
});
