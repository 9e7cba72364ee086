/**
 * Alertmanager compatibility, inbound: the parts of Alertmanager's API v2 that Prometheus and
 * `amtool` speak (`/api/v2/alerts`, `/api/v2/silences`, `/api/v2/silence/{id}`,
 * `/api/v2/status`, `/api/v2/receivers`; shapes from Alertmanager's `api/v2/openapi.yaml`) and a
 * receiver for Alertmanager's webhook (v4 payload) at `/api/v1/alerts/webhook/alertmanager`.
 *
 * Received alerts are stored in `alerting_inbound` by whichever node took the request; the
 * evaluator on the leader takes them at its next pass (woken at once when it runs here) and
 * feeds them to the same pipeline as rule alerts: grouping, inhibition, silences, routing.
 *
 * Authentication: the admin token, as `Authorization: Bearer <token>` (Prometheus
 * `authorization.credentials`, amtool `--http.config.file`) or as the password of HTTP basic
 * auth with any user name (Prometheus `basic_auth`, `amtool --alertmanager.url=http://u:TOKEN@host`).
 */
import { randomUUID } from 'node:crypto';
import { appError, type FieldIssue, validationError } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import { stringify as toYaml } from 'yaml';
import type { RouteHelpers } from '../platform/module.js';
import { VERSION } from '../version.js';
import type { PipelineConfig } from './dispatcher.js';
import { inhibitedBy } from './inhibition.js';
import { type Alert, fingerprint, isResolved } from './labels.js';
import { type Matcher, type MatchOp, matchesAll, parseMatchers, validateMatcher } from './matchers.js';
import type { AlertingRouteDeps } from './routes.js';
import { matchRoutes } from './routing.js';
import { type Silence, silencedBy, silenceState } from './silences.js';

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STARTED_AT = new Date().toISOString();

/** RFC 3339 to epoch ms; undefined for missing, empty or Go's zero time (year 1). */
function parseTime(v: unknown, path: string, issues: FieldIssue[]): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') {
    issues.push({ path, message: 'must be an RFC 3339 date-time string' });
    return undefined;
  }
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) {
    issues.push({ path, message: `"${v}" is not an RFC 3339 date-time` });
    return undefined;
  }
  return ms <= 0 ? undefined : ms;
}

function labelSet(v: unknown, path: string, issues: FieldIssue[], required: boolean): Record<string, string> {
  if (v === undefined || v === null) {
    if (required) issues.push({ path, message: 'at least one label pair is required' });
    return {};
  }
  if (typeof v !== 'object' || Array.isArray(v)) {
    issues.push({ path, message: 'must be an object of label name to string value' });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v as Record<string, unknown>)) {
    if (!LABEL_NAME.test(k)) issues.push({ path: `${path}.${k}`, message: `invalid label name "${k}"` });
    else if (typeof value !== 'string') issues.push({ path: `${path}.${k}`, message: 'must be a string' });
    else if (value !== '') out[k] = value; // as in Alertmanager, an empty value is no label
  }
  if (required && Object.keys(out).length === 0 && !issues.some((i) => i.path.startsWith(path)))
    issues.push({ path, message: 'at least one label pair is required' });
  return out;
}

/**
 * Alertmanager's `postableAlerts` as alerts for the pipeline, reporting every problem: a
 * missing `startsAt` is now, a missing `endsAt` is now + `resolveTimeoutMs` (refreshed by each
 * re-send, as Prometheus does), `endsAt` before `startsAt` is refused.
 */
export function parsePostableAlerts(
  body: unknown,
  nowMs: number,
  resolveTimeoutMs: number,
): { ok: true; alerts: Alert[] } | { ok: false; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  if (!Array.isArray(body)) return { ok: false, issues: [{ path: '(root)', message: 'must be an array of alerts' }] };
  const alerts: Alert[] = [];
  body.forEach((item, i) => {
    const at = `${i}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      issues.push({ path: at, message: 'must be an object with labels' });
      return;
    }
    const a = item as Record<string, unknown>;
    const before = issues.length;
    const labels = labelSet(a.labels, `${at}.labels`, issues, true);
    const annotations = labelSet(a.annotations, `${at}.annotations`, issues, false);
    const startsAt = parseTime(a.startsAt, `${at}.startsAt`, issues);
    const endsAt = parseTime(a.endsAt, `${at}.endsAt`, issues);
    if (a.generatorURL !== undefined && typeof a.generatorURL !== 'string')
      issues.push({ path: `${at}.generatorURL`, message: 'must be a string' });
    if (startsAt !== undefined && endsAt !== undefined && endsAt < startsAt)
      issues.push({ path: `${at}.endsAt`, message: 'start time must be before end time' });
    if (issues.length > before) return;
    const startsAtMs = startsAt ?? Math.min(nowMs, endsAt ?? nowMs);
    alerts.push({
      labels,
      annotations,
      startsAtMs,
      endsAtMs: endsAt ?? Math.max(nowMs, startsAtMs) + resolveTimeoutMs,
      updatedAtMs: nowMs,
      ...(typeof a.generatorURL === 'string' && a.generatorURL ? { generatorUrl: a.generatorURL } : {}),
    });
  });
  return issues.length ? { ok: false, issues } : { ok: true, alerts };
}

/**
 * Alerts of an Alertmanager webhook (v4) notification: resolved ones end at their `endsAt`,
 * firing ones stay firing for `firingTtlMs` unless re-sent or resolved.
 */
export function parseWebhookPayload(
  body: unknown,
  nowMs: number,
  firingTtlMs: number,
): { ok: true; alerts: Alert[] } | { ok: false; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const b = body as { version?: unknown; alerts?: unknown } | null;
  if (typeof b !== 'object' || b === null || Array.isArray(b))
    return { ok: false, issues: [{ path: '(root)', message: 'must be an Alertmanager webhook payload object' }] };
  if (b.version !== undefined && b.version !== '4')
    issues.push({ path: 'version', message: `version "${String(b.version)}" is not supported (expected "4")` });
  if (!Array.isArray(b.alerts)) {
    issues.push({ path: 'alerts', message: 'must be an array' });
    return { ok: false, issues };
  }
  const alerts: Alert[] = [];
  b.alerts.forEach((item, i) => {
    const at = `alerts.${i}`;
    const a = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const before = issues.length;
    if (a.status !== 'firing' && a.status !== 'resolved')
      issues.push({ path: `${at}.status`, message: 'must be "firing" or "resolved"' });
    const labels = labelSet(a.labels, `${at}.labels`, issues, true);
    const annotations = labelSet(a.annotations, `${at}.annotations`, issues, false);
    const startsAt = parseTime(a.startsAt, `${at}.startsAt`, issues);
    const endsAt = parseTime(a.endsAt, `${at}.endsAt`, issues);
    if (issues.length > before) return;
    const resolved = a.status === 'resolved';
    const startsAtMs = startsAt ?? nowMs;
    alerts.push({
      labels,
      annotations,
      startsAtMs,
      endsAtMs: resolved ? Math.min(endsAt ?? nowMs, nowMs) : nowMs + firingTtlMs,
      updatedAtMs: nowMs,
      ...(typeof a.generatorURL === 'string' && a.generatorURL ? { generatorUrl: a.generatorURL } : {}),
    });
  });
  return issues.length ? { ok: false, issues } : { ok: true, alerts };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A silence in Alertmanager's `gettableSilence` shape. */
export function gettableSilence(s: Silence, nowMs: number) {
  return {
    id: s.id,
    status: { state: silenceState(s, nowMs) },
    updatedAt: iso(s.updatedAtMs),
    matchers: s.matchers.map((m) => ({
      name: m.name,
      value: m.value,
      isRegex: m.op === '=~' || m.op === '!~',
      isEqual: m.op === '=' || m.op === '=~',
    })),
    startsAt: iso(s.startsAtMs),
    endsAt: iso(s.endsAtMs),
    createdBy: s.createdBy,
    comment: s.comment,
  };
}

/** Alertmanager's `postableSilence` as a silence, reporting every problem. */
export function parsePostableSilence(
  body: unknown,
  nowMs: number,
): { ok: true; id?: string; silence: Omit<Silence, 'id' | 'updatedAtMs'> } | { ok: false; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, issues: [{ path: '(root)', message: 'must be a silence object' }] };
  const b = body as Record<string, unknown>;
  const matchers: Matcher[] = [];
  if (!Array.isArray(b.matchers) || b.matchers.length === 0)
    issues.push({ path: 'matchers', message: 'at least one matcher is required' });
  else
    b.matchers.forEach((raw, i) => {
      const m = (raw ?? {}) as Record<string, unknown>;
      if (typeof m.name !== 'string' || typeof m.value !== 'string' || typeof m.isRegex !== 'boolean') {
        issues.push({ path: `matchers.${i}`, message: 'needs name and value (strings) and isRegex (boolean)' });
        return;
      }
      const isEqual = m.isEqual === undefined ? true : m.isEqual === true;
      const op: MatchOp = m.isRegex ? (isEqual ? '=~' : '!~') : isEqual ? '=' : '!=';
      const r = validateMatcher({ name: m.name, op, value: m.value });
      if (r.ok) matchers.push(r.value);
      else issues.push({ path: `matchers.${i}`, message: r.error });
    });
  if (matchers.length > 0 && matchers.every((m) => (m.op === '=~' ? new RegExp(`^(?:${m.value})$`).test('') : false)))
    issues.push({ path: 'matchers', message: 'at least one matcher must not match the empty string' });
  const startsAt = parseTime(b.startsAt, 'startsAt', issues);
  const endsAt = parseTime(b.endsAt, 'endsAt', issues);
  if (b.startsAt === undefined) issues.push({ path: 'startsAt', message: 'is required' });
  if (b.endsAt === undefined) issues.push({ path: 'endsAt', message: 'is required' });
  if (typeof b.createdBy !== 'string' || b.createdBy === '')
    issues.push({ path: 'createdBy', message: 'is required (who creates the silence)' });
  if (typeof b.comment !== 'string' || b.comment === '')
    issues.push({ path: 'comment', message: 'is required (why the silence exists)' });
  if (startsAt !== undefined && endsAt !== undefined && endsAt < startsAt)
    issues.push({ path: 'endsAt', message: 'must not be before startsAt' });
  if (endsAt !== undefined && endsAt <= nowMs) issues.push({ path: 'endsAt', message: 'must be in the future' });
  if (b.id !== undefined && (typeof b.id !== 'string' || b.id.length > 64))
    issues.push({ path: 'id', message: 'must be a silence id string' });
  if (issues.length) return { ok: false, issues };
  return {
    ok: true,
    ...(typeof b.id === 'string' && b.id ? { id: b.id } : {}),
    silence: {
      matchers,
      // A start in the past means now, as in Alertmanager.
      startsAtMs: Math.max(startsAt as number, nowMs),
      endsAtMs: endsAt as number,
      createdBy: b.createdBy as string,
      comment: b.comment as string,
    },
  };
}

const bool = (v: unknown, dflt: boolean) => (v === undefined ? dflt : v === true || v === 'true');

function listParam(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string' && x !== '');
}

export interface AlertmanagerApiDeps extends AlertingRouteDeps {
  pipeline: () => PipelineConfig;
}

export function registerAlertmanagerRoutes(
  api: FastifyInstance,
  helpers: RouteHelpers,
  deps: AlertmanagerApiDeps,
): void {
  const { ctx, repo } = deps;
  const now = () => ctx.clock.nowMs();
  const matchersOf = (texts: string[]) => {
    const r = parseMatchers(texts);
    if (!r.ok) return helpers.fail(validationError(r.error.map((message) => ({ path: 'filter', message }))));
    return r.value;
  };

  const receive = async (alerts: Alert[]) => {
    await repo.putInbound(ctx.state, alerts, now());
    deps.wake();
  };

  api.post(
    '/api/v2/alerts',
    {
      schema: {
        tags: ['alertmanager'],
        summary: 'Alertmanager API v2: receives alerts (Prometheus sends here); they join the pipeline',
      },
    },
    async (req, reply) => {
      await helpers.authenticate(req, 'admin');
      const r = parsePostableAlerts(req.body, now(), ctx.config().resolveTimeout);
      if (!r.ok) return helpers.fail(validationError(r.issues, 'invalid alerts'));
      await receive(r.alerts);
      reply.code(200);
      return '';
    },
  );

  api.post(
    '/api/v1/alerts/webhook/alertmanager',
    {
      schema: {
        tags: ['alerting'],
        summary: "Receives an Alertmanager webhook (v4) notification; its alerts join this server's pipeline",
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const r = parseWebhookPayload(req.body, now(), ctx.config().webhookFiringTtl);
      if (!r.ok) return helpers.fail(validationError(r.issues, 'invalid Alertmanager webhook payload'));
      await receive(r.alerts);
      return { received: r.alerts.length };
    },
  );

  api.get(
    '/api/v2/alerts',
    {
      schema: {
        tags: ['alertmanager'],
        summary: 'Alertmanager API v2: alerts, with filter, receiver, active, silenced, inhibited, unprocessed',
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const q = (req.query ?? {}) as Record<string, unknown>;
      const filter = matchersOf(listParam(q.filter));
      let receiverRe: RegExp | null = null;
      if (typeof q.receiver === 'string' && q.receiver !== '') {
        try {
          receiverRe = new RegExp(`^(?:${q.receiver})$`);
        } catch (e) {
          return helpers.fail(
            validationError([{ path: 'receiver', message: `invalid regex: ${(e as Error).message}` }]),
          );
        }
      }
      const show = {
        active: bool(q.active, true),
        silenced: bool(q.silenced, true),
        inhibited: bool(q.inhibited, true),
        unprocessed: bool(q.unprocessed, true),
      };
      const nowMs = now();
      const pipeline = deps.pipeline();
      const silences = await repo.loadSilences(ctx.state, nowMs);
      const held = (await repo.loadAlerts(ctx.state)).filter((a) => !isResolved(a, nowMs));
      const heldFps = new Set(held.map((a) => fingerprint(a.labels)));
      const waiting = (await repo.peekInbound(ctx.state, 5_000))
        .map((i) => i.alert)
        .filter((a) => !isResolved(a, nowMs) && !heldFps.has(fingerprint(a.labels)));
      const view = (a: Alert, unprocessed: boolean) => {
        const silencedIds = silencedBy(silences, a.labels, nowMs);
        const inhibitors = inhibitedBy(pipeline.inhibitRules, a.labels, held, nowMs);
        const state = unprocessed ? 'unprocessed' : silencedIds.length || inhibitors.length ? 'suppressed' : 'active';
        return {
          labels: a.labels,
          annotations: a.annotations,
          startsAt: iso(a.startsAtMs),
          endsAt: iso(a.endsAtMs),
          updatedAt: iso(a.updatedAtMs),
          generatorURL: a.generatorUrl ?? '',
          fingerprint: fingerprint(a.labels),
          receivers: [...new Set(matchRoutes(pipeline.route, a.labels).map((r) => r.receiver))].map((name) => ({
            name,
          })),
          status: { state, silencedBy: silencedIds, inhibitedBy: inhibitors, mutedBy: [] as string[] },
        };
      };
      return [...held.map((a) => view(a, false)), ...waiting.map((a) => view(a, true))]
        .filter((v) => {
          if (!matchesAll(filter, v.labels)) return false;
          if (receiverRe && !v.receivers.some((r) => receiverRe.test(r.name))) return false;
          const s = v.status;
          if (s.state === 'unprocessed') return show.unprocessed;
          if (s.state === 'active') return show.active;
          if (s.silencedBy.length && !show.silenced) return false;
          if (s.inhibitedBy.length && !show.inhibited) return false;
          return true;
        })
        .sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
    },
  );

  api.get(
    '/api/v2/silences',
    { schema: { tags: ['alertmanager'], summary: 'Alertmanager API v2: silences, with filter' } },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const q = (req.query ?? {}) as Record<string, unknown>;
      const filter = matchersOf(listParam(q.filter));
      const show = { active: bool(q.active, true), expired: bool(q.expired, true), pending: bool(q.pending, true) };
      const nowMs = now();
      const all = await repo.loadSilences(ctx.state, 0);
      return all
        .filter((s) => {
          // As in Alertmanager: the filter matches the silence's own matchers read as labels.
          const labels: Record<string, string> = {};
          for (const m of s.matchers) labels[m.name] = m.value;
          return matchesAll(filter, labels) && show[silenceState(s, nowMs)];
        })
        .sort((a, b) => silenceOrder(a, nowMs) - silenceOrder(b, nowMs) || a.endsAtMs - b.endsAtMs)
        .map((s) => gettableSilence(s, nowMs));
    },
  );

  api.post(
    '/api/v2/silences',
    { schema: { tags: ['alertmanager'], summary: 'Alertmanager API v2: creates or updates a silence' } },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const nowMs = now();
      const r = parsePostableSilence(req.body, nowMs);
      if (!r.ok) return helpers.fail(validationError(r.issues, 'invalid silence'));
      let id: string = randomUUID();
      if (r.id) {
        const existing = await repo.getSilence(ctx.state, r.id);
        if (!existing) return helpers.fail(appError('RP_NOT_FOUND', `no silence "${r.id}"`));
        // An expired silence is not revived: the update becomes a new silence.
        if (silenceState(existing, nowMs) !== 'expired') id = existing.id;
      }
      await repo.putSilence(ctx.state, { ...r.silence, id, updatedAtMs: nowMs });
      deps.wake();
      return { silenceID: id };
    },
  );

  api.get(
    '/api/v2/silence/:silenceID',
    { schema: { tags: ['alertmanager'], summary: 'Alertmanager API v2: one silence' } },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const { silenceID } = req.params as { silenceID: string };
      const s = await repo.getSilence(ctx.state, silenceID.slice(0, 64));
      if (!s) return helpers.fail(appError('RP_NOT_FOUND', `no silence "${silenceID}"`));
      return gettableSilence(s, now());
    },
  );

  api.delete(
    '/api/v2/silence/:silenceID',
    { schema: { tags: ['alertmanager'], summary: 'Alertmanager API v2: expires a silence now' } },
    async (req, reply) => {
      await helpers.authenticate(req, 'admin');
      const { silenceID } = req.params as { silenceID: string };
      const s = await repo.getSilence(ctx.state, silenceID.slice(0, 64));
      if (!s) return helpers.fail(appError('RP_NOT_FOUND', `no silence "${silenceID}"`));
      const nowMs = now();
      if (silenceState(s, nowMs) !== 'expired')
        await repo.putSilence(ctx.state, {
          ...s,
          endsAtMs: Math.min(s.endsAtMs, nowMs),
          startsAtMs: Math.min(s.startsAtMs, nowMs),
          updatedAtMs: nowMs,
        });
      deps.wake();
      reply.code(200);
      return '';
    },
  );

  api.get(
    '/api/v2/status',
    { schema: { tags: ['alertmanager'], summary: 'Alertmanager API v2: status (version, routing config, uptime)' } },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const c = ctx.config();
      return {
        cluster: { status: 'disabled', peers: [] },
        versionInfo: {
          version: VERSION,
          revision: 'reskpoints',
          branch: 'reskpoints',
          buildUser: 'reskpoints',
          buildDate: 'unknown',
          goVersion: `node ${process.version}`,
        },
        config: {
          // Without receiver settings: they may hold secrets.
          original: toYaml({
            route: c.route,
            receivers: c.receivers.map((r) => ({ name: r.name })),
            inhibit_rules: c.inhibitRules,
          }),
        },
        uptime: STARTED_AT,
      };
    },
  );

  api.get(
    '/api/v2/receivers',
    { schema: { tags: ['alertmanager'], summary: 'Alertmanager API v2: receiver names' } },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const names = new Set(ctx.config().receivers.map((r) => r.name));
      if (deps.pipeline().route.receiver === 'default') names.add('default');
      return [...names].map((name) => ({ name }));
    },
  );
}

function silenceOrder(s: Silence, nowMs: number): number {
  const state = silenceState(s, nowMs);
  return state === 'active' ? 0 : state === 'pending' ? 1 : 2;
}
