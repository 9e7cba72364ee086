import { appError } from '@reskpoints/core';
import type { FastifyRequest } from 'fastify';
import { basicCredential, bearerToken, type Principal } from './auth.js';
import { HttpAppError } from './errors.js';
import type { ApiDeps } from './server.js';

/** Authenticates the request or throws a 401/403 the error handler turns into JSON. */
export async function requirePrincipal(
  req: FastifyRequest,
  deps: Pick<ApiDeps, 'auth'>,
  need: 'admin' | 'any' | 'project',
): Promise<Principal> {
  const query = req.query as Record<string, unknown> | undefined;
  // Basic credentials are a Langfuse key pair (public key : secret key).
  const token =
    bearerToken(req.headers.authorization) ??
    basicCredential(req.headers.authorization) ??
    (typeof query?.token === 'string' ? query.token : null);
  if (!token)
    throw new HttpAppError(
      appError(
        'RP_UNAUTHORIZED',
        'missing credentials: send Authorization: Bearer <key> (or Basic with a Langfuse public:secret key pair)',
      ),
    );
  const principal = await deps.auth.authenticate(token);
  if (!principal) throw new HttpAppError(appError('RP_UNAUTHORIZED', 'the key is not valid (unknown or revoked)'));
  if (need === 'admin' && principal.kind !== 'admin')
    throw new HttpAppError(appError('RP_FORBIDDEN', 'this endpoint needs the admin token'));
  if (need === 'project' && principal.kind !== 'project')
    throw new HttpAppError(
      appError('RP_FORBIDDEN', 'ingest needs a project key, which decides the project; the admin token cannot ingest'),
    );
  return principal;
}
