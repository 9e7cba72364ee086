import { gunzip } from 'node:zlib';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { type AppError, appError, type Clock } from '@reskpoints/core';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { registerLangfuseIngestionRoute, registerLangfuseMetricsRoute } from '../langfuse/routes.js';
import type { DeadLetterRetryDeps } from '../pipeline/dead-letter-retry.js';
import type { IngestPipeline } from '../pipeline/ingest-pipeline.js';
import type { PlatformEvents } from '../platform/events.js';
import type { IngestPath } from '../platform/ingest-path.js';
import type { StateStore, TelemetryStore } from '../store/ports.js';
import type { Authenticator } from './auth.js';
import { HttpAppError, sendError } from './errors.js';
import { authenticateEarly } from './guard.js';
import type { LiveHub } from './live.js';
import type { ServerMetrics } from './metrics.js';
import { registerCostRoutes } from './routes/cost.js';
import { registerDeadLetterRoutes } from './routes/dead-letters.js';
import { registerEventsRoute } from './routes/events.js';
import { registerIngestRoutes } from './routes/ingest.js';
import { registerLiveRoute } from './routes/live.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerProjectRoutes } from './routes/projects.js';
import { registerQueryRoutes } from './routes/query.js';
import { registerTraceRoutes } from './routes/traces.js';
import { type AppShell, registerWebAssets } from './web-assets.js';

export interface ApiDeps {
  /** The config in force; a function so hot-reloaded values are seen. */
  config: () => Config;
  state: StateStore;
  /** Null on nodes that do not serve queries (role ingest). */
  telemetry: TelemetryStore | null;
  /** Null on nodes that do not take ingest (role worker/api). */
  pipeline: IngestPipeline | null;
  /** The dead-letter area and how to retry from it; null on nodes without one. */
  deadLetters?: DeadLetterRetryDeps | null;
  auth: Authenticator;
  metrics: ServerMetrics;
  live: LiveHub;
  /** Platform events for the `/api/v1/events` WebSocket; absent in tests that do not need it. */
  events?: PlatformEvents;
  clock: Clock;
  logger: Logger;
  version: string;
  /** Readiness: dependencies answer and the node is not draining. */
  isReady: () => Promise<boolean>;
  /** Decode → validate → enrich, shared with the acknowledgement log's replay. */
  ingest: IngestPath;
  /** Modules' route plugins; each is registered as its own encapsulated Fastify plugin. */
  moduleRoutes?: ReadonlyArray<(api: FastifyInstance) => Promise<void>>;
  /** The built dashboard (`packages/web/dist`); without it `/` answers the home page alone. */
  webDir?: string | null;
}

export type Api = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  Logger,
  ZodTypeProvider
>;

function decompress(req: FastifyRequest, body: Buffer, maxBytes: number): Promise<Buffer> {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity' || encoding === '') return Promise.resolve(body);
  if (encoding !== 'gzip')
    return Promise.reject(
      new HttpAppError(
        appError('RP_UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${encoding} is not supported; use gzip or none`),
      ),
    );
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: maxBytes }, (e, out) => {
      if (!e) return resolve(out);
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        return reject(
          new HttpAppError(appError('RP_PAYLOAD_TOO_LARGE', `decompressed body exceeds ${maxBytes} bytes`)),
        );
      reject(new HttpAppError(appError('RP_INVALID_BODY', `body is not valid gzip: ${e.message}`)));
    });
  });
}

/** Registers parsers that hand routes the decompressed raw bytes (OTLP decodes them itself). */
export function useRawBodyParsers(app: FastifyInstance, maxBytes: () => number, types: string[]): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(types, { parseAs: 'buffer', bodyLimit: maxBytes() }, (req, body, done) => {
    decompress(req, body as Buffer, maxBytes()).then(
      (b) => done(null, b),
      (e) => done(e as Error, undefined),
    );
  });
}

function toAppError(error: FastifyError, req: FastifyRequest): AppError | null {
  if (error instanceof HttpAppError) return error.appError;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'request';
    const issues = error.validation.map((v) => ({
      path: [
        where,
        ...String(v.instancePath ?? '')
          .split('/')
          .filter(Boolean),
      ].join('.'),
      message: v.message ?? 'invalid',
    }));
    const shown = issues
      .slice(0, 5)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ');
    return {
      code: 'RP_VALIDATION',
      message: `invalid ${where}: ${shown}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`,
      issues,
    };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return appError('RP_PAYLOAD_TOO_LARGE', error.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return appError(
        'RP_UNSUPPORTED_MEDIA_TYPE',
        `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not accepted here; use application/json (or application/x-protobuf for OTLP)`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return appError('RP_INVALID_BODY', 'body is empty; a JSON document was expected');
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)
    return appError('RP_INVALID_BODY', error.message);
  return null;
}

export async function buildApi(deps: ApiDeps): Promise<Api> {
  const cfg = deps.config();
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: cfg.ingest.maxBodyBytes,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // The server answers quickly or not at all; slow clients must not pin memory.
    requestTimeout: 60_000,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // JSON everywhere is parsed here so that gzip, size and syntax errors get our error shape.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: cfg.ingest.maxBodyBytes },
    (req, body, done) => {
      decompress(req, body as Buffer, deps.config().ingest.maxBodyBytes).then(
        (raw) => {
          if (raw.length === 0)
            return done(
              new HttpAppError(appError('RP_INVALID_BODY', 'body is empty; a JSON document was expected')),
              undefined,
            );
          try {
            done(null, JSON.parse(raw.toString('utf8')));
          } catch (e) {
            done(new HttpAppError(appError('RP_INVALID_BODY', `malformed JSON: ${(e as Error).message}`)), undefined);
          }
        },
        (e) => done(e as Error, undefined),
      );
    },
  );

  app.setErrorHandler((error: FastifyError, req, reply) => {
    const known = toAppError(error, req);
    if (known) return sendError(reply, known);
    req.log.error({ err: error, url: req.url }, 'unhandled error');
    return sendError(reply, appError('RP_INTERNAL', `internal error (request ${req.id})`));
  });
  // A browser opening a dashboard page (a shared link) gets the app; the app routes itself.
  let appShell: AppShell = () => false;
  app.setNotFoundHandler((req, reply) => {
    if (appShell(req, reply)) return reply;
    return sendError(reply, appError('RP_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });
  // Credentials are checked first, before body parsing and parameter validation.
  app.addHook('onRequest', async (req) => authenticateEarly(req, deps));
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpRequests.inc({ route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ReskPoints API',
        version: deps.version,
        description:
          'Ingest LLM calls and traces; query calls, summaries and the live stream. Errors are `{ error: { code, message, issues? } }`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Admin token or a project ingest key' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  appShell = registerWebAssets(app, deps.webDir, deps.version);
  registerOpsRoutes(app, deps);
  registerProjectRoutes(app, deps);
  registerDeadLetterRoutes(app, deps);
  if (deps.pipeline) {
    await registerIngestRoutes(app, deps);
    await registerLangfuseIngestionRoute(app, deps);
  }
  if (deps.telemetry) {
    registerQueryRoutes(app, deps);
    registerCostRoutes(app, deps);
    registerLangfuseMetricsRoute(app, deps);
    registerLiveRoute(app, deps);
    registerTraceRoutes(app, deps);
  }
  if (deps.events) registerEventsRoute(app, { ...deps, events: deps.events });
  for (const plugin of deps.moduleRoutes ?? []) await app.register(plugin);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app as unknown as Api;
}
