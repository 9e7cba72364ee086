/**
 * Langfuse-compatible endpoints: batch ingestion (the `langfuse` v3 client) and the daily
 * metrics read. Authenticated with a project's Langfuse key pair (Basic) or any project key.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HttpAppError } from '../api/errors.js';
import { requirePrincipal } from '../api/guard.js';
import type { Api, ApiDeps } from '../api/server.js';
import { useRawBodyParsers } from '../api/server.js';
import { LangfusePending } from '../ingest/langfuse/langfuse-pending.js';
import { ingestLangfuseBatch } from './langfuse-ingest.js';

const outcomeSchema = z.object({ id: z.string(), status: z.number().int() });
export const ingestionResponseSchema = z.object({
  successes: z.array(outcomeSchema),
  errors: z.array(outcomeSchema.extend({ message: z.string().optional() })),
});

export async function registerLangfuseIngestionRoute(app: Api | FastifyInstance, deps: ApiDeps): Promise<void> {
  const pipeline = deps.pipeline;
  if (!pipeline) return;
  const pending = new LangfusePending({ state: deps.state, clock: deps.clock });
  await (app as Api).register(async (api) => {
    // The raw bytes: they are decoded after authentication, together with held parts.
    useRawBodyParsers(api, () => deps.config().ingest.maxBodyBytes, ['application/json']);
    api.post(
      '/api/public/ingestion',
      {
        schema: {
          tags: ['ingest', 'langfuse'],
          summary: 'Langfuse batch ingestion (the `langfuse` v3 client; Langfuse key pair as Basic auth)',
          description:
            "Langfuse's `{batch:[{id, timestamp, type, body}]}`. Answers 207 with `successes` and `errors` per event, once the stored events are durable. Generations become LLM calls, other observations spans; create and update events of one observation are merged, across requests too (see docs/langfuse.md). 429/503 carry Retry-After.",
          response: { 207: ingestionResponseSchema },
        },
      },
      async (req, reply) => {
        const principal = await requirePrincipal(req, deps, 'project');
        if (principal.kind !== 'project') return reply;
        const r = await ingestLangfuseBatch(
          {
            pipeline,
            pending,
            clock: deps.clock,
            excerptMaxChars: () => deps.config().ingest.excerptMaxChars,
            metrics: deps.metrics,
          },
          principal.projectId,
          req.body as Buffer,
        );
        if (!r.ok) throw new HttpAppError(r.error);
        return reply.code(207).send(r.value);
      },
    );
  });
}
