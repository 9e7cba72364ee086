/**
 * `GET /`: what this server is and what to do next. With the dashboard built, `/` is the
 * dashboard, and these next steps are what its page holds before the app starts (and without
 * JavaScript) and what the app's empty state shows; without it, this page alone.
 */
import type { FastifyRequest } from 'fastify';
import { nextSteps } from '../../next-steps.js';

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** host[:port] as the client addressed us; anything else falls back to the listening address. */
const HOST_HEADER = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** The page's content: what this server is and the next steps with its real address. */
export function homeBody(baseUrl: string, version: string): string {
  const steps = nextSteps(baseUrl)
    .map(
      (s) =>
        `<li><p>${escapeHtml(s.title)}:</p><pre>${s.commands.map(escapeHtml).join('\n')}</pre>${
          s.note ? `<p class="note">${escapeHtml(s.note)}</p>` : ''
        }</li>`,
    )
    .join('\n');
  return `<h1>ReskPoints</h1>
<p>This is a ReskPoints server (version ${escapeHtml(version)}) at <code>${escapeHtml(baseUrl)}</code>.
It takes in the LLM calls and traces your applications emit — over OTLP/HTTP or its native batch API —
and answers what each model, project and user uses: requests, errors, tokens, latency.</p>
<p>The API is described at <a href="/docs">/docs</a> (OpenAPI document: <a href="/openapi.json">/openapi.json</a>).</p>
<h2>Next steps</h2>
<ol>
${steps}
</ol>`;
}

export function homePage(baseUrl: string, version: string): string {
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
${homeBody(baseUrl, version)}
<p>The dashboard is not built here: run <code>npm run build</code> (or <code>npm start</code>, which builds first) and reload.</p>
</body>
</html>
`;
}

/**
 * The dashboard's index.html for this request: the home content inside the app's mount point
 * (replaced when the app starts) and the next steps as JSON for the app's empty state.
 */
export function dashboardPage(indexHtml: string, baseUrl: string, version: string): string {
  // JSON inside <script>: escape < so no string can close the element.
  const json = JSON.stringify({ baseUrl, steps: nextSteps(baseUrl) }).replace(/</g, '\\u003c');
  return indexHtml.replace(
    '<div id="app"></div>',
    `<div id="app"><div class="prerender">${homeBody(baseUrl, version)}</div></div>\n<script type="application/json" id="rp-next-steps">${json}</script>`,
  );
}

/** The address the client used (its Host header when well-formed), else the listening address. */
export function requestBaseUrl(req: FastifyRequest): string {
  const host = req.headers.host;
  const addr = req.socket.address() as { address?: string; family?: string; port?: number };
  const listening = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
  return `http://${host && HOST_HEADER.test(host) ? host : listening}`;
}
