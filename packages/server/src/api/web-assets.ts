/**
 * Serves the dashboard (`packages/web/dist`, built by `npm run build`) at `/`: its files with
 * long caching for content-hashed assets, and `index.html` for a browser opening any other page
 * (a shared link such as `/cost?range=7d` gets the app, which reads the URL and routes itself;
 * the app's page list is in `packages/web/src/page-registry.ts`, so the server needs no list).
 * The files are read once at start: the build is small and does not change while running.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { dashboardPage, homePage, requestBaseUrl } from './routes/home.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** Paths that are never dashboard pages: API clients get the JSON 404 there even from a browser. */
const NOT_PAGES = /^\/(?:api|v1|docs|openapi\.json|health|ready|metrics|assets)(?:[/?.]|$)/;

/** Where the built dashboard lives, relative to this file's folder (src/api or the bundled dist). */
export function defaultWebDir(fromDir: string): string {
  return resolve(fromDir, '../../web/dist');
}

interface Asset {
  body: Buffer;
  type: string;
  immutable: boolean;
}

function readTree(root: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const rel = relative(root, full).split(sep).join('/');
        out.set(`/${rel}`, {
          body: readFileSync(full),
          type: TYPES[extname(name)] ?? 'application/octet-stream',
          // Vite names everything under assets/ by content hash.
          immutable: rel.startsWith('assets/'),
        });
      }
    }
  };
  walk(root);
  return out;
}

/**
 * A browser navigating to a page of the app: a GET or HEAD that accepts HTML, for a path with
 * no file extension outside the API. Everything else unknown stays a JSON 404.
 */
export function isPageNavigation(method: string, path: string, accept: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (!accept?.includes('text/html')) return false;
  if (NOT_PAGES.test(path)) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return !last.includes('.');
}

/** Answers an unknown path with the app when it is a page navigation; false when it is not. */
export type AppShell = (req: FastifyRequest, reply: FastifyReply) => boolean;

/**
 * Registers `/` and the dashboard's files, and returns the answer for page navigations that
 * the not-found handler uses. When the dashboard was not built (`packages/web/dist` missing)
 * `/` answers the home page with the next steps, so the server still teaches; other pages are
 * then unknown paths.
 */
export function registerWebAssets(
  app: FastifyInstance | import('./server.js').Api,
  webDir: string | null | undefined,
  version: string,
): AppShell {
  const api = app as unknown as FastifyInstance;
  const assets = webDir && existsSync(join(webDir, 'index.html')) ? readTree(webDir) : null;
  const index = assets?.get('/index.html')?.body.toString('utf8') ?? null;

  const sendPage = (req: FastifyRequest, reply: FastifyReply) => {
    const baseUrl = requestBaseUrl(req);
    if (index === null) return reply.type('text/html; charset=utf-8').send(homePage(baseUrl, version));
    // index.html names the hashed assets of this build: always revalidate it.
    return reply
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(dashboardPage(index, baseUrl, version));
  };

  api.get('/', { config: { auth: 'none' }, schema: { hide: true } }, async (req, reply) => sendPage(req, reply));
  if (!assets) return () => false;
  for (const [path, asset] of assets) {
    if (path === '/index.html') continue;
    api.get(path, { config: { auth: 'none' }, schema: { hide: true } }, async (_req, reply) => {
      reply.header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.type(asset.type).send(asset.body);
    });
  }
  return (req, reply) => {
    if (!isPageNavigation(req.method, req.url.split('?')[0]!, req.headers.accept)) return false;
    void sendPage(req, reply.code(200));
    return true;
  };
}
