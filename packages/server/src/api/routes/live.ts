import type { FieldIssue } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpAppError } from '../errors.js';
import { requirePrincipal } from '../guard.js';
import { finish, parseFilter, splitList } from '../params.js';
import type { Api, ApiDeps } from '../server.js';

/** A slow client may buffer this much before its messages are dropped (and counted). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export function registerLiveRoute(app: Api | FastifyInstance, deps: ApiDeps): void {
  const api = app as Api;
  api.get(
    '/api/v1/live',
    {
      websocket: true,
      // Authenticated in preValidation below (still before the query is validated): a 401 from
      // onRequest would leave the refused upgrade's socket open.
      config: { auth: 'none' },
      schema: {
        tags: ['query'],
        summary: 'WebSocket: newly committed LLM calls as {type:"llm_calls", items:[…]} messages',
        description: 'Browsers pass the key as ?token=…; filter with ?project= and ?model= (comma-separated).',
        querystring: z.object({
          token: z.string().optional(),
          project: z.string().optional(),
          model: z.string().optional(),
        }),
      },
      // Authenticate before the upgrade so a bad key gets a plain 401.
      preValidation: async (req) => {
        const principal = await requirePrincipal(req, deps, 'any');
        const issues: FieldIssue[] = [];
        const q = req.query as { project?: string };
        const filter = parseFilter({ project: q.project }, principal, issues);
        const checked = finish(filter, issues);
        if (!checked.ok) throw new HttpAppError(checked.error);
        (req as unknown as { liveProjects: string[] | null }).liveProjects = checked.value.projectIds ?? null;
      },
    },
    (socket, req) => {
      const projectIds = (req as unknown as { liveProjects: string[] | null }).liveProjects;
      const models = splitList((req.query as { model?: string }).model) ?? null;
      const unsubscribe = deps.live.subscribe({ projectIds, models }, (payload) => {
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          deps.metrics.liveDropped.inc();
          return false;
        }
        socket.send(payload);
        return true;
      });
      socket.on('close', unsubscribe);
      socket.on('error', unsubscribe);
      socket.send(JSON.stringify({ type: 'hello', filter: { projectIds, models } }));
    },
  );
}
