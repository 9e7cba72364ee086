/**
 * The logs module's HTTP API: log search, pattern statistics, reported statistics from SDKs,
 * and sampling policies with versions, history, comparison and generation.
 */
import {
  type AppError,
  appError,
  LOG_SEVERITIES,
  type LogSearchQuery,
  type LogSeverity,
  type Result,
  samplingPolicySchema,
  validatePolicySafety,
  validationError,
} from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../api/auth.js';
import { finish, parseRange, parseTime, splitList } from '../api/params.js';
import type { RouteHelpers } from '../platform/module.js';
import { parseLlmCallCursor } from '../store/llm-call-cursor.js';
import type { TelemetryStore } from '../store/ports.js';
import type { LogAssistant } from './assistant.js';
import type { LogRepo, PolicyVersion } from './log-repo.js';
import type { LogsConfig } from './module.js';
import type { PatternService } from './pattern-service.js';
import { computePatternStats } from './pattern-stats.js';
import { diffPolicies, type PatternStats, projectSavings } from './policy-generator.js';

export interface LogRouteDeps {
  telemetry: TelemetryStore | null;
  repo: LogRepo;
  patterns: PatternService;
  assistant: LogAssistant;
  config: () => LogsConfig;
  maxRangeDays: () => number;
  nowMs: () => number;
}

const list = z.union([z.string(), z.array(z.string())]).optional();
const time = z.string().min(1).max(40);

const searchQuery = z.object({
  from: time.describe('Range start: RFC 3339, epoch ms, `now` or `now-24h`'),
  to: time.optional().describe('Range end (exclusive); default now'),
  project: list,
  service: list,
  environment: list,
  severity: list.describe(`One or more of ${LOG_SEVERITIES.join(', ')}`),
  pattern: list.describe('Pattern ids'),
  traceId: z.string().max(64).optional(),
  q: z.string().max(500).optional().describe('Case-insensitive text the body contains'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
});

const logSchema = z.object({
  id: z.string(),
  projectId: z.string(),
  timeMs: z.number(),
  observedTimeMs: z.number(),
  ingestedAtMs: z.number(),
  source: z.string(),
  serviceName: z.string().nullable(),
  environment: z.string(),
  severity: z.enum(LOG_SEVERITIES),
  severityNumber: z.number(),
  severityText: z.string().nullable(),
  body: z.string(),
  traceId: z.string().nullable(),
  spanId: z.string().nullable(),
  eventName: z.string().nullable(),
  patternId: z.string().nullable(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  resource: z.record(z.string(), z.string()),
});

const patternStatSchema = z.object({
  projectId: z.string(),
  service: z.string().nullable(),
  patternId: z.string().nullable(),
  template: z.string().nullable(),
  count: z.number(),
  bytes: z.number(),
  ratePerMinute: z.number(),
  firstSeenMs: z.number(),
  lastSeenMs: z.number(),
  severities: z.record(z.string(), z.number()),
  examples: z.array(z.string()),
  isNew: z.boolean().describe('First seen inside the range (and the range is not the start of the data)'),
  rateChange: z
    .object({
      zScore: z.number().describe('Robust z-score of the last bucket against the earlier ones (median/MAD)'),
      score: z.number().describe("The detection module's anomaly score of the last bucket, in [0, 1]"),
      lastBucketCount: z.number(),
      baselineMean: z.number(),
      expected: z.number().describe('Median of the earlier buckets'),
      lower: z.number(),
      upper: z.number(),
    })
    .nullable()
    .describe('The last bucket against the earlier ones (z-score of per-bucket counts); null with too few buckets'),
});

const policyVersionSchema = z.object({
  service: z.string(),
  version: z.number(),
  deleted: z.boolean(),
  policy: samplingPolicySchema.nullable(),
  generatedBy: z.enum(['manual', 'deterministic', 'llm']),
  note: z.string().nullable(),
  createdAtMs: z.number(),
  createdBy: z.string().nullable(),
});

const costModelSchema = z.object({
  ingestUsdPerGb: z.number().min(0).optional(),
  retainUsdPerGbMonth: z.number().min(0).optional(),
  retentionMonths: z.number().min(0).optional(),
});

const projectionSchema = z.object({
  before: z.object({ linesPerMonth: z.number(), gbPerMonth: z.number(), usdPerMonth: z.number() }),
  after: z.object({ linesPerMonth: z.number(), gbPerMonth: z.number(), usdPerMonth: z.number() }),
  savedGbPerMonth: z.number(),
  savedUsdPerMonth: z.number(),
  savedShare: z.number(),
  byRule: z.array(
    z.object({ patternId: z.string(), rate: z.number(), savedGbPerMonth: z.number(), savedUsdPerMonth: z.number() }),
  ),
});

const llmCallSchema = z
  .object({
    provider: z.string(),
    model: z.string(),
    inputTokens: z.number().nullable(),
    outputTokens: z.number().nullable(),
    latencyMs: z.number(),
    recorded: z.boolean().describe('Stored as an LLM call of the project (service reskpoints)'),
  })
  .describe('The call to the LLM provider, when one was made');

const serviceParams = z.object({ service: z.string().min(1).max(200) });
const projectQuery = z.object({ project: z.string().max(128).optional().describe('Project id (admin token only)') });

function projectOf(principal: Principal, asked: string | undefined, helpers: RouteHelpers): string {
  if (principal.kind === 'project') {
    if (asked && asked !== principal.projectId)
      helpers.fail(validationError([{ path: 'project', message: 'this key can only use its own project' }]));
    return principal.projectId;
  }
  if (!asked)
    return helpers.fail(
      validationError([{ path: 'project', message: 'required with the admin token: which project' }]),
    );
  return asked;
}

function toOut(v: PolicyVersion) {
  const { projectId: _p, ...rest } = v;
  return rest;
}

export function registerLogRoutes(app: FastifyInstance, helpers: RouteHelpers, deps: LogRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const unwrap = <T>(r: Result<T, AppError>): T => (r.ok ? r.value : helpers.fail(r.error));
  const store = (): TelemetryStore =>
    deps.telemetry ?? helpers.fail(appError('RP_UNAVAILABLE', 'this node does not serve telemetry reads'));

  const parseSearch = (q: z.output<typeof searchQuery>, principal: Principal): LogSearchQuery => {
    const issues: Array<{ path: string; message: string }> = [];
    const now = deps.nowMs();
    const range = parseRange({ from: q.from, to: q.to ?? 'now' }, { maxRangeDays: deps.maxRangeDays() }, now, issues);
    const severities = splitList(q.severity);
    for (const s of severities ?? [])
      if (!(LOG_SEVERITIES as readonly string[]).includes(s))
        issues.push({
          path: 'severity',
          message: `must be one of ${LOG_SEVERITIES.join(', ')}, got ${JSON.stringify(s)}`,
        });
    let projectIds = splitList(q.project);
    if (principal.kind === 'project') {
      if (projectIds?.some((p) => p !== principal.projectId))
        issues.push({ path: 'project', message: 'this key can only read its own project' });
      projectIds = [principal.projectId];
    }
    if (q.cursor !== undefined && !parseLlmCallCursor(q.cursor).ok)
      issues.push({ path: 'cursor', message: 'not a cursor returned by this API' });
    const filter: LogSearchQuery['filter'] = {};
    if (projectIds) filter.projectIds = projectIds;
    const services = splitList(q.service);
    if (services) filter.services = services;
    const environments = splitList(q.environment);
    if (environments) filter.environments = environments;
    if (severities) filter.severities = severities as LogSeverity[];
    const patterns = splitList(q.pattern);
    if (patterns) filter.patternIds = patterns;
    if (q.traceId) filter.traceId = q.traceId.toLowerCase();
    if (q.q) filter.text = q.q;
    return unwrap(
      finish(
        { ...range, filter, limit: q.limit, ...(q.cursor ? { cursor: q.cursor } : {}) },
        issues,
        'invalid log query',
      ),
    );
  };

  const patternStats = (q: LogSearchQuery) => computePatternStats(store(), deps.patterns, q);

  api.get(
    '/api/v1/logs',
    {
      schema: {
        tags: ['logs'],
        summary: 'Search log records, newest first',
        description: 'By time, service, environment, severity, pattern, trace id and text; page with nextCursor.',
        querystring: searchQuery,
        response: { 200: z.object({ items: z.array(logSchema), nextCursor: z.string().nullable() }) },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      return store().searchLogs(parseSearch(req.query, principal));
    },
  );

  api.get(
    '/api/v1/logs/patterns',
    {
      schema: {
        tags: ['logs'],
        summary:
          'Pattern statistics per service: count, bytes, rate, first and last seen, severity mix, examples, new patterns and rate changes',
        querystring: searchQuery.omit({ limit: true, cursor: true, pattern: true }).extend({
          bucket: z.string().max(16).optional().describe('Bucket for rate changes, e.g. 5m (default: range / 12)'),
        }),
        response: { 200: z.object({ fromMs: z.number(), toMs: z.number(), patterns: z.array(patternStatSchema) }) },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const q = parseSearch({ ...req.query, limit: 1000 }, principal);
      return patternStats(q);
    },
  );

  api.post(
    '/api/v1/patterns/stats',
    {
      schema: {
        tags: ['logs'],
        summary: 'Pattern statistics reported by an SDK (project key)',
        description:
          'What the logging SDK counted, kept or not, per pattern over a window; used to generate policies for logs that never reach ReskPoints because they were sampled away.',
        body: z.object({
          service: z.string().min(1).max(200),
          windowStartMs: z.number().int(),
          windowEndMs: z.number().int(),
          patterns: z
            .array(
              z.object({
                patternId: z.string().min(1).max(64),
                template: z.string().max(4096),
                count: z.number().int().min(0),
                bytes: z.number().int().min(0),
                keptCount: z.number().int().min(0),
                keptBytes: z.number().int().min(0),
                severities: z.partialRecord(z.enum(LOG_SEVERITIES), z.number().int().min(0)),
              }),
            )
            .max(10_000),
        }),
        response: { 202: z.object({ accepted: z.number() }) },
      },
    },
    async (req, reply) => {
      const principal = await helpers.authenticate(req, 'project');
      const projectId = principal.kind === 'project' ? principal.projectId : '';
      const b = req.body;
      if (b.windowEndMs < b.windowStartMs)
        helpers.fail(validationError([{ path: 'windowEndMs', message: 'must not be before windowStartMs' }]));
      await deps.repo.addReportedStats(
        projectId,
        b.service,
        b.patterns.map((p) => ({
          patternId: p.patternId,
          template: p.template,
          windowStartMs: b.windowStartMs,
          windowEndMs: b.windowEndMs,
          lines: p.count,
          bytes: p.bytes,
          keptLines: p.keptCount,
          keptBytes: p.keptBytes,
          severities: p.severities,
        })),
        deps.nowMs(),
      );
      return reply.code(202).send({ accepted: b.patterns.length });
    },
  );

  /** Pattern statistics of a service over a window: stored logs, and what SDKs reported (which wins). */
  const collectStats = async (
    projectId: string,
    service: string,
    window: string,
    now: number,
  ): Promise<{ stats: PatternStats[]; windowMs: number; statsFrom: 'stored' | 'reported' | 'both' }> => {
    const fromMs = parseTime(`now-${window}`, now);
    if (fromMs == null)
      helpers.fail(validationError([{ path: 'window', message: 'expected a duration such as 1h or 7d' }]));
    const windowMs = now - (fromMs as number);
    const stats = new Map<string, PatternStats>();
    let fromStored = false;
    if (deps.telemetry) {
      const counts = await deps.telemetry.logPatternCounts({
        fromMs: fromMs as number,
        toMs: now,
        filter: { projectIds: [projectId], services: [service] },
        limit: 1,
      });
      const tpl = new Map(deps.patterns.patterns(projectId, service).map((p) => [p.id, p.template]));
      for (const c of counts) {
        if (!c.patternId) continue;
        fromStored = true;
        stats.set(c.patternId, {
          patternId: c.patternId,
          template: tpl.get(c.patternId) ?? c.example,
          count: c.count,
          bytes: c.bytes,
          severities: c.severities,
        });
      }
    }
    const reported = await deps.repo.reportedStats(projectId, service, fromMs as number, now + 1);
    for (const r of reported) {
      // SDK counts include lines that never reached the store; they win where both exist.
      stats.set(r.patternId, {
        patternId: r.patternId,
        template: r.template,
        count: r.lines,
        bytes: r.bytes,
        severities: r.severities as PatternStats['severities'],
      });
    }
    return {
      stats: [...stats.values()],
      windowMs,
      statsFrom: fromStored && reported.length ? 'both' : reported.length ? 'reported' : 'stored',
    };
  };

  // --- policies ---------------------------------------------------------------------------

  api.get(
    '/api/v1/policies',
    {
      schema: {
        tags: ['policies'],
        summary: "The project's services with a sampling policy",
        querystring: projectQuery,
        response: { 200: z.object({ policies: z.array(policyVersionSchema) }) },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const projectId = projectOf(principal, req.query.project, helpers);
      return { policies: (await deps.repo.listPolicies(projectId)).map(toOut) };
    },
  );

  api.get(
    '/api/v1/policies/:service',
    {
      schema: {
        tags: ['policies'],
        summary: "A service's current sampling policy (what the SDK fetches); ETag / If-None-Match answer 304",
        params: serviceParams,
        querystring: projectQuery,
        response: {
          200: policyVersionSchema.extend({ policy: samplingPolicySchema }),
          304: z.null().describe('Not modified: the policy the client has (If-None-Match) is current'),
        },
      },
    },
    async (req, reply) => {
      const principal = await helpers.authenticate(req, 'any');
      const projectId = projectOf(principal, req.query.project, helpers);
      const v = await deps.repo.currentPolicy(projectId, req.params.service);
      if (!v?.policy)
        return helpers.fail(appError('RP_NOT_FOUND', `no sampling policy for service ${req.params.service}`));
      const etag = `"${projectId}:${req.params.service}:${v.version}"`;
      reply.header('etag', etag).header('cache-control', 'no-cache');
      if (req.headers['if-none-match'] === etag) return reply.code(304).send(null);
      return { ...toOut(v), policy: v.policy };
    },
  );

  api.get(
    '/api/v1/policies/:service/history',
    {
      schema: {
        tags: ['policies'],
        summary: "Every version of a service's policy, newest first (deletions included)",
        params: serviceParams,
        querystring: projectQuery,
        response: { 200: z.object({ versions: z.array(policyVersionSchema) }) },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const projectId = projectOf(principal, req.query.project, helpers);
      return { versions: (await deps.repo.policyHistory(projectId, req.params.service)).map(toOut) };
    },
  );

  api.get(
    '/api/v1/policies/:service/compare',
    {
      schema: {
        tags: ['policies'],
        summary: 'What changed between two versions: rules added, removed and changed, and settings',
        params: serviceParams,
        querystring: projectQuery.extend({
          from: z.coerce.number().int().min(1),
          to: z.coerce.number().int().min(1).optional().describe('Default: the current version'),
        }),
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const projectId = projectOf(principal, req.query.project, helpers);
      const { service } = req.params;
      const a = await deps.repo.policyVersion(projectId, service, req.query.from);
      const b =
        req.query.to === undefined
          ? await deps.repo.currentPolicy(projectId, service)
          : await deps.repo.policyVersion(projectId, service, req.query.to);
      if (!a?.policy)
        return helpers.fail(appError('RP_NOT_FOUND', `version ${req.query.from} of ${service} does not exist`));
      if (!b?.policy)
        return helpers.fail(
          appError('RP_NOT_FOUND', `version ${req.query.to ?? 'current'} of ${service} does not exist`),
        );
      return { from: a.version, to: b.version, diff: diffPolicies(a.policy, b.policy) };
    },
  );

  api.post(
    '/api/v1/policies/:service',
    {
      schema: {
        tags: ['policies'],
        summary: 'Set a sampling policy (a new version); refused with 400 when it fails the safety checks',
        params: serviceParams,
        querystring: projectQuery,
        body: z.object({ policy: samplingPolicySchema, note: z.string().max(1000).optional() }),
        response: { 201: policyVersionSchema },
      },
    },
    async (req, reply) => {
      const principal = await helpers.authenticate(req, 'any');
      const projectId = projectOf(principal, req.query.project, helpers);
      const policy = { ...req.body.policy, service: req.params.service };
      const problems = validatePolicySafety(policy, { minRate: deps.config().minRate });
      if (problems.length)
        helpers.fail(
          validationError(
            problems.map((p) => ({ path: `policy.${p.path}`, message: p.message })),
            'unsafe policy',
          ),
        );
      const v = await deps.repo.addPolicyVersion({
        projectId,
        service: req.params.service,
        policy,
        generatedBy: 'manual',
        note: req.body.note ?? null,
        createdAtMs: deps.nowMs(),
        createdBy: principal.kind === 'admin' ? 'admin' : principal.keyId,
      });
      return reply.code(201).send(toOut(v));
    },
  );

  api.delete(
    '/api/v1/policies/:service',
    {
      schema: {
        tags: ['policies'],
        summary: "Delete a service's policy (a tombstone version; SDKs then keep every line)",
        params: serviceParams,
        querystring: projectQuery,
        response: { 200: policyVersionSchema },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const projectId = projectOf(principal, req.query.project, helpers);
      if (!(await deps.repo.currentPolicy(projectId, req.params.service)))
        return helpers.fail(appError('RP_NOT_FOUND', `no sampling policy for service ${req.params.service}`));
      return toOut(
        await deps.repo.addPolicyVersion({
          projectId,
          service: req.params.service,
          policy: null,
          generatedBy: 'manual',
          note: null,
          createdAtMs: deps.nowMs(),
          createdBy: principal.kind === 'admin' ? 'admin' : principal.keyId,
        }),
      );
    },
  );

  api.post(
    '/api/v1/policies/:service/generate',
    {
      schema: {
        tags: ['policies'],
        summary: 'Generate a policy from pattern statistics, with projected volume and monthly savings',
        description:
          'Statistics come from stored logs of the service over the window, and from what SDKs reported (lines sampled away before they reached ReskPoints). With `apply: true` the policy becomes the new version; otherwise it is a preview.',
        params: serviceParams,
        querystring: projectQuery,
        body: z.object({
          window: z.string().max(16).default('24h').describe('How far back statistics are read, e.g. 1h, 24h, 7d'),
          targetPerMinute: z.number().positive().optional(),
          capFactor: z.number().positive().optional(),
          costModel: costModelSchema.optional(),
          apply: z.boolean().default(false),
          llm: z
            .boolean()
            .default(true)
            .describe('Ask the configured LLM provider (logs.llm); false: the deterministic generator only'),
        }),
        response: {
          200: z.object({
            policy: samplingPolicySchema,
            projection: projectionSchema,
            statsFrom: z.enum(['stored', 'reported', 'both']),
            generatedBy: z.enum(['llm', 'deterministic']),
            fallbackReason: z
              .string()
              .nullable()
              .describe(
                'Why the deterministic generator answered (no provider, provider failed, answer malformed or unsafe)',
              ),
            llm: llmCallSchema.nullable(),
            version: policyVersionSchema.nullable(),
          }),
        },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const projectId = projectOf(principal, req.query.project, helpers);
      const service = req.params.service;
      const now = deps.nowMs();
      const { stats, windowMs, statsFrom } = await collectStats(projectId, service, req.body.window, now);
      const cfg = deps.config();
      const options = {
        windowMs,
        targetPerMinute: req.body.targetPerMinute ?? cfg.targetPerMinute,
        minRate: cfg.minRate,
        ...(req.body.capFactor ? { capFactor: req.body.capFactor } : {}),
      };
      const outcome = await deps.assistant.policy(
        { projectId, service, stats, ...options },
        { deterministic: !req.body.llm },
      );
      const policy = outcome.result;
      const model = { ...cfg.costModel, ...req.body.costModel };
      const projection = projectSavings(policy, stats, windowMs, model);
      let version: PolicyVersion | null = null;
      if (req.body.apply && policy.rules.length > 0)
        version = await deps.repo.addPolicyVersion({
          projectId,
          service,
          policy,
          generatedBy: outcome.generatedBy,
          note: `generated from ${req.body.window} of statistics${outcome.generatedBy === 'llm' ? ` by ${outcome.llm?.model}` : ''}`,
          createdAtMs: now,
          createdBy: principal.kind === 'admin' ? 'admin' : principal.keyId,
        });
      return {
        policy,
        projection,
        statsFrom,
        generatedBy: outcome.generatedBy,
        fallbackReason: outcome.fallbackReason,
        llm: outcome.llm,
        version: version ? toOut(version) : null,
      };
    },
  );

  api.post(
    '/api/v1/policies/:service/project',
    {
      schema: {
        tags: ['policies'],
        summary: 'Projected volume and monthly savings of a policy (the given one, else the current version)',
        description:
          'Reads the same statistics as generate (stored logs and what SDKs reported over the window) and projects them to a month under the policy: lines, GB and USD before and after, and per rule the GB and USD it drops.',
        params: serviceParams,
        querystring: projectQuery,
        body: z.object({
          window: z.string().max(16).default('24h').describe('How far back statistics are read, e.g. 1h, 24h, 7d'),
          policy: samplingPolicySchema.optional().describe('A policy to project; omitted: the current version'),
          costModel: costModelSchema.optional(),
        }),
        response: {
          200: z.object({
            projection: projectionSchema,
            statsFrom: z.enum(['stored', 'reported', 'both']),
            version: z.number().nullable().describe('The version projected; null for a policy given in the body'),
          }),
        },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const projectId = projectOf(principal, req.query.project, helpers);
      const service = req.params.service;
      let policy = req.body.policy ? { ...req.body.policy, service } : null;
      let version: number | null = null;
      if (!policy) {
        const current = await deps.repo.currentPolicy(projectId, service);
        if (!current?.policy)
          return helpers.fail(
            appError('RP_NOT_FOUND', `no sampling policy for service ${service}: give one in the body`),
          );
        policy = current.policy;
        version = current.version;
      }
      const { stats, windowMs, statsFrom } = await collectStats(projectId, service, req.body.window, deps.nowMs());
      const model = { ...deps.config().costModel, ...req.body.costModel };
      return { projection: projectSavings(policy, stats, windowMs, model), statsFrom, version };
    },
  );

  const assistMeta = {
    generatedBy: z.enum(['llm', 'deterministic']),
    fallbackReason: z.string().nullable().describe('Why the deterministic answer was given'),
    llm: llmCallSchema.nullable(),
  };

  api.post(
    '/api/v1/policies/:service/advice',
    {
      schema: {
        tags: ['policies'],
        summary:
          "Cost-optimisation advice for a service's logs (LLM when configured, else from the deterministic policy)",
        description:
          'Reads the same statistics as generate. An LLM answer is validated (shape, known pattern ids, every suggested rate through the policy safety checks); otherwise the advice lists the savings of the deterministic policy rule by rule.',
        params: serviceParams,
        querystring: projectQuery,
        body: z.object({
          window: z.string().max(16).default('24h'),
          targetPerMinute: z.number().positive().optional(),
          costModel: costModelSchema.optional(),
          llm: z.boolean().default(true),
        }),
        response: {
          200: z.object({
            advice: z.object({
              summary: z.string(),
              actions: z.array(
                z.object({
                  title: z.string(),
                  detail: z.string(),
                  patternId: z.string().optional(),
                  suggestedRate: z.number().optional(),
                  estimatedSavingsUsdPerMonth: z.number().optional(),
                }),
              ),
            }),
            projection: projectionSchema,
            statsFrom: z.enum(['stored', 'reported', 'both']),
            ...assistMeta,
          }),
        },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const projectId = projectOf(principal, req.query.project, helpers);
      const service = req.params.service;
      const now = deps.nowMs();
      const { stats, windowMs, statsFrom } = await collectStats(projectId, service, req.body.window, now);
      const cfg = deps.config();
      const current = (await deps.repo.currentPolicy(projectId, service))?.policy ?? null;
      const input = {
        projectId,
        service,
        stats,
        windowMs,
        targetPerMinute: req.body.targetPerMinute ?? cfg.targetPerMinute,
        minRate: cfg.minRate,
        costModel: { ...cfg.costModel, ...req.body.costModel },
        current,
      };
      const out = await deps.assistant.advice(input, { deterministic: !req.body.llm });
      return {
        advice: out.result,
        projection: out.projection,
        statsFrom,
        generatedBy: out.generatedBy,
        fallbackReason: out.fallbackReason,
        llm: out.llm,
      };
    },
  );

  api.post(
    '/api/v1/logs/patterns/explain',
    {
      schema: {
        tags: ['logs'],
        summary: 'Explain a new or surging pattern (LLM when configured, else from its statistics)',
        description:
          'Looks the pattern up in the statistics of its service over the range (as GET /api/v1/logs/patterns computes them) and explains it with the other patterns that changed.',
        querystring: projectQuery,
        body: z.object({
          service: z.string().min(1).max(200),
          patternId: z.string().min(1).max(64),
          from: time.default('now-24h'),
          to: time.optional(),
          llm: z.boolean().default(true),
        }),
        response: {
          200: z.object({
            explanation: z.object({
              summary: z.string(),
              likelyCauses: z.array(z.string()),
              suggestedChecks: z.array(z.string()),
            }),
            pattern: patternStatSchema,
            ...assistMeta,
          }),
        },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'any');
      const projectId = projectOf(principal, req.query.project, helpers);
      const b = req.body;
      const q = parseSearch(
        { from: b.from, ...(b.to ? { to: b.to } : {}), project: projectId, service: b.service, limit: 1000 },
        principal,
      );
      const all = await patternStats(q);
      const patternId = deps.patterns.resolve(projectId, b.service, b.patternId);
      const p = all.patterns.find((x) => x.patternId === patternId);
      if (!p)
        return helpers.fail(
          appError('RP_NOT_FOUND', `pattern ${b.patternId} has no lines in ${b.service} over the range`),
        );
      const input = {
        projectId,
        service: b.service,
        pattern: {
          patternId,
          template: p.template ?? p.examples[0] ?? '',
          examples: p.examples,
          severities: p.severities as Partial<Record<LogSeverity, number>>,
          ratePerMinute: p.ratePerMinute,
          isNew: p.isNew,
          rateChange: p.rateChange,
        },
        neighbours: all.patterns
          .filter(
            (x) => x.patternId && x.patternId !== patternId && (x.isNew || Math.abs(x.rateChange?.zScore ?? 0) >= 3),
          )
          .map((x) => ({
            patternId: x.patternId as string,
            template: x.template ?? x.examples[0] ?? '',
            zScore: x.rateChange?.zScore ?? null,
            isNew: x.isNew,
          })),
      };
      const out = await deps.assistant.explain(input, { deterministic: !b.llm });
      return {
        explanation: out.result,
        pattern: p,
        generatedBy: out.generatedBy,
        fallbackReason: out.fallbackReason,
        llm: out.llm,
      };
    },
  );
}
