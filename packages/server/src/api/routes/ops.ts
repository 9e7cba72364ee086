import { z } from 'zod';
import type { Api, ApiDeps } from '../server.js';

export function registerOpsRoutes(app: Api | import('fastify').FastifyInstance, deps: ApiDeps): void {
  const api = app as Api;
  api.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers',
        security: [],
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  api.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: stores answer and the node is not draining',
        security: [],
        response: { 200: z.object({ status: z.literal('ready') }), 503: z.object({ status: z.literal('not ready') }) },
      },
    },
    async (_req, reply) => {
      const ready = await deps.isReady().catch(() => false);
      if (!ready) return reply.code(503).send({ status: 'not ready' as const });
      return { status: 'ready' as const };
    },
  );
  api.get(
    '/version',
    {
      schema: {
        tags: ['operations'],
        summary: 'Build information',
        security: [],
        response: { 200: z.object({ version: z.string(), node: z.string() }) },
      },
    },
    async () => ({ version: deps.version, node: process.version }),
  );
  api.get(
    '/metrics',
    { schema: { tags: ['operations'], summary: 'Prometheus metrics about ReskPoints itself', security: [] } },
    async (_req, reply) => {
      if (deps.pipeline) deps.metrics.queueDepth.set(deps.pipeline.depthEvents);
      deps.metrics.liveClients.set(deps.live.size);
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
}
