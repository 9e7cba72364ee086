import { appError, batchEventCount, nativeIngestBodySchema } from '@reskpoints/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { nativeLogBodySchema } from '../../ingest/native/native-logs.js';
import { encodeOtlpTraceResponse } from '../../ingest/otlp/index.js';
import { encodeOtlpLogsResponse } from '../../ingest/otlp/otlp-logs.js';
import type { LoggedBodyKind, LoggedRequest } from '../../pipeline/ack-log.js';
import { HttpAppError, sendError } from '../errors.js';
import { requirePrincipal } from '../guard.js';
import type { Api, ApiDeps } from '../server.js';
import { useRawBodyParsers } from '../server.js';

const PROTOBUF = 'application/x-protobuf';

/** The `source` label of ingest metrics per request kind. */
const SOURCE_OF: Record<LoggedBodyKind, string> = {
  'native-json': 'native',
  'otlp-protobuf': 'otlp',
  'otlp-json': 'otlp',
  'langfuse-ingestion': 'langfuse',
  'otlp-logs-protobuf': 'otlp-logs',
  'otlp-logs-json': 'otlp-logs',
  'loki-json': 'loki',
  'loki-protobuf': 'loki',
  'native-logs-json': 'native-logs',
};

export async function registerIngestRoutes(app: Api | FastifyInstance, deps: ApiDeps): Promise<void> {
  const pipeline = deps.pipeline;
  if (!pipeline) return;

  /**
   * Authenticates, decodes the raw body and submits its events; answers only once they are
   * durable (committed, or held by the acknowledgement log). Refusals keep their Retry-After.
   */
  const ingest = async (req: FastifyRequest, reply: FastifyReply, kind: LoggedBodyKind) => {
    const principal = await requirePrincipal(req, deps, 'project');
    if (principal.kind !== 'project') return null;
    const request: LoggedRequest = {
      kind,
      projectId: principal.projectId,
      receivedAtMs: deps.clock.nowMs(),
      excerptMaxChars: deps.config().ingest.excerptMaxChars,
      body: req.body as Buffer,
    };
    const decoded = await deps.ingest.process(request);
    if (!decoded.ok) throw new HttpAppError(decoded.error);
    const { batch, rejectedSpans } = decoded.value;
    const source = SOURCE_OF[kind];
    if (rejectedSpans) deps.metrics.ingestEvents.inc({ source, outcome: 'rejected' }, rejectedSpans);
    const result = await pipeline.submit(batch, request);
    const events = batchEventCount(batch);
    if (!result.ok) {
      deps.metrics.ingestEvents.inc({ source, outcome: 'refused' }, events);
      sendError(reply, result.error);
      return null;
    }
    const v = result.value;
    deps.metrics.ingestEvents.inc(
      { source, outcome: 'accepted' },
      v.llmCallsAccepted + v.spansAccepted + (v.logsAccepted ?? 0),
    );
    if (decoded.value.rejectedLogRecords)
      deps.metrics.ingestEvents.inc({ source, outcome: 'rejected' }, decoded.value.rejectedLogRecords);
    if (v.llmCallDuplicates) deps.metrics.ingestEvents.inc({ source, outcome: 'duplicate' }, v.llmCallDuplicates);
    return { outcome: v, decoded: decoded.value };
  };

  // Ingest routes decode their own bodies from the raw (decompressed) bytes, after
  // authentication; the same bytes go to the acknowledgement log.
  await (app as Api).register(async (api) => {
    useRawBodyParsers(api, () => deps.config().ingest.maxBodyBytes, ['application/json', PROTOBUF]);
    api.post(
      '/api/v1/ingest',
      {
        config: { auth: 'project' },
        schema: {
          tags: ['ingest'],
          summary: 'Ingest a batch of LLM calls (project key)',
          description:
            'Answers 200 only after every event is durable. Events whose id was stored before are counted as duplicates and not stored again (while the store is held up, e.g. by a checkpoint, the answer can come from the acknowledgement log, which counts every event as accepted; repeats are still dropped at commit). 429/503 carry Retry-After.',
          body: nativeIngestBodySchema,
          response: {
            200: z.object({
              accepted: z.number().int(),
              duplicates: z.number().int(),
              deadLettered: z
                .number()
                .int()
                .optional()
                .describe(
                  'Present when the store refused some events permanently: they are kept in the dead-letter area (GET /api/v1/dead-letters) rather than stored',
                ),
            }),
          },
        },
        // The body schema documents the route; the handler validates the raw bytes after
        // authentication through the faster compiled validator (see validate-native.ts).
        validatorCompiler: () => (data: unknown) => ({ value: data }),
      },
      async (req, reply) => {
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
          throw new HttpAppError(
            appError(
              'RP_UNSUPPORTED_MEDIA_TYPE',
              `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not accepted here; use application/json`,
            ),
          );
        const r = await ingest(req, reply, 'native-json');
        if (!r) return reply;
        const { llmCallsAccepted, llmCallDuplicates, deadLetteredEvents } = r.outcome;
        return {
          accepted: llmCallsAccepted,
          duplicates: llmCallDuplicates,
          ...(deadLetteredEvents ? { deadLettered: deadLetteredEvents } : {}),
        };
      },
    );
    const otlpTraces = async (req: FastifyRequest, reply: FastifyReply) => {
      const protobuf = String(req.headers['content-type'] ?? '').startsWith(PROTOBUF);
      const r = await ingest(req, reply, protobuf ? 'otlp-protobuf' : 'otlp-json');
      if (!r) return reply;
      reply.type(protobuf ? PROTOBUF : 'application/json');
      const { rejectedSpans, errorMessage } = r.decoded;
      const body = encodeOtlpTraceResponse(rejectedSpans, errorMessage, protobuf ? 'protobuf' : 'json');
      return reply.send(typeof body === 'string' ? body : Buffer.from(body));
    };
    api.post(
      '/v1/traces',
      {
        config: { auth: 'project' },
        schema: {
          tags: ['ingest'],
          summary: 'OTLP/HTTP traces (application/x-protobuf or application/json, optional gzip; project key)',
          description:
            'GenAI, OpenInference and Langfuse spans become LLM calls; other spans are kept as spans. Invalid spans are reported through partial_success.',
        },
      },
      otlpTraces,
    );
    // Where Langfuse SDKs (v4 and later, OpenTelemetry-based) export: the same decoder and
    // mapping, authenticated with a Langfuse key pair as Basic credentials.
    api.post(
      '/api/public/otel/v1/traces',
      {
        config: { auth: 'project' },
        schema: {
          tags: ['ingest', 'langfuse'],
          summary: 'OTLP/HTTP traces at the path Langfuse SDKs export to (Langfuse key pair as Basic auth)',
          description:
            "The same endpoint as /v1/traces under the path of Langfuse's OpenTelemetry endpoint, so that `@langfuse/otel` (and Langfuse's Python SDK) can point at ReskPoints unchanged. Generations become LLM calls; see docs/langfuse.md.",
        },
      },
      otlpTraces,
    );

    // --- logs -------------------------------------------------------------------------------
    api.post(
      '/v1/logs',
      {
        config: { auth: 'project' },
        schema: {
          tags: ['ingest', 'logs'],
          summary: 'OTLP/HTTP logs (application/x-protobuf or application/json, optional gzip; project key)',
          description:
            'Log records with severity, body, attributes, resource and trace context. Invalid records (bad ids or times) are reported through partial_success; the rest are stored. Idempotent: a record without `log.record.uid` gets an id from its content.',
        },
      },
      async (req, reply) => {
        const protobuf = String(req.headers['content-type'] ?? '').startsWith(PROTOBUF);
        const r = await ingest(req, reply, protobuf ? 'otlp-logs-protobuf' : 'otlp-logs-json');
        if (!r) return reply;
        reply.type(protobuf ? PROTOBUF : 'application/json');
        const body = encodeOtlpLogsResponse(
          r.decoded.rejectedLogRecords ?? 0,
          r.decoded.errorMessage,
          protobuf ? 'protobuf' : 'json',
        );
        return reply.send(typeof body === 'string' ? body : Buffer.from(body));
      },
    );
    api.post(
      '/loki/api/v1/push',
      {
        config: { auth: 'project' },
        schema: {
          tags: ['ingest', 'logs'],
          summary:
            'Loki push API: JSON, or protobuf compressed with snappy (project key as Bearer token or Basic password)',
          description:
            'What Promtail, Grafana Alloy, pino-loki and winston-loki send. Stream labels become resource attributes; service_name/service/app/job name the service; level/severity/detected_level (labels or structured metadata) or a level in the line set the severity. Answers 204.',
        },
      },
      async (req, reply) => {
        const protobuf = String(req.headers['content-type'] ?? '').startsWith(PROTOBUF);
        const r = await ingest(req, reply, protobuf ? 'loki-protobuf' : 'loki-json');
        if (!r) return reply;
        return reply.code(204).send();
      },
    );
    api.post(
      '/api/v1/logs',
      {
        config: { auth: 'project' },
        schema: {
          tags: ['ingest', 'logs'],
          summary: 'Ingest a batch of log records (project key)',
          description:
            'Answers 200 only after every record is durable. A batch with an invalid record is refused whole with 400 naming every offending field.',
          body: nativeLogBodySchema,
          response: {
            200: z.object({
              accepted: z.number().int(),
              deadLettered: z.number().int().optional(),
            }),
          },
        },
        validatorCompiler: () => (data: unknown) => ({ value: data }),
      },
      async (req, reply) => {
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
          throw new HttpAppError(
            appError(
              'RP_UNSUPPORTED_MEDIA_TYPE',
              `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not accepted here; use application/json`,
            ),
          );
        const r = await ingest(req, reply, 'native-logs-json');
        if (!r) return reply;
        return {
          accepted: r.outcome.logsAccepted ?? 0,
          ...(r.outcome.deadLetteredEvents ? { deadLettered: r.outcome.deadLetteredEvents } : {}),
        };
      },
    );
  });
}
