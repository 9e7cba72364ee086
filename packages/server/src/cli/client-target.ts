import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliIo } from './io.js';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:4318';

export interface ClientTarget {
  url: string;
  token: string | undefined;
  /** Where the token came from, for hints: `--token`, an env name, a file path, or null. */
  tokenSource: string | null;
}

/**
 * Which server a client command talks to and with which token: `--url` > RESKPOINTS_URL >
 * http://127.0.0.1:4318; `--token` > RESKPOINTS_TOKEN / RESKPOINTS_ADMIN_TOKEN (admin first
 * for admin commands) > the token a local server saved in `<data dir>/admin-token`.
 */
export function resolveClientTarget(
  o: { url?: string; token?: string; dataDir?: string },
  io: Pick<CliIo, 'env' | 'cwd'>,
  prefer: 'any' | 'admin' = 'any',
): ClientTarget {
  const url = o.url || io.env.RESKPOINTS_URL || DEFAULT_SERVER_URL;
  if (o.token) return { url, token: o.token, tokenSource: '--token' };
  const envOrder =
    prefer === 'admin'
      ? ['RESKPOINTS_ADMIN_TOKEN', 'RESKPOINTS_TOKEN']
      : ['RESKPOINTS_TOKEN', 'RESKPOINTS_ADMIN_TOKEN'];
  for (const name of envOrder) {
    const v = io.env[name];
    if (v) return { url, token: v, tokenSource: name };
  }
  // A server started here without a configured token saved the one it generated.
  const file = resolve(io.cwd, o.dataDir || io.env.RESKPOINTS_DATA_DIR || './data', 'admin-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token) return { url, token, tokenSource: file };
  } catch {
    // No local token: the request goes without one and the server says what it needs.
  }
  return { url, token: undefined, tokenSource: null };
}
