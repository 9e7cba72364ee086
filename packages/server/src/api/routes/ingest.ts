import { type NativeIngestBody, nativeIngestBodySchema, nativeToLlmCall, type TelemetryBatch } from '@reskpoints/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { validateNativeIngestBody } from '../../ingest/native/validate-native.js';
import { decodeOtlpTraces, encodeOtlpTraceResponse, type OtlpEncoding } from '../../ingest/otlp/index.js';
import { HttpAppError, sendError } from '../errors.js';
import { requirePrincipal } from '../guard.js';
import type { Api, ApiDeps } from '../server.js';
import { useRawBodyParsers } from '../server.js';

const PROTOBUF = 'application/x-protobuf';

export async function registerIngestRoutes(app: Api | FastifyInstance, deps: ApiDeps): Promise<void> {
  const api = app as Api;
  const pipeline = deps.pipeline;
  if (!pipeline) return;

  /** Submits a batch and answers only once it is durable; refusals keep their Retry-After. */
  const commit = async (reply: FastifyReply, source: string, batch: TelemetryBatch) => {
    const result = await pipeline.submit(batch);
    const events = batch.llmCalls.length + batch.spans.length;
    if (!result.ok) {
      deps.metrics.ingestEvents.inc({ source, outcome: 'refused' }, events);
      sendError(reply, result.error);
      return null;
    }
    const v = result.value;
    deps.metrics.ingestEvents.inc({ source, outcome: 'accepted' }, v.llmCallsAccepted + v.spansAccepted);
    if (v.llmCallDuplicates) deps.metrics.ingestEvents.inc({ source, outcome: 'duplicate' }, v.llmCallDuplicates);
    return v;
  };

  api.post(
    '/api/v1/ingest',
    {
      schema: {
        tags: ['ingest'],
        summary: 'Ingest a batch of LLM calls (project key)',
        description:
          'Answers 200 only after every event is committed. Events whose id was stored before are counted as duplicates and not stored again. 429/503 carry Retry-After.',
        body: nativeIngestBodySchema,
        response: { 200: z.object({ accepted: z.number().int(), duplicates: z.number().int() }) },
      },
      // The body schema above documents the route; validation runs in the handler through the
      // faster compiled validator (see validate-native.ts), after authentication.
      validatorCompiler: () => (data: unknown) => ({ value: data }),
    },
    async (req, reply) => {
      const principal = await requirePrincipal(req, deps, 'project');
      if (principal.kind !== 'project') return;
      const body = validateNativeIngestBody(req.body as unknown);
      if (!body.ok) throw new HttpAppError(body.error);
      const cfg = deps.config();
      const ctx = {
        projectId: principal.projectId,
        nowMs: deps.clock.nowMs(),
        excerptMaxChars: cfg.ingest.excerptMaxChars,
      };
      const llmCalls = (body.value as NativeIngestBody).batch.map((e) => nativeToLlmCall(e, ctx));
      const v = await commit(reply, 'native', { llmCalls, spans: [] });
      if (!v) return reply;
      return { accepted: v.llmCallsAccepted, duplicates: v.llmCallDuplicates };
    },
  );

  // OTLP decodes its own bodies (protobuf or JSON), so it gets raw bytes in its own context.
  await api.register(async (otlp) => {
    useRawBodyParsers(otlp, () => deps.config().ingest.maxBodyBytes, ['application/json', PROTOBUF]);
    otlp.post(
      '/v1/traces',
      {
        schema: {
          tags: ['ingest'],
          summary: 'OTLP/HTTP traces (application/x-protobuf or application/json, optional gzip; project key)',
          description:
            'GenAI, OpenInference and Langfuse spans become LLM calls; other spans are kept as spans. Invalid spans are reported through partial_success.',
        },
      },
      async (req, reply) => {
        const principal = await requirePrincipal(req, deps, 'project');
        if (principal.kind !== 'project') return;
        const encoding: OtlpEncoding = String(req.headers['content-type'] ?? '').startsWith(PROTOBUF)
          ? 'protobuf'
          : 'json';
        const cfg = deps.config();
        const decoded = decodeOtlpTraces(req.body as Buffer, encoding, {
          projectId: principal.projectId,
          nowMs: deps.clock.nowMs(),
          excerptMaxChars: cfg.ingest.excerptMaxChars,
        });
        if (!decoded.ok) throw new HttpAppError(decoded.error);
        const { batch, rejectedSpans, errorMessage } = decoded.value;
        if (rejectedSpans) deps.metrics.ingestEvents.inc({ source: 'otlp', outcome: 'rejected' }, rejectedSpans);
        const v = await commit(reply, 'otlp', batch);
        if (!v) return reply;
        reply.type(encoding === 'protobuf' ? PROTOBUF : 'application/json');
        const body = encodeOtlpTraceResponse(rejectedSpans, errorMessage, encoding);
        return reply.send(typeof body === 'string' ? body : Buffer.from(body));
      },
    );
  });
}
