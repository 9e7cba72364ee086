/**
 * `GET /`: a small page saying what this server is and what to do next. The dashboard will
 * replace it; until then it is this one file.
 */
import { nextSteps } from '../../next-steps.js';
import type { Api, ApiDeps } from '../server.js';

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** host[:port] as the client addressed us; anything else falls back to the listening address. */
const HOST_HEADER = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export function homePage(baseUrl: string, version: string): string {
  const steps = nextSteps(baseUrl)
    .map(
      (s) =>
        `<li><p>${escapeHtml(s.title)}:</p><pre>${s.commands.map(escapeHtml).join('\n')}</pre>${
          s.note ? `<p class="note">${escapeHtml(s.note)}</p>` : ''
        }</li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ReskPoints</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1d2433; }
pre { background: #f3f4f8; padding: .75rem 1rem; border-radius: 6px; overflow-x: auto; }
.note { color: #5b6478; font-size: .9rem; margin-top: -.5rem; }
code { background: #f3f4f8; padding: 0 .25rem; border-radius: 3px; }
</style>
</head>
<body>
<h1>ReskPoints</h1>
<p>This is a ReskPoints server (version ${escapeHtml(version)}) at <code>${escapeHtml(baseUrl)}</code>.
It takes in the LLM calls and traces your applications emit — over OTLP/HTTP or its native batch API —
and answers what each model, project and user uses: requests, errors, tokens, latency.</p>
<p>The API is described at <a href="/docs">/docs</a> (OpenAPI document: <a href="/openapi.json">/openapi.json</a>).</p>
<h2>Next steps</h2>
<ol>
${steps}
</ol>
</body>
</html>
`;
}

export function registerHomeRoute(app: Api | import('fastify').FastifyInstance, deps: ApiDeps): void {
  const api = app as Api;
  api.get('/', { config: { auth: 'none' }, schema: { hide: true } }, async (req, reply) => {
    const host = req.headers.host;
    const addr = req.socket.address() as { address?: string; family?: string; port?: number };
    const listening = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
    const baseUrl = `http://${host && HOST_HEADER.test(host) ? host : listening}`;
    return reply.type('text/html; charset=utf-8').send(homePage(baseUrl, deps.version));
  });
}
