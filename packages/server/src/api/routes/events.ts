import { appError } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type PlatformEvent, type PlatformEvents, TOPIC_PATTERN } from '../../platform/events.js';
import type { Principal } from '../auth.js';
import { HttpAppError } from '../errors.js';
import { requirePrincipal } from '../guard.js';
import { splitList } from '../params.js';
import type { Api, ApiDeps } from '../server.js';

/** A slow client may buffer this much before its messages are dropped (and counted). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

interface EventsRequestState {
  principal: Principal;
  topics: string[] | '*';
  projectIds: string[] | null;
}

const state = new WeakMap<object, EventsRequestState>();

/** Whether a client with this principal and filter may see the event. */
export function visibleTo(event: PlatformEvent, principal: Principal, projectIds: readonly string[] | null): boolean {
  if (principal.kind === 'project') return event.projectId === principal.projectId;
  if (!projectIds) return true;
  return event.projectId !== null && projectIds.includes(event.projectId);
}

/**
 * `GET /api/v1/events`: the platform's live events (alert state changes, anomalies, budget
 * crossings, log lines) over a WebSocket, each message a JSON `{topic, projectId, atMs, data}`.
 */
export function registerEventsRoute(app: Api | FastifyInstance, deps: ApiDeps & { events: PlatformEvents }): void {
  const api = app as Api;
  api.get(
    '/api/v1/events',
    {
      websocket: true,
      config: { auth: 'none' },
      schema: {
        tags: ['query'],
        summary: 'WebSocket: live platform events as {topic, projectId, atMs, data} messages',
        description:
          'Choose topics with ?topics=alerts,anomalies,budgets,logs (default: all). Browsers pass the key as ?token=…. ' +
          "A project key sees only its project's events; the admin token sees all, or those of ?project= (comma-separated ids). " +
          'Events are live hints: a client that was not connected reads the REST API.',
        querystring: z.object({
          token: z.string().optional(),
          topics: z.string().optional(),
          project: z.string().optional(),
        }),
      },
      // Authenticated and checked before the upgrade, so a bad request gets a plain 4xx.
      preValidation: async (req) => {
        const principal = await requirePrincipal(req, deps, 'any');
        const q = req.query as { topics?: string; project?: string };
        const topics = splitList(q.topics) ?? null;
        const bad = (topics ?? []).filter((t) => !TOPIC_PATTERN.test(t));
        if (bad.length > 0)
          throw new HttpAppError(
            appError('RP_VALIDATION', `topics: not a topic name: ${bad.map((t) => JSON.stringify(t)).join(', ')}`),
          );
        const projectIds = splitList(q.project) ?? null;
        if (principal.kind === 'project' && projectIds && projectIds.some((p) => p !== principal.projectId))
          throw new HttpAppError(appError('RP_FORBIDDEN', "a project key sees only its own project's events"));
        state.set(req, { principal, topics: topics && topics.length > 0 ? topics : '*', projectIds });
      },
    },
    (socket, req) => {
      const s = state.get(req) as EventsRequestState;
      const unsubscribe = deps.events.subscribe(s.topics, (event) => {
        if (!visibleTo(event, s.principal, s.projectIds)) return;
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          deps.metrics.liveDropped.inc();
          return;
        }
        socket.send(JSON.stringify(event));
      });
      socket.on('close', unsubscribe);
      socket.on('error', unsubscribe);
      socket.send(
        JSON.stringify({ topic: 'hello', projectId: null, atMs: deps.clock.nowMs(), data: { topics: s.topics } }),
      );
    },
  );
}
