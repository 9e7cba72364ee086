/**
 * Alert rules over HTTP (admin keys): list with state, read one, create or replace one,
 * delete one, and apply a list at once. API rules live in the state database beside the
 * config and file rules; config and file rules own their names (see rules-source.ts).
 */
import { appError, type FieldIssue, validationError } from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteHelpers } from '../platform/module.js';
import type { AlertingRouteDeps } from './routes.js';
import type { RuleAlertState } from './rule-state.js';
import { checkRule, ruleKind } from './rules.js';
import type { SourcedRule } from './rules-source.js';

const nameParams = z.object({ name: z.string().min(1).max(128) });

const ruleBody = z
  .record(z.string(), z.unknown())
  .describe(
    'A rule as in the rules file: metric, window, filter, groupBy, one of threshold/change/absent/signal, interval, for, keepFiringFor, labels, annotations (name from the path)',
  );

const applyBody = z
  .object({
    rules: z.array(z.unknown()).max(20_000).describe('Rules as in the rules file; each is created or replaced'),
    dryRun: z.boolean().default(false).describe('Validate and report what would change, without writing'),
  })
  .strict();

function specIssues(spec: unknown, prefix: string): FieldIssue[] {
  const r = checkRule(spec);
  if (r.ok) return [];
  return r.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join('.'),
    message: i.message,
  }));
}

function ruleView(s: SourcedRule, states: ReadonlyMap<string, RuleAlertState[]>) {
  const list = states.get(s.rule.name) ?? [];
  return {
    ...s.rule,
    kind: ruleKind(s.rule),
    origin: s.origin,
    updatedAtMs: s.updatedAtMs ?? null,
    state: list.some((x) => x.status === 'firing') ? 'firing' : list.length ? 'pending' : 'inactive',
    series: list.map((x) => ({
      labels: x.labels,
      annotations: x.annotations,
      status: x.status,
      value: x.value,
      activeAtMs: x.activeAtMs,
      firedAtMs: x.firedAtMs ?? null,
    })),
  };
}

export function registerRuleRoutes(api: FastifyInstance, helpers: RouteHelpers, deps: AlertingRouteDeps): void {
  const { ctx, repo, rules } = deps;

  const ownerProblem = (name: string): string | null => {
    const owner = rules.fileRuleOrigin(name);
    if (!owner) return null;
    return owner.origin === 'file'
      ? `rule "${name}" is defined in the rules file ${owner.where}; edit it there`
      : `rule "${name}" is defined in the configuration (alerting.rules); edit it there`;
  };

  api.get(
    '/api/v1/alerts/rules',
    {
      schema: {
        tags: ['alerting'],
        summary:
          'Alert rules (config, rules file and API) with where each comes from, their state and pending and firing series, and problems',
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      rules.refresh();
      await rules.refreshApi();
      const states = await repo.loadRuleStates(ctx.state);
      return { problems: rules.problems(), rules: rules.sourced().map((s) => ruleView(s, states)) };
    },
  );

  api.get(
    '/api/v1/alerts/rules/:name',
    { schema: { tags: ['alerting'], summary: 'One alert rule with its state', params: nameParams } },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const { name } = req.params as { name: string };
      rules.refresh();
      await rules.refreshApi();
      const s = rules.sourced().find((x) => x.rule.name === name);
      if (!s) return helpers.fail(appError('RP_NOT_FOUND', `no rule "${name}"`));
      return { rule: ruleView(s, await repo.loadRuleStates(ctx.state)) };
    },
  );

  api.put(
    '/api/v1/alerts/rules/:name',
    {
      schema: {
        tags: ['alerting'],
        summary: 'Creates (201) or replaces (200) an API-managed alert rule; every problem is reported at once',
        params: nameParams,
        body: ruleBody,
      },
    },
    async (req, reply) => {
      await helpers.authenticate(req, 'admin');
      const { name } = req.params as { name: string };
      const body = req.body as Record<string, unknown>;
      const issues: FieldIssue[] = [];
      if (body['name'] !== undefined && body['name'] !== name)
        issues.push({ path: 'name', message: `"${String(body['name'])}" differs from the name in the path "${name}"` });
      const spec = { ...body, name };
      issues.push(...specIssues(spec, ''));
      if (issues.length) return helpers.fail(validationError(issues, 'invalid rule'));
      rules.refresh();
      const owned = ownerProblem(name);
      if (owned) return helpers.fail(appError('RP_CONFLICT', owned));
      const existed = await repo.writeApiRule(ctx.state, name, JSON.stringify(spec), ctx.clock.nowMs());
      await rules.refreshApi(true);
      deps.wake();
      const s = rules.sourced().find((x) => x.rule.name === name);
      reply.code(existed ? 200 : 201);
      return { rule: s ? ruleView(s, await repo.loadRuleStates(ctx.state)) : null };
    },
  );

  api.delete(
    '/api/v1/alerts/rules/:name',
    {
      schema: {
        tags: ['alerting'],
        summary: 'Deletes an API-managed alert rule; its alerts resolve at the next evaluation',
        params: nameParams,
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const { name } = req.params as { name: string };
      rules.refresh();
      const stored = (await repo.listApiRules(ctx.state)).some((r) => r.name === name);
      if (!stored) {
        const owned = ownerProblem(name);
        return helpers.fail(
          owned ? appError('RP_CONFLICT', owned) : appError('RP_NOT_FOUND', `no API-managed rule "${name}"`),
        );
      }
      await repo.writeApiRule(ctx.state, name, null, ctx.clock.nowMs());
      await rules.refreshApi(true);
      deps.wake();
      return { deleted: name };
    },
  );

  api.post(
    '/api/v1/alerts/rules/apply',
    {
      schema: {
        tags: ['alerting'],
        summary:
          'Creates or replaces a list of API-managed rules in one transaction (all or none); every problem of every rule is reported at once',
        body: applyBody,
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const { rules: specs, dryRun } = req.body as z.infer<typeof applyBody>;
      rules.refresh();
      const issues: FieldIssue[] = [];
      const seen = new Set<string>();
      const writes: { name: string; body: string }[] = [];
      specs.forEach((spec, i) => {
        const prefix = `rules.${i}`;
        const name = (spec as { name?: unknown } | null)?.name;
        const at = typeof name === 'string' ? `${prefix} (${name})` : prefix;
        const found = specIssues(spec, prefix).map((x) => ({
          path: x.path,
          message: typeof name === 'string' ? `${x.message} [rule ${name}]` : x.message,
        }));
        issues.push(...found);
        if (typeof name !== 'string') return;
        if (seen.has(name)) issues.push({ path: `${prefix}.name`, message: `${at}: "${name}" is given twice` });
        seen.add(name);
        const owned = ownerProblem(name);
        if (owned) issues.push({ path: `${prefix}.name`, message: owned });
        if (!found.length) writes.push({ name, body: JSON.stringify(spec) });
      });
      if (issues.length) return helpers.fail(validationError(issues, 'invalid rules'));
      const stored = new Map((await repo.listApiRules(ctx.state)).map((r) => [r.name, r.body]));
      const created: string[] = [];
      const updated: string[] = [];
      const unchanged: string[] = [];
      const changed: { name: string; body: string }[] = [];
      for (const w of writes) {
        const before = stored.get(w.name);
        if (before === w.body) unchanged.push(w.name);
        else {
          (before === undefined ? created : updated).push(w.name);
          changed.push(w);
        }
      }
      if (!dryRun && changed.length) {
        await repo.putApiRules(ctx.state, changed, ctx.clock.nowMs());
        await rules.refreshApi(true);
        deps.wake();
      }
      return { dryRun, created, updated, unchanged };
    },
  );
}
