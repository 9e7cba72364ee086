import { appError, newId } from '@reskpoints/core';
import { z } from 'zod';
import { generateIngestKey, generateLangfuseKeyPair, langfuseCredential, sha256Hex } from '../auth.js';
import { HttpAppError } from '../errors.js';
import { requirePrincipal } from '../guard.js';
import type { Api, ApiDeps } from '../server.js';

const projectSchema = z.object({ id: z.string(), name: z.string(), createdAtMs: z.number() });
const issuedKeySchema = z.object({
  id: z.string(),
  key: z.string().describe('Shown once; store it now'),
  prefix: z.string(),
});
const keyInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAtMs: z.number(),
  revokedAtMs: z.number().nullable(),
});

export function registerProjectRoutes(app: Api | import('fastify').FastifyInstance, deps: ApiDeps): void {
  const api = app as Api;
  const issueKey = async (projectId: string, name: string) => {
    const key = generateIngestKey();
    const record = {
      id: newId('key'),
      projectId,
      name,
      keyHash: sha256Hex(key),
      prefix: key.slice(0, 12),
      createdAtMs: deps.clock.nowMs(),
      revokedAtMs: null,
    };
    await deps.state.createApiKey(record);
    return { id: record.id, key, prefix: record.prefix };
  };

  api.post(
    '/api/v1/projects',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['projects'],
        summary: 'Create a project and its first ingest key (admin)',
        body: z.object({
          name: z.string().min(1).max(200),
          id: z
            .string()
            .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, - and _, at most 63')
            .optional(),
        }),
        response: { 201: z.object({ project: projectSchema, apiKey: issuedKeySchema }) },
      },
    },
    async (req, reply) => {
      await requirePrincipal(req, deps, 'admin');
      const project = { id: req.body.id ?? newId('prj'), name: req.body.name, createdAtMs: deps.clock.nowMs() };
      if (!(await deps.state.createProject(project)))
        throw new HttpAppError(appError('RP_CONFLICT', `project ${project.id} exists already`));
      const apiKey = await issueKey(project.id, 'default');
      return reply.code(201).send({ project, apiKey });
    },
  );

  api.get(
    '/api/v1/projects',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['projects'],
        summary: 'List projects (admin)',
        response: { 200: z.object({ projects: z.array(projectSchema) }) },
      },
    },
    async (req) => {
      await requirePrincipal(req, deps, 'admin');
      return { projects: await deps.state.listProjects() };
    },
  );

  const projectParams = z.object({ id: z.string().min(1).max(64) });
  const requireProject = async (id: string) => {
    if (!(await deps.state.getProject(id))) throw new HttpAppError(appError('RP_NOT_FOUND', `no project ${id}`));
  };

  api.post(
    '/api/v1/projects/:id/keys',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['projects'],
        summary: 'Issue another ingest key for a project (admin)',
        params: projectParams,
        body: z.object({ name: z.string().min(1).max(200).default('key') }).prefault({}),
        response: { 201: z.object({ apiKey: issuedKeySchema }) },
      },
    },
    async (req, reply) => {
      await requirePrincipal(req, deps, 'admin');
      await requireProject(req.params.id);
      return reply.code(201).send({ apiKey: await issueKey(req.params.id, req.body.name) });
    },
  );

  api.post(
    '/api/v1/projects/:id/langfuse-keys',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['projects'],
        summary: 'Issue a Langfuse key pair for a project (admin)',
        description:
          'Langfuse SDKs send the pair as HTTP Basic credentials (public key as user name, secret key as password); it authenticates as the project everywhere a project key does. Only a hash of the pair is stored: the secret key is shown once. The pair is listed with the other keys, its prefix being the public key, and is revoked like them.',
        params: projectParams,
        body: z.object({ name: z.string().min(1).max(200).default('langfuse') }).prefault({}),
        response: {
          201: z.object({
            langfuseKey: z.object({
              id: z.string(),
              publicKey: z.string(),
              secretKey: z.string().describe('Shown once; store it now'),
            }),
          }),
        },
      },
    },
    async (req, reply) => {
      await requirePrincipal(req, deps, 'admin');
      await requireProject(req.params.id);
      const { publicKey, secretKey } = generateLangfuseKeyPair();
      const id = newId('key');
      await deps.state.createApiKey({
        id,
        projectId: req.params.id,
        name: req.body.name,
        keyHash: sha256Hex(langfuseCredential(publicKey, secretKey)),
        prefix: publicKey,
        createdAtMs: deps.clock.nowMs(),
        revokedAtMs: null,
      });
      return reply.code(201).send({ langfuseKey: { id, publicKey, secretKey } });
    },
  );

  api.get(
    '/api/v1/projects/:id/keys',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['projects'],
        summary: "List a project's keys (admin); keys themselves are never shown again",
        params: projectParams,
        response: { 200: z.object({ keys: z.array(keyInfoSchema) }) },
      },
    },
    async (req) => {
      await requirePrincipal(req, deps, 'admin');
      await requireProject(req.params.id);
      const keys = await deps.state.listApiKeys(req.params.id);
      return {
        keys: keys.map(({ id, name, prefix, createdAtMs, revokedAtMs }) => ({
          id,
          name,
          prefix,
          createdAtMs,
          revokedAtMs,
        })),
      };
    },
  );

  api.delete(
    '/api/v1/keys/:id',
    {
      config: { auth: 'admin' },
      schema: {
        tags: ['projects'],
        summary: 'Revoke an ingest key (admin)',
        params: projectParams,
        response: { 204: z.null() },
      },
    },
    async (req, reply) => {
      await requirePrincipal(req, deps, 'admin');
      if (!(await deps.state.revokeApiKey(req.params.id, deps.clock.nowMs())))
        throw new HttpAppError(appError('RP_NOT_FOUND', `no active key ${req.params.id}`));
      deps.auth.invalidate();
      return reply.code(204).send(null);
    },
  );
}
