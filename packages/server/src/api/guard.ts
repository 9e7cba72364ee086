import { appError } from '@reskpoints/core';
import type { FastifyRequest } from 'fastify';
import { basicCredential, bearerToken, type Principal } from './auth.js';
import { HttpAppError } from './errors.js';
import type { ApiDeps } from './server.js';

/** What a route needs from its caller: the admin token, any valid credential, a project key, or nothing. */
export type AuthNeed = 'admin' | 'any' | 'project' | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Default: `any` for routes under /api/ and /v1/, `none` elsewhere. */
    auth?: AuthNeed;
  }
}

/** Principals of requests authenticated before their parameters were looked at. */
const authenticated = new WeakMap<FastifyRequest, Principal>();

/** The credential check a route needs, from its `config.auth` or its path. */
export function routeAuthNeed(req: FastifyRequest): AuthNeed {
  const configured = (req.routeOptions.config as { auth?: AuthNeed } | undefined)?.auth;
  if (configured) return configured;
  const url = req.routeOptions.url;
  if (url === undefined) return 'none';
  return url.startsWith('/api/') || url.startsWith('/v1/') ? 'any' : 'none';
}

/**
 * Authenticates a request as soon as it is routed, before its body is parsed and its
 * parameters validated, so a caller without credentials learns that first (401), not that a
 * parameter is wrong (400).
 */
export async function authenticateEarly(req: FastifyRequest, deps: Pick<ApiDeps, 'auth'>): Promise<void> {
  const need = routeAuthNeed(req);
  if (need !== 'none') await requirePrincipal(req, deps, need);
}

function check(principal: Principal, need: Exclude<AuthNeed, 'none'>): Principal {
  if (need === 'admin' && principal.kind !== 'admin')
    throw new HttpAppError(appError('RP_FORBIDDEN', 'this endpoint needs the admin token'));
  if (need === 'project' && principal.kind !== 'project')
    throw new HttpAppError(
      appError('RP_FORBIDDEN', 'ingest needs a project key, which decides the project; the admin token cannot ingest'),
    );
  return principal;
}

/** Authenticates the request (once; later calls reuse the answer) or throws a 401/403 the error handler turns into JSON. */
export async function requirePrincipal(
  req: FastifyRequest,
  deps: Pick<ApiDeps, 'auth'>,
  need: Exclude<AuthNeed, 'none'>,
): Promise<Principal> {
  const known = authenticated.get(req);
  if (known) return check(known, need);
  const query = req.query as Record<string, unknown> | undefined;
  // Basic credentials are a Langfuse key pair (public key : secret key), or any user name with a
  // project key as the password (how Loki clients and Grafana Alloy send credentials).
  const basic = basicCredential(req.headers.authorization);
  const token =
    bearerToken(req.headers.authorization) ?? basic ?? (typeof query?.token === 'string' ? query.token : null);
  if (!token)
    throw new HttpAppError(
      appError(
        'RP_UNAUTHORIZED',
        'missing credentials: send Authorization: Bearer <key> (or Basic with a Langfuse public:secret key pair, or with the key as password)',
      ),
    );
  let principal = await deps.auth.authenticate(token);
  if (!principal && basic) principal = await deps.auth.authenticate(basic.slice(basic.indexOf(':') + 1));
  if (!principal) throw new HttpAppError(appError('RP_UNAUTHORIZED', 'the key is not valid (unknown or revoked)'));
  authenticated.set(req, principal);
  return check(principal, need);
}
