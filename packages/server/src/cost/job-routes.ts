/**
 * Routes of the cost module's jobs: re-costing jobs (`/api/v1/cost/recost`, admin) and the
 * cost reports made on a schedule (`/api/v1/reports/cost/stored`, admin: they cover every
 * project). Both live in the state database, so any API node answers for the job the leader
 * runs.
 */
import { type FieldIssue, validationError } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseRange } from '../api/params.js';
import type { RouteHelpers } from '../platform/module.js';
import type { SqlDatabase } from '../platform/sql.js';
import { RecostJobRepo, ReportRepo } from './cost-jobs-repo.js';
import { REPORT_PERIODS, reportToCsv } from './reports.js';

export const recostJobSchema = z.object({
  id: z.string(),
  state: z.enum(['queued', 'running', 'done', 'failed']),
  fromMs: z.number(),
  toMs: z.number(),
  projectId: z.string().optional(),
  doneUntilMs: z.number().describe('Calls that started before this are re-costed'),
  periodsDone: z.number().describe('UTC days of the range done'),
  periodsTotal: z.number().describe('UTC days the range touches'),
  callsRecosted: z.number(),
  createdAtMs: z.number(),
  startedAtMs: z.number().nullable(),
  finishedAtMs: z.number().nullable(),
  error: z.string().nullable(),
});

const storedSummarySchema = z.object({
  id: z.string().describe('Period and first UTC day, e.g. month-2026-11-01'),
  period: z.enum(REPORT_PERIODS),
  fromMs: z.number(),
  toMs: z.number(),
  createdAtMs: z.number(),
  updatedAtMs: z.number().describe('Later than createdAtMs when the report was rebuilt after a re-costing'),
  costUsd: z.number().nullable(),
  previousCostUsd: z.number().nullable(),
  changeRatio: z.number().nullable(),
  requests: z.number(),
  unpricedRequests: z.number(),
  costIsLowerBound: z.boolean(),
});

const reportRowSchema = z.object({
  section: z.enum(['total', 'model', 'project', 'user', 'driver']),
  group: z.string(),
  costUsd: z.number().nullable(),
  previousCostUsd: z.number().nullable(),
  changeUsd: z.number().nullable(),
  shareOfCost: z.number().nullable(),
  requests: z.number(),
  costPerRequestUsd: z.number().nullable(),
  inputCostUsd: z.number(),
  outputCostUsd: z.number(),
  cacheCostUsd: z.number(),
  reasoningCostUsd: z.number(),
  requestCostUsd: z.number(),
  unpricedRequests: z.number(),
  costIsLowerBound: z.boolean(),
});

export function registerCostJobRoutes(
  app: FastifyInstance,
  helpers: RouteHelpers,
  deps: {
    state: SqlDatabase;
    nowMs: () => number;
    rangeLimits: () => { maxRangeDays: number };
    /** Tells this node's scheduler a job was queued (the leader also polls). */
    queued: () => void;
  },
): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const jobs = new RecostJobRepo(deps.state);
  const reports = new ReportRepo(deps.state);

  api.post(
    '/api/v1/cost/recost',
    {
      schema: {
        tags: ['cost'],
        summary: 'Recompute the cost of a range with the prices in force now, and the rollups with it (admin)',
        description:
          'Queues a job and answers 202 with it; the leader node runs queued jobs one at a time, a UTC day per step, and a job interrupted by a restart resumes from the last day done. Follow it with GET /api/v1/cost/recost/{id}. Re-costing a range twice gives the same result as once. Stored reports that read the range are rebuilt when the job ends.',
        body: z.object({
          from: z.string().min(1).max(40),
          to: z.string().min(1).max(40),
          project: z.string().min(1).max(128).optional(),
        }),
        response: { 202: recostJobSchema },
      },
    },
    async (req, reply) => {
      await helpers.authenticate(req, 'admin');
      const issues: FieldIssue[] = [];
      const range = parseRange(req.body, deps.rangeLimits(), deps.nowMs(), issues);
      if (issues.length > 0) helpers.fail(validationError(issues, 'invalid re-costing range'));
      const job = await jobs.enqueue(
        { ...range, ...(req.body.project ? { projectId: req.body.project } : {}) },
        deps.nowMs(),
      );
      deps.queued();
      return reply.code(202).send(job);
    },
  );

  api.get(
    '/api/v1/cost/recost',
    {
      schema: {
        tags: ['cost'],
        summary: 'Re-costing jobs, newest first (admin)',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) }),
        response: { 200: z.object({ jobs: z.array(recostJobSchema) }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      return { jobs: await jobs.list(req.query.limit) };
    },
  );

  api.get(
    '/api/v1/cost/recost/:id',
    {
      schema: {
        tags: ['cost'],
        summary: 'One re-costing job and its progress (admin)',
        params: z.object({ id: z.string().min(1).max(64) }),
        response: { 200: recostJobSchema },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const job = await jobs.get(req.params.id);
      if (!job) helpers.fail({ code: 'RP_NOT_FOUND', message: `no re-costing job ${req.params.id}` });
      return job;
    },
  );

  api.get(
    '/api/v1/reports/cost/stored',
    {
      schema: {
        tags: ['cost'],
        summary: 'Cost reports made on the schedule (cost.reports), newest first, with their headline figures (admin)',
        querystring: z.object({
          period: z.enum(REPORT_PERIODS).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(50),
        }),
        response: { 200: z.object({ reports: z.array(storedSummarySchema) }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      return {
        reports: await reports.list({
          ...(req.query.period ? { period: req.query.period } : {}),
          limit: req.query.limit,
        }),
      };
    },
  );

  api.get(
    '/api/v1/reports/cost/stored/:id',
    {
      schema: {
        tags: ['cost'],
        summary: 'One stored cost report, as JSON or CSV (admin)',
        description:
          'The same rows as GET /api/v1/reports/cost for that period, as they were when the report was made (or rebuilt after a re-costing). JSON and CSV carry the same numbers.',
        params: z.object({ id: z.string().min(1).max(64) }),
        querystring: z.object({ format: z.enum(['json', 'csv']).default('json') }),
        response: {
          200: z.object({
            id: z.string(),
            createdAtMs: z.number(),
            updatedAtMs: z.number(),
            period: z.enum(REPORT_PERIODS),
            fromMs: z.number(),
            toMs: z.number(),
            previousFromMs: z.number(),
            changeRatio: z.number().nullable(),
            rows: z.array(reportRowSchema),
          }),
        },
      },
    },
    async (req, reply) => {
      await helpers.authenticate(req, 'admin');
      const stored = await reports.get(req.params.id);
      if (!stored) helpers.fail({ code: 'RP_NOT_FOUND', message: `no stored report ${req.params.id}` });
      // A string body is sent as it is (the JSON schema applies to the JSON answer only).
      if (req.query.format === 'csv')
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="cost-${stored.id}.csv"`)
          .send(reportToCsv(stored.report) as never);
      return { id: stored.id, createdAtMs: stored.createdAtMs, updatedAtMs: stored.updatedAtMs, ...stored.report };
    },
  );
}
