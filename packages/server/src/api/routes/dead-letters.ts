import { appError } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { retryDeadLetter } from '../../pipeline/dead-letter-retry.js';
import { HttpAppError } from '../errors.js';
import { requirePrincipal } from '../guard.js';
import type { Api, ApiDeps } from '../server.js';

const summarySchema = z.object({
  id: z.string(),
  atMs: z.number().describe('When it was moved to the dead-letter area, epoch ms'),
  origin: z.enum(['ingest', 'ack-log', 'bus']).describe('Group commit, acknowledgement-log replay or bus worker'),
  reason: z.enum(['store-rejected', 'undecodable']),
  error: z.string().describe('The error the store (or decoder) gave'),
  events: z.number().int().describe('Events held (0 when it is kept raw because it no longer decodes)'),
  projectIds: z.array(z.string()),
  payloadType: z.enum(['batch', 'request', 'bus-message']),
});
const idParams = z.object({ id: z.string().min(1).max(64) });

/** Admin routes over the dead-letter area: list, show, retry, drop. */
export function registerDeadLetterRoutes(app: Api | FastifyInstance, deps: ApiDeps): void {
  const api = app as Api;
  const dl = deps.deadLetters;
  if (!dl) return;

  api.get(
    '/api/v1/dead-letters',
    {
      schema: {
        tags: ['dead letters'],
        summary: 'List what the store refused permanently, oldest first (admin)',
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          after: z.string().max(64).optional().describe('Id of the last letter of the previous page'),
        }),
        response: {
          200: z.object({
            deadLetters: z.array(summarySchema),
            held: z.object({ letters: z.number().int(), events: z.number().int() }),
          }),
        },
      },
    },
    async (req) => {
      await requirePrincipal(req, deps, 'admin');
      const deadLetters = await dl.store.list({ limit: req.query.limit, afterId: req.query.after });
      return { deadLetters, held: await dl.store.held() };
    },
  );

  api.get(
    '/api/v1/dead-letters/:id',
    {
      schema: {
        tags: ['dead letters'],
        summary: 'One dead letter with its events, or the raw request or message it came in (admin)',
        params: idParams,
      },
    },
    async (req) => {
      await requirePrincipal(req, deps, 'admin');
      const letter = await dl.store.get(req.params.id);
      if (!letter) throw new HttpAppError(appError('RP_NOT_FOUND', `dead letter ${req.params.id} does not exist`));
      return letter;
    },
  );

  api.post(
    '/api/v1/dead-letters/:id/retry',
    {
      schema: {
        tags: ['dead letters'],
        summary: 'Store a dead letter again once its cause is fixed (admin)',
        description:
          'Events the store takes are stored and the letter is removed; events it still refuses move to a new letter (remainingId). 422 RP_DEAD_LETTER_REFUSED when nothing in it can be stored yet; 503 when the store is unavailable (the letter stays).',
        params: idParams,
        response: {
          200: z.object({
            id: z.string(),
            stored: z.number().int(),
            duplicates: z.number().int(),
            stillRefused: z.number().int(),
            remainingId: z.string().nullable(),
          }),
        },
      },
    },
    async (req) => {
      await requirePrincipal(req, deps, 'admin');
      const r = await retryDeadLetter(req.params.id, dl);
      if (!r.ok) throw new HttpAppError(r.error);
      return r.value;
    },
  );

  api.delete(
    '/api/v1/dead-letters/:id',
    {
      schema: {
        tags: ['dead letters'],
        summary: 'Drop a dead letter for good (admin)',
        params: idParams,
        response: { 204: z.null() },
      },
    },
    async (req, reply) => {
      await requirePrincipal(req, deps, 'admin');
      if (!(await dl.store.remove(req.params.id)))
        throw new HttpAppError(appError('RP_NOT_FOUND', `dead letter ${req.params.id} does not exist`));
      return reply.code(204).send(null);
    },
  );
}
