import { type FieldIssue, SUMMARY_DIMENSIONS, type SummaryDimension } from '@reskpoints/core';
import { z } from 'zod';
import { compareCost, costBreakdown, rollingAverages, topCostDrivers } from '../../cost/cost-reads.js';
import { buildCostReport, REPORT_PERIODS, reportToCsv } from '../../cost/reports.js';
import { HttpAppError } from '../errors.js';
import { requirePrincipal } from '../guard.js';
import {
  filterQuerySchema,
  finish,
  parseFilter,
  parseGroupBy,
  parseRange,
  parseTime,
  rangeQuerySchema,
} from '../params.js';
import type { Api, ApiDeps } from '../server.js';
import { costSummarySchema } from './query.js';

const list = z.union([z.string(), z.array(z.string())]).optional();
const byParam = list.describe(`Dimensions to break down by: ${SUMMARY_DIMENSIONS.join(', ')}`);
const groupSchema = z.record(z.string(), z.string().nullable());
const totalsSchema = costSummarySchema.extend({ requests: z.number(), totalTokens: z.number() });
const rowSchema = totalsSchema.extend({
  group: groupSchema,
  shareOfCost: z.number().nullable().describe('Share of the total computed cost'),
});
const rangeCostQuery = rangeQuerySchema.extend(filterQuerySchema.shape);

/** Longest a read waits for acknowledged events still being committed. */
const READ_AFTER_ACK_WAIT_MS = 5_000;

export function registerCostRoutes(app: Api | import('fastify').FastifyInstance, deps: ApiDeps): void {
  const api = app as Api;
  const telemetry = deps.telemetry;
  if (!telemetry) return;
  const readAfterAck = () => deps.pipeline?.settled(READ_AFTER_ACK_WAIT_MS);

  const parseBy = (v: string | string[] | undefined, fallback: SummaryDimension[], issues: FieldIssue[]) => {
    const by = v === undefined ? fallback : parseGroupBy(v, issues);
    return by.length > 0 ? by : fallback;
  };

  api.get(
    '/api/v1/cost/breakdown',
    {
      schema: {
        tags: ['cost'],
        summary: 'Cost by any dimensions over a range; the rows add up to the total',
        querystring: rangeCostQuery.extend({ by: byParam }),
        response: { 200: z.object({ by: z.array(z.string()), total: totalsSchema, rows: z.array(rowSchema) }) },
      },
    },
    async (req) => {
      const principal = await requirePrincipal(req, deps, 'any');
      const issues: FieldIssue[] = [];
      const range = parseRange(req.query, deps.config().query, deps.clock.nowMs(), issues);
      const filter = parseFilter(req.query, principal, issues);
      const by = parseBy(req.query.by, ['model'], issues);
      const q = finish({ ...range, filter, by }, issues);
      if (!q.ok) throw new HttpAppError(q.error);
      await readAfterAck();
      return costBreakdown(telemetry, q.value);
    },
  );

  const periodSchema = totalsSchema.extend({ fromMs: z.number(), toMs: z.number() });
  api.get(
    '/api/v1/cost/compare',
    {
      schema: {
        tags: ['cost'],
        summary: 'Cost of a range against the same length of time before it, with the change attributed to groups',
        querystring: rangeCostQuery.extend({
          by: byParam.describe('Dimensions the change is attributed to (default model,project)'),
          limit: z.coerce.number().int().min(1).max(1000).default(20),
        }),
        response: {
          200: z.object({
            current: periodSchema,
            previous: periodSchema,
            changeUsd: z.number(),
            changeRatio: z.number().nullable().describe('Relative change; null when the previous period cost nothing'),
            costIsLowerBound: z.boolean(),
            by: z.array(z.string()),
            attribution: z.array(
              z.object({
                group: groupSchema,
                previousCostUsd: z.number(),
                currentCostUsd: z.number(),
                changeUsd: z.number(),
                shareOfChange: z.number().nullable().describe('Signed share of the total change'),
              }),
            ),
            explanation: z.string(),
          }),
        },
      },
    },
    async (req) => {
      const principal = await requirePrincipal(req, deps, 'any');
      const issues: FieldIssue[] = [];
      const range = parseRange(req.query, deps.config().query, deps.clock.nowMs(), issues);
      const filter = parseFilter(req.query, principal, issues);
      const by = parseBy(req.query.by, ['model', 'project'], issues);
      const q = finish({ ...range, filter, by, limit: req.query.limit }, issues);
      if (!q.ok) throw new HttpAppError(q.error);
      await readAfterAck();
      return compareCost(telemetry, q.value);
    },
  );

  api.get(
    '/api/v1/cost/drivers',
    {
      schema: {
        tags: ['cost'],
        summary: 'The most expensive groups of a range, with their share and their change against the period before',
        querystring: rangeCostQuery.extend({
          by: byParam.describe('Dimensions of a driver (default model,project)'),
          limit: z.coerce.number().int().min(1).max(1000).default(10),
        }),
        response: {
          200: z.object({
            total: totalsSchema,
            drivers: z.array(rowSchema.extend({ previousCostUsd: z.number(), changeUsd: z.number() })),
          }),
        },
      },
    },
    async (req) => {
      const principal = await requirePrincipal(req, deps, 'any');
      const issues: FieldIssue[] = [];
      const range = parseRange(req.query, deps.config().query, deps.clock.nowMs(), issues);
      const filter = parseFilter(req.query, principal, issues);
      const by = parseBy(req.query.by, ['model', 'project'], issues);
      const q = finish({ ...range, filter, by, limit: req.query.limit }, issues);
      if (!q.ok) throw new HttpAppError(q.error);
      await readAfterAck();
      return topCostDrivers(telemetry, q.value);
    },
  );

  api.get(
    '/api/v1/cost/rolling',
    {
      schema: {
        tags: ['cost'],
        summary: 'Mean daily cost over the last 7, 30 and 90 whole UTC days, saying when history is too short',
        querystring: filterQuerySchema.extend({
          to: z.string().max(40).optional().describe('End (default now); whole UTC days before it are counted'),
        }),
        response: {
          200: z.object({
            toMs: z.number(),
            firstDayMs: z.number().nullable(),
            windows: z.array(
              z.object({
                days: z.number(),
                averageDailyCostUsd: z.number().nullable().describe('Null when the window has not enough history'),
                daysWithHistory: z.number(),
                enoughHistory: z.boolean(),
                costIsLowerBound: z.boolean(),
              }),
            ),
            daily: z.array(
              z.object({
                dayStartMs: z.number(),
                costUsd: z.number().nullable(),
                requests: z.number(),
                unpricedRequests: z.number(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const principal = await requirePrincipal(req, deps, 'any');
      const issues: FieldIssue[] = [];
      const filter = parseFilter(req.query, principal, issues);
      const nowMs = deps.clock.nowMs();
      let toMs = nowMs;
      if (req.query.to !== undefined) {
        const t = parseTime(req.query.to, nowMs);
        if (t === null) issues.push({ path: 'to', message: `expected a time, got ${JSON.stringify(req.query.to)}` });
        else toMs = t;
      }
      const q = finish({ toMs, filter }, issues);
      if (!q.ok) throw new HttpAppError(q.error);
      await readAfterAck();
      return rollingAverages(telemetry, q.value);
    },
  );

  api.get(
    '/api/v1/reports/cost',
    {
      schema: {
        tags: ['cost'],
        summary: 'Cost report of the last whole UTC day, ISO week or month before `at`, as JSON or CSV',
        description:
          'Rows: the total, then the cost by model, by project and by user, and the top drivers (model / project), each with the previous period, the change, share, cost per request and parts. JSON and CSV carry the same rows.',
        querystring: filterQuerySchema.extend({
          period: z.enum(REPORT_PERIODS).default('month'),
          format: z.enum(['json', 'csv']).default('json'),
          at: z
            .string()
            .max(40)
            .optional()
            .describe('The report covers the last whole period before this (default now)'),
          limit: z.coerce.number().int().min(1).max(1000).default(50).describe('Groups per section'),
        }),
      },
    },
    async (req, reply) => {
      const principal = await requirePrincipal(req, deps, 'any');
      const issues: FieldIssue[] = [];
      const filter = parseFilter(req.query, principal, issues);
      const nowMs = deps.clock.nowMs();
      let atMs = nowMs;
      if (req.query.at !== undefined) {
        const t = parseTime(req.query.at, nowMs);
        if (t === null) issues.push({ path: 'at', message: `expected a time, got ${JSON.stringify(req.query.at)}` });
        else atMs = t;
      }
      const q = finish({ period: req.query.period, atMs, filter, limit: req.query.limit }, issues);
      if (!q.ok) throw new HttpAppError(q.error);
      await readAfterAck();
      const report = await buildCostReport(telemetry, q.value);
      if (req.query.format === 'csv') {
        const name = `cost-${report.period}-${new Date(report.fromMs).toISOString().slice(0, 10)}.csv`;
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}"`)
          .send(reportToCsv(report));
      }
      return report;
    },
  );
}
