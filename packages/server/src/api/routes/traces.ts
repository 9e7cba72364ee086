import { appError, type FieldIssue, groupCostUsd, type LlmCall } from '@reskpoints/core';
import { z } from 'zod';
import { parseLlmCallCursor } from '../../store/llm-call-cursor.js';
import { HttpAppError } from '../errors.js';
import { requirePrincipal } from '../guard.js';
import { filterQuerySchema, finish, parseFilter, parseRange, rangeQuerySchema, splitList } from '../params.js';
import type { Api, ApiDeps } from '../server.js';
import { llmCallResponseSchema } from './query.js';

const nullableNum = z.number().nullable();
const traceSummarySchema = z.object({
  projectId: z.string(),
  traceId: z.string(),
  startTimeMs: z.number(),
  endTimeMs: z.number(),
  llmCalls: z.number(),
  errors: z.number(),
  costUsd: nullableNum.describe('Sum of the known costs of its calls; null when none has one'),
  unpricedCalls: z.number(),
  models: z.array(z.string()),
  rootSpanName: z.string().nullable(),
});
const spanSchema = z.object({
  projectId: z.string(),
  traceId: z.string(),
  spanId: z.string(),
  parentSpanId: z.string().nullable(),
  serviceName: z.string().nullable(),
  name: z.string(),
  kind: z.string(),
  startTimeMs: z.number(),
  durationMs: z.number(),
  statusCode: z.string(),
  statusMessage: z.string().nullable(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  ingestedAtMs: z.number(),
  llmCallIds: z
    .array(z.string())
    .describe("Calls recorded by this span, or directly under it when the call's own span is not stored"),
  costUsd: nullableNum.describe('Known cost of the calls in llmCallIds; null when none has one'),
});

const HOUR_MS = 3_600_000;

/** Cost of some calls: the sum of the known costs, null when none is known (unknown is not $0). */
function costOf(calls: LlmCall[]): { costUsd: number | null; unpriced: number } {
  let known = 0;
  let unpriced = 0;
  for (const c of calls) {
    if (c.cost.totalUsd === null) unpriced++;
    else known += c.cost.totalUsd;
  }
  return { costUsd: groupCostUsd(known, calls.length, unpriced), unpriced };
}

export function registerTraceRoutes(app: Api | import('fastify').FastifyInstance, deps: ApiDeps): void {
  const api = app as Api;
  const telemetry = deps.telemetry;
  if (!telemetry) return;

  api.get(
    '/api/v1/traces',
    {
      schema: {
        tags: ['query'],
        summary: 'Traces having LLM calls that match the filters, newest first, with cursor pagination',
        querystring: rangeQuerySchema.extend(filterQuerySchema.shape).extend({
          limit: z.coerce.number().int().min(1).max(1000).default(50),
          cursor: z.string().max(512).optional().describe('nextCursor of the previous page'),
        }),
        response: { 200: z.object({ items: z.array(traceSummarySchema), nextCursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const principal = await requirePrincipal(req, deps, 'any');
      const issues: FieldIssue[] = [];
      const range = parseRange(req.query, deps.config().query, deps.clock.nowMs(), issues);
      const filter = parseFilter(req.query, principal, issues);
      if (req.query.cursor) {
        const c = parseLlmCallCursor(req.query.cursor);
        if (!c.ok) issues.push(...(c.error.issues ?? []));
      }
      const q = finish(
        { ...range, filter, limit: req.query.limit, ...(req.query.cursor ? { cursor: req.query.cursor } : {}) },
        issues,
      );
      if (!q.ok) throw new HttpAppError(q.error);
      await deps.pipeline?.settled(5_000);
      return telemetry.listTraces(q.value);
    },
  );

  api.get(
    '/api/v1/traces/:traceId',
    {
      schema: {
        tags: ['query'],
        summary: 'One trace: its spans (with the cost of their calls) and its LLM calls',
        description:
          'Searches calls and spans that started in [from, to); by default the longest range queries allow, up to an hour from now.',
        params: z.object({ traceId: z.string().min(1).max(64) }),
        querystring: z.object({
          from: rangeQuerySchema.shape.from.optional(),
          to: rangeQuerySchema.shape.to.optional(),
          project: filterQuerySchema.shape.project,
        }),
        response: {
          200: z.object({
            traceId: z.string(),
            projectIds: z.array(z.string()),
            startTimeMs: z.number(),
            endTimeMs: z.number(),
            durationMs: z.number(),
            errors: z.number().describe('Spans with status error plus calls with status error'),
            costUsd: nullableNum,
            unpricedCalls: z.number(),
            spans: z.array(spanSchema),
            llmCalls: z.array(llmCallResponseSchema),
          }),
        },
      },
    },
    async (req) => {
      const principal = await requirePrincipal(req, deps, 'any');
      const cfg = deps.config();
      const nowMs = deps.clock.nowMs();
      const issues: FieldIssue[] = [];
      const range = parseRange(
        {
          from: req.query.from ?? `now-${cfg.query.maxRangeDays}d`,
          to: req.query.to ?? String(nowMs + HOUR_MS),
        },
        // The default reaches an hour past now (clocks of senders drift).
        { ...cfg.query, maxRangeDays: cfg.query.maxRangeDays + 1 },
        nowMs,
        issues,
      );
      let projectIds = splitList(req.query.project);
      if (principal.kind === 'project') {
        if (projectIds?.some((p) => p !== principal.projectId))
          issues.push({ path: 'project', message: 'this key can only read its own project' });
        projectIds = [principal.projectId];
      }
      const q = finish({ ...range, traceId: req.params.traceId, projectIds }, issues);
      if (!q.ok) throw new HttpAppError(q.error);
      await deps.pipeline?.settled(5_000);
      const trace = await telemetry.getTrace(q.value);
      if (trace.spans.length === 0 && trace.llmCalls.length === 0)
        throw new HttpAppError(appError('RP_NOT_FOUND', `no trace ${req.params.traceId} in the range`));
      // A call belongs to its own span when that span is stored, else to its parent: GenAI spans
      // become calls and are not kept as spans themselves.
      const stored = new Set(trace.spans.map((s) => `${s.projectId}\u0000${s.spanId}`));
      const callsBySpan = new Map<string, LlmCall[]>();
      for (const c of trace.llmCalls) {
        const own = c.spanId === null ? null : `${c.projectId}\u0000${c.spanId}`;
        const parent = c.parentSpanId === null ? null : `${c.projectId}\u0000${c.parentSpanId}`;
        const key = own !== null && stored.has(own) ? own : parent !== null && stored.has(parent) ? parent : null;
        if (key === null) continue;
        const list = callsBySpan.get(key);
        if (list) list.push(c);
        else callsBySpan.set(key, [c]);
      }
      const spans = trace.spans.map((s) => {
        const calls = callsBySpan.get(`${s.projectId}\u0000${s.spanId}`) ?? [];
        return { ...s, llmCallIds: calls.map((c) => c.id), costUsd: costOf(calls).costUsd };
      });
      const starts = [...trace.spans.map((s) => s.startTimeMs), ...trace.llmCalls.map((c) => c.startTimeMs)];
      const ends = [
        ...trace.spans.map((s) => s.startTimeMs + s.durationMs),
        ...trace.llmCalls.map((c) => c.startTimeMs + c.latencyMs),
      ];
      const startTimeMs = Math.min(...starts);
      const endTimeMs = Math.max(...ends);
      const cost = costOf(trace.llmCalls);
      return {
        traceId: req.params.traceId,
        projectIds: [...new Set([...trace.spans, ...trace.llmCalls].map((x) => x.projectId))].sort(),
        startTimeMs,
        endTimeMs,
        durationMs: endTimeMs - startTimeMs,
        errors:
          trace.spans.filter((s) => s.statusCode === 'error').length +
          trace.llmCalls.filter((c) => c.status === 'error').length,
        costUsd: cost.costUsd,
        unpricedCalls: cost.unpriced,
        spans,
        llmCalls: trace.llmCalls,
      };
    },
  );

  api.get(
    '/api/v1/me',
    {
      schema: {
        tags: ['projects'],
        summary: 'Who the credential is: the admin, or a project key and its project',
        response: {
          200: z.object({ kind: z.enum(['admin', 'project']), projectId: z.string().nullable() }),
        },
      },
    },
    async (req) => {
      const principal = await requirePrincipal(req, deps, 'any');
      return { kind: principal.kind, projectId: principal.kind === 'project' ? principal.projectId : null };
    },
  );
}
