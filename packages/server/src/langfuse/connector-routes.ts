/**
 * Configuring the Langfuse pull connector of a project, pulling on demand, and reading the
 * stored daily series.
 */
import { appError, type Clock } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { HttpAppError } from '../api/errors.js';
import type { Api } from '../api/server.js';
import type { RouteHelpers } from '../platform/module.js';
import type { SqlExecutor } from '../platform/sql.js';
import type { StateStore } from '../store/ports.js';
import { LangfuseMetricsClient } from './connector/langfuse-client.js';
import {
  type LangfuseConnectorConfig,
  LangfuseConnectorRepository,
  type LangfuseConnectorStatus,
  LangfuseMetricsPuller,
} from './connector/langfuse-connector.js';
import { DAY_MS, utcDate } from './daily-metrics.js';
import { dailyMetricSchema } from './routes.js';

const statusSchema = z.object({
  lastPullAtMs: z.number().nullable(),
  lastSuccessAtMs: z.number().nullable(),
  lastError: z.string().nullable(),
  daysStored: z.number(),
});
const connectorSchema = z.object({
  baseUrl: z.string(),
  publicKey: z.string(),
  lookbackDays: z.number(),
  status: statusSchema,
});
const projectParams = z.object({ id: z.string().min(1).max(64) });
const dateParam = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');

/** A puller that calls out with the global fetch and really waits between retries. */
export function createLangfusePuller(deps: { db: SqlExecutor; clock: Clock; logger: Logger }): LangfuseMetricsPuller {
  return new LangfuseMetricsPuller({
    repository: new LangfuseConnectorRepository(deps.db),
    clock: deps.clock,
    logger: deps.logger,
    client: new LangfuseMetricsClient({
      fetch: globalThis.fetch,
      clock: deps.clock,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms).unref()),
    }),
  });
}

const view = (config: LangfuseConnectorConfig, status: LangfuseConnectorStatus) => ({
  baseUrl: config.baseUrl,
  publicKey: config.publicKey,
  lookbackDays: config.lookbackDays,
  status,
});

export interface LangfuseConnectorRouteDeps {
  repository: LangfuseConnectorRepository;
  puller: LangfuseMetricsPuller;
  /** Projects. */
  state: StateStore;
  clock: Clock;
  helpers: RouteHelpers;
}

/** The langfuse module's routes. */
export function registerLangfuseConnectorRoutes(app: Api | FastifyInstance, deps: LangfuseConnectorRouteDeps): void {
  const api = app as Api;
  const repo = deps.repository;
  const puller = deps.puller;
  const requireProject = async (id: string) => {
    if (!(await deps.state.getProject(id))) throw new HttpAppError(appError('RP_NOT_FOUND', `no project ${id}`));
  };
  const path = '/api/v1/projects/:id/langfuse-connector';

  api.put(
    path,
    {
      schema: {
        tags: ['projects', 'langfuse'],
        summary: 'Pull daily metrics from a Langfuse instance into this project (admin)',
        description:
          "Configures the project's Langfuse connector: a periodic job (hourly) reads `GET {baseUrl}/api/public/metrics/daily` for the last `lookbackDays` days with the key pair and stores each day. The secret key is never shown again. See docs/langfuse.md.",
        params: projectParams,
        body: z.object({
          baseUrl: z.url({ protocol: /^https?$/ }).describe('e.g. https://cloud.langfuse.com'),
          publicKey: z.string().min(1).max(200),
          secretKey: z.string().min(1).max(200),
          lookbackDays: z.number().int().min(1).max(90).default(7),
        }),
        response: { 200: z.object({ connector: connectorSchema }) },
      },
    },
    async (req) => {
      await deps.helpers.authenticate(req, 'admin');
      await requireProject(req.params.id);
      const r = await repo.configure(req.params.id, req.body);
      return { connector: view(r.config, r.status) };
    },
  );

  api.get(
    path,
    {
      schema: {
        tags: ['projects', 'langfuse'],
        summary: "The project's Langfuse connector and the outcome of its last pull (admin)",
        params: projectParams,
        response: { 200: z.object({ connector: connectorSchema }) },
      },
    },
    async (req) => {
      await deps.helpers.authenticate(req, 'admin');
      const r = await repo.get(req.params.id);
      if (!r) throw new HttpAppError(appError('RP_NOT_FOUND', `project ${req.params.id} has no Langfuse connector`));
      return { connector: view(r.config, r.status) };
    },
  );

  api.delete(
    path,
    {
      schema: {
        tags: ['projects', 'langfuse'],
        summary: "Remove the project's Langfuse connector (admin); days already stored stay",
        params: projectParams,
        response: { 204: z.null() },
      },
    },
    async (req, reply) => {
      await deps.helpers.authenticate(req, 'admin');
      if (!(await repo.remove(req.params.id)))
        throw new HttpAppError(appError('RP_NOT_FOUND', `project ${req.params.id} has no Langfuse connector`));
      return reply.code(204).send(null);
    },
  );

  api.post(
    `${path}/pull`,
    {
      schema: {
        tags: ['projects', 'langfuse'],
        summary: 'Pull from Langfuse now, with the same retries as the periodic job (admin)',
        params: projectParams,
        response: { 200: z.object({ status: statusSchema }) },
      },
    },
    async (req) => {
      await deps.helpers.authenticate(req, 'admin');
      const status = await puller.pullProject(req.params.id);
      if (!status)
        throw new HttpAppError(appError('RP_NOT_FOUND', `project ${req.params.id} has no Langfuse connector`));
      return { status };
    },
  );

  api.get(
    '/api/v1/projects/:id/langfuse-metrics',
    {
      schema: {
        tags: ['query', 'langfuse'],
        summary: 'Daily metrics pulled from Langfuse for this project, oldest first',
        description:
          "Days as Langfuse reported them (its daily metrics shape) with `pulledAtMs`. `from`/`to` are UTC dates, inclusive; by default the last 30 days. A project credential reads its own project's days; the admin token any project's.",
        params: projectParams,
        querystring: z.object({ from: dateParam.optional(), to: dateParam.optional() }),
        response: {
          200: z.object({
            days: z.array(dailyMetricSchema.extend({ pulledAtMs: z.number() })),
          }),
        },
      },
    },
    async (req) => {
      const principal = await deps.helpers.authenticate(req, 'any');
      if (principal.kind === 'project' && principal.projectId !== req.params.id)
        throw new HttpAppError(appError('RP_FORBIDDEN', 'a project credential reads its own project only'));
      const now = deps.clock.nowMs();
      const to = req.query.to ?? utcDate(now);
      const from = req.query.from ?? utcDate(now - 29 * DAY_MS);
      return { days: await repo.days(req.params.id, from, to) };
    },
  );
}
