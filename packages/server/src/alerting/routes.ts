/**
 * HTTP API of the alerting module (admin keys): alerts, rules with their state, silences
 * (create, list, expire), receivers (without secrets) and the notification log.
 */
import { randomUUID } from 'node:crypto';
import { appError, validationError } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ModuleContext, RouteHelpers } from '../platform/module.js';
import { describeChannels } from './channels/index.js';
import type { AlertingConfig } from './config.js';
import type { AlertingEngine } from './engine.js';
import { fingerprint, isResolved } from './labels.js';
import { formatMatcher, parseMatchers } from './matchers.js';
import type { AlertingRepo } from './repo.js';
import type { RulesSource } from './rules-source.js';
import { type Silence, silencedBy, silenceState } from './silences.js';
import { parseTimeInterval, type TimeInterval, type TimeIntervalSpec } from './time-intervals.js';

export interface AlertingRouteDeps {
  ctx: ModuleContext<AlertingConfig>;
  repo: AlertingRepo;
  engine: AlertingEngine;
  rules: RulesSource;
  wake: () => void;
}

const silenceBody = z
  .object({
    matchers: z.array(z.string()).min(1).describe('e.g. ["alertname=~\\"Cost.*\\"", "env!=\\"dev\\""]'),
    startsAtMs: z.number().int().min(0).optional().describe('Default: now'),
    endsAtMs: z.number().int().min(0),
    createdBy: z.string().min(1).max(256),
    comment: z.string().max(4096).default(''),
    timeIntervals: z
      .array(z.record(z.string(), z.unknown()))
      .optional()
      .describe('Recurring intervals (Alertmanager shape) inside which the silence mutes'),
  })
  .strict();

export function silenceView(s: Silence, nowMs: number) {
  return {
    id: s.id,
    matchers: s.matchers.map(formatMatcher),
    startsAtMs: s.startsAtMs,
    endsAtMs: s.endsAtMs,
    createdBy: s.createdBy,
    comment: s.comment,
    recurring: (s.timeIntervals?.length ?? 0) > 0,
    state: silenceState(s, nowMs),
  };
}

export function registerAlertingRoutes(api: FastifyInstance, helpers: RouteHelpers, deps: AlertingRouteDeps): void {
  const { ctx, repo } = deps;
  const now = () => ctx.clock.nowMs();

  api.get(
    '/api/v1/alerts',
    {
      schema: {
        tags: ['alerting'],
        summary:
          'Alerts the notification pipeline holds (firing, and resolved not yet notified), with the ids of the silences muting each',
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const nowMs = now();
      const alerts = await repo.loadAlerts(ctx.state);
      const silences = await repo.loadSilences(ctx.state, nowMs);
      return {
        alerts: alerts.map((a) => ({
          fingerprint: fingerprint(a.labels),
          status: isResolved(a, nowMs) ? 'resolved' : 'firing',
          labels: a.labels,
          annotations: a.annotations,
          startsAtMs: a.startsAtMs,
          endsAtMs: a.endsAtMs,
          silencedBy: silencedBy(silences, a.labels, nowMs),
        })),
      };
    },
  );

  api.get(
    '/api/v1/alerts/silences',
    { schema: { tags: ['alerting'], summary: 'Silences, newest end first' } },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const nowMs = now();
      const list = await repo.loadSilences(ctx.state, 0);
      return { silences: list.sort((a, b) => b.endsAtMs - a.endsAtMs).map((s) => silenceView(s, nowMs)) };
    },
  );

  api.post(
    '/api/v1/alerts/silences',
    {
      schema: {
        tags: ['alerting'],
        summary: 'Creates a silence (matchers, period, optional recurring intervals)',
        body: silenceBody,
      },
    },
    async (req, reply) => {
      await helpers.authenticate(req, 'admin');
      const body = silenceBody.parse(req.body);
      const s = await createSilence(body, now());
      if (!s.ok) return helpers.fail(validationError(s.issues, 'invalid silence'));
      await repo.putSilence(ctx.state, s.silence);
      deps.wake();
      reply.code(201);
      return { silence: silenceView(s.silence, now()) };
    },
  );

  api.delete(
    '/api/v1/alerts/silences/:id',
    { schema: { tags: ['alerting'], summary: 'Expires a silence now', params: z.object({ id: z.string().max(64) }) } },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const { id } = req.params as { id: string };
      const result = await expireSilence(repo, ctx, id, now());
      if (!result) return helpers.fail(appError('RP_NOT_FOUND', `no silence "${id}"`));
      deps.wake();
      return { silence: silenceView(result, now()) };
    },
  );

  api.get(
    '/api/v1/alerts/receivers',
    { schema: { tags: ['alerting'], summary: 'Receivers and their channels; URLs, keys and passwords redacted' } },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      return {
        receivers: ctx.config().receivers.map((r) => ({
          name: r.name,
          sendResolved: r.sendResolved,
          channels: describeChannels(r),
        })),
      };
    },
  );

  api.get(
    '/api/v1/alerts/notifications',
    {
      schema: {
        tags: ['alerting'],
        summary: 'The notification log: notifications waiting in the outbox and the latest delivered or failed',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const { limit } = req.query as { limit: number };
      const pending = await repo.listOutbox(ctx.state);
      const sent = await repo.listSent(ctx.state, limit);
      return {
        pending: pending.map((p) => ({
          id: p.id,
          receiver: p.receiver,
          channel: p.channel,
          groupKey: p.group_key,
          status: p.status,
          createdAtMs: p.created_at_ms,
          attempts: p.attempts,
          nextAttemptAtMs: p.next_attempt_at_ms,
          lastError: p.last_error,
        })),
        sent: sent.map((s) => ({
          id: s.id,
          receiver: s.receiver,
          channel: s.channel,
          groupKey: s.group_key,
          status: s.status,
          alertCount: s.alert_count,
          createdAtMs: s.created_at_ms,
          finishedAtMs: s.finished_at_ms,
          outcome: s.outcome,
          attempts: s.attempts,
          detail: s.detail,
        })),
      };
    },
  );
}

export async function createSilence(
  body: z.infer<typeof silenceBody>,
  nowMs: number,
): Promise<{ ok: true; silence: Silence } | { ok: false; issues: { path: string; message: string }[] }> {
  const issues: { path: string; message: string }[] = [];
  const matchers = parseMatchers(body.matchers);
  if (!matchers.ok) issues.push(...matchers.error.map((message) => ({ path: 'matchers', message })));
  const startsAtMs = body.startsAtMs ?? nowMs;
  if (body.endsAtMs <= startsAtMs) issues.push({ path: 'endsAtMs', message: 'must be after startsAtMs' });
  if (body.endsAtMs <= nowMs) issues.push({ path: 'endsAtMs', message: 'must be in the future' });
  const intervals: TimeInterval[] = [];
  (body.timeIntervals ?? []).forEach((spec, i) => {
    const r = parseTimeInterval(spec as TimeIntervalSpec);
    if (r.ok) intervals.push(r.value);
    else issues.push(...r.error.map((message) => ({ path: `timeIntervals.${i}`, message })));
  });
  if (issues.length || !matchers.ok) return { ok: false, issues };
  return {
    ok: true,
    silence: {
      id: randomUUID(),
      matchers: matchers.value,
      startsAtMs,
      endsAtMs: body.endsAtMs,
      createdBy: body.createdBy,
      comment: body.comment,
      ...(intervals.length ? { timeIntervals: intervals } : {}),
      updatedAtMs: nowMs,
    },
  };
}

export async function expireSilence(
  repo: AlertingRepo,
  ctx: ModuleContext<AlertingConfig>,
  id: string,
  nowMs: number,
): Promise<Silence | undefined> {
  const s = await repo.getSilence(ctx.state, id);
  if (!s) return undefined;
  const expired = {
    ...s,
    endsAtMs: Math.min(s.endsAtMs, nowMs),
    startsAtMs: Math.min(s.startsAtMs, nowMs),
    updatedAtMs: nowMs,
  };
  await repo.putSilence(ctx.state, expired);
  return expired;
}
