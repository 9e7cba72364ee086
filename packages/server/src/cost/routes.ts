/**
 * `/api/v1/prices`: the price book over HTTP. Reads need any valid credential; writes need the
 * admin token. Entry ids contain `/` (`openai/gpt-4o`): encode it in paths (`openai%2Fgpt-4o`).
 */
import {
  type AppError,
  modelAliasInputSchema,
  modelMatchSchema,
  priceEntryInputSchema,
  priceRatesSchema,
  type Result,
} from '@reskpoints/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteHelpers } from '../platform/module.js';
import { parseInstant } from './entries.js';
import type { PriceService } from './price-service.js';

const ratesOut = priceRatesSchema.required();
const tiersOut = z.array(z.object({ aboveInputTokens: z.number(), rates: ratesOut }));

export const priceEntrySchema = z
  .object({
    id: z.string().describe('Stable id across versions'),
    version: z.string().describe('Version id (user entries 1, 2, …; catalogue: release and effective date)'),
    provider: z.string(),
    match: z.array(modelMatchSchema),
    effectiveFromMs: z.number().describe('Applies to calls that started at or after this instant (epoch ms)'),
    projectId: z.string().nullable(),
    origin: z.enum(['catalogue', 'user', 'import']),
    rates: ratesOut,
    contextTiers: tiersOut,
    serviceTiers: z.record(z.string(), z.object({ rates: ratesOut, contextTiers: tiersOut })),
    utcWindow: z.object({ startSecond: z.number(), endSecond: z.number() }).optional(),
    description: z.string().optional(),
  })
  .describe('One version of a price entry');

const listItemSchema = z.object({
  entry: priceEntrySchema,
  readOnly: z.boolean().describe('Catalogue entries are read-only; override them with a user entry'),
  versions: z.number(),
});

const historyItemSchema = z.object({
  entry: priceEntrySchema,
  deleted: z.boolean(),
  createdAtMs: z.number().nullable(),
  createdBy: z.string().nullable(),
});

const aliasSchema = z.object({ projectId: z.string().nullable(), name: z.string(), model: z.string() });
const idParams = z.object({ id: z.string().min(1).max(200) });
const projectParam = z.string().min(1).max(128).optional().describe('A project id; omit for global');
const timeParam = z.string().min(1).max(40).optional();

function instant(v: string | undefined, nowMs: number, field: string): Result<number> {
  const ms = parseInstant(v == null ? undefined : /^\d+$/.test(v) ? Number(v) : v, nowMs);
  if (!Number.isFinite(ms))
    return {
      ok: false,
      error: { code: 'RP_VALIDATION', message: `${field}: not a date, RFC 3339 date-time or epoch milliseconds` },
    };
  return { ok: true, value: ms };
}

export function registerPriceRoutes(
  app: FastifyInstance,
  helpers: RouteHelpers,
  service: PriceService,
  nowMs: () => number,
): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const unwrap = <T>(r: Result<T, AppError>): T => (r.ok ? r.value : helpers.fail(r.error));
  const who = (p: { kind: string; projectId?: string | null }) =>
    p.kind === 'admin' ? 'admin' : (p.projectId ?? null);
  const tags = ['prices'];

  api.get(
    '/api/v1/prices',
    {
      schema: {
        tags,
        summary: 'List price entries: user entries and the read-only catalogue, each in its version in force now',
        querystring: z.object({
          provider: z.string().max(128).optional(),
          model: z.string().max(256).optional().describe('Entries whose match fits this model name'),
          project: z
            .string()
            .max(128)
            .optional()
            .describe('That project\'s overrides; "global" for entries of all projects'),
          origin: z.enum(['catalogue', 'user', 'import']).optional(),
        }),
        response: { 200: z.object({ entries: z.array(listItemSchema) }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'any');
      const q = req.query;
      const projectId = q.project == null ? undefined : q.project === 'global' ? null : q.project;
      return {
        entries: service.list({
          ...(q.provider != null ? { provider: q.provider } : {}),
          ...(q.model != null ? { model: q.model } : {}),
          ...(projectId !== undefined ? { projectId } : {}),
          ...(q.origin != null ? { origin: q.origin } : {}),
        }),
      };
    },
  );

  api.get(
    '/api/v1/prices/resolve',
    {
      schema: {
        tags,
        summary: 'Which price entry prices a call, and the names that were tried',
        querystring: z.object({
          provider: z.string().min(1).max(128),
          model: z.string().min(1).max(256).describe('Response (or only) model name'),
          requestModel: z.string().min(1).max(256).optional(),
          at: timeParam.describe('Call start (RFC 3339, date or epoch ms); default now'),
          project: z.string().min(1).max(128).default('default'),
        }),
        response: {
          200: z.object({
            entry: priceEntrySchema.nullable().describe('Null: unpriced'),
            matchedModel: z.string().nullable(),
            candidates: z.array(z.string()).describe('Names tried, most specific first'),
            catalogueProvider: z.string().nullable(),
          }),
        },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'any');
      const q = req.query;
      const atMs = unwrap(instant(q.at, nowMs(), 'at'));
      const r = service.resolve({
        provider: q.provider,
        models: [q.model, ...(q.requestModel != null ? [q.requestModel] : [])],
        atMs,
        projectId: q.project,
      });
      return {
        entry: r.match?.entry ?? null,
        matchedModel: r.match?.matchedModel ?? null,
        candidates: r.candidates,
        catalogueProvider: r.provider,
      };
    },
  );

  api.get(
    '/api/v1/prices/aliases',
    {
      schema: {
        tags,
        summary: 'Model aliases (Azure deployments and other names) → the model they serve',
        querystring: z.object({ project: projectParam }),
        response: { 200: z.object({ aliases: z.array(aliasSchema) }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'any');
      return { aliases: service.aliases(req.query.project) };
    },
  );

  api.put(
    '/api/v1/prices/aliases/:name',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Map a deployment or alias name to a model (admin)',
        params: z.object({ name: z.string().min(1).max(256) }),
        body: modelAliasInputSchema,
        response: { 200: z.object({ alias: aliasSchema }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const alias = {
        projectId: req.body.projectId ?? null,
        name: req.params.name.toLowerCase(),
        model: req.body.model,
      };
      await service.setAlias(alias);
      return { alias };
    },
  );

  api.delete(
    '/api/v1/prices/aliases/:name',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Remove a model alias (admin)',
        params: z.object({ name: z.string().min(1).max(256) }),
        querystring: z.object({ project: projectParam }),
        response: { 200: z.object({ deleted: z.string() }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'admin');
      const r = unwrap(await service.deleteAlias(req.params.name, req.query.project ?? null));
      return { deleted: r.name };
    },
  );

  api.post(
    '/api/v1/prices/import',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Import a LiteLLM model_prices_and_context_window.json-format file (admin)',
        querystring: z.object({
          project: projectParam.describe('Import as overrides of this project'),
          effectiveFrom: timeParam.describe('When the imported prices take effect; default now'),
        }),
        body: z.record(z.string(), z.unknown()).describe('Model name → LiteLLM price object (USD per token)'),
        response: {
          200: z.object({
            created: z.number(),
            updated: z.number(),
            skipped: z.array(z.object({ key: z.string(), reason: z.string() })),
          }),
        },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'admin');
      const effectiveFrom = unwrap(instant(req.query.effectiveFrom, nowMs(), 'effectiveFrom'));
      return unwrap(
        await service.importLiteLlm(req.body, { projectId: req.query.project ?? null, effectiveFrom }, who(principal)),
      );
    },
  );

  api.post(
    '/api/v1/prices',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Create a price entry, global or for one project (admin)',
        body: priceEntryInputSchema,
        response: { 201: listItemSchema },
      },
    },
    async (req, reply) => {
      const principal = await helpers.authenticate(req, 'admin');
      const created = unwrap(await service.create(req.body, who(principal)));
      return reply.code(201).send(created);
    },
  );

  api.get(
    '/api/v1/prices/:id',
    {
      schema: {
        tags,
        summary: 'One price entry in its version in force now',
        params: idParams,
        response: { 200: listItemSchema },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'any');
      return unwrap(service.get(req.params.id));
    },
  );

  api.put(
    '/api/v1/prices/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Write a new version of a user price entry (admin); earlier versions keep pricing earlier calls',
        params: idParams,
        body: priceEntryInputSchema,
        response: { 200: listItemSchema },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'admin');
      return unwrap(await service.update(req.params.id, req.body, who(principal)));
    },
  );

  api.delete(
    '/api/v1/prices/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags,
        summary: 'Delete a user price entry (admin); its history stays readable',
        params: idParams,
        response: { 200: z.object({ deleted: z.string() }) },
      },
    },
    async (req) => {
      const principal = await helpers.authenticate(req, 'admin');
      const r = unwrap(await service.delete(req.params.id, who(principal)));
      return { deleted: r.id };
    },
  );

  api.get(
    '/api/v1/prices/:id/history',
    {
      schema: {
        tags,
        summary: 'Every version of a price entry, oldest first (deletions included)',
        params: idParams,
        response: { 200: z.object({ versions: z.array(historyItemSchema) }) },
      },
    },
    async (req) => {
      await helpers.authenticate(req, 'any');
      return { versions: unwrap(await service.history(req.params.id)) };
    },
  );
}
