import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CliIo } from './io.js';
import { findServerRecord } from './server-record.js';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:4318';

export interface ClientTarget {
  url: string;
  /** Where the URL came from, for hints: `--url`, RESKPOINTS_URL, a record file path, or `default`. */
  urlSource: string;
  token: string | undefined;
  /** Where the token came from, for hints: `--token`, an env name, a file path, or null. */
  tokenSource: string | null;
}

/**
 * Which server a client command talks to and with which token.
 *
 * URL: `--url` > RESKPOINTS_URL > the running server recorded in the data dir (see
 * server-record.ts) > http://127.0.0.1:4318.
 * Token: `--token` > RESKPOINTS_TOKEN / RESKPOINTS_ADMIN_TOKEN (admin first for admin
 * commands) > the admin token a local server saved in `<data dir>/admin-token`.
 * Data dir: `--data-dir` > RESKPOINTS_DATA_DIR > the one of the server started from this folder
 * > ./data.
 */
export function resolveClientTarget(
  o: { url?: string; token?: string; dataDir?: string },
  io: Pick<CliIo, 'env' | 'cwd'>,
  prefer: 'any' | 'admin' = 'any',
): ClientTarget {
  const explicitDataDir = o.dataDir || io.env.RESKPOINTS_DATA_DIR;
  const record = findServerRecord(io.cwd, explicitDataDir);
  const [url, urlSource] = o.url
    ? [o.url, '--url']
    : io.env.RESKPOINTS_URL
      ? [io.env.RESKPOINTS_URL, 'RESKPOINTS_URL']
      : record
        ? [record.url, record.path]
        : [DEFAULT_SERVER_URL, 'default'];
  const at = { url, urlSource };
  if (o.token) return { ...at, token: o.token, tokenSource: '--token' };
  const envOrder =
    prefer === 'admin'
      ? ['RESKPOINTS_ADMIN_TOKEN', 'RESKPOINTS_TOKEN']
      : ['RESKPOINTS_TOKEN', 'RESKPOINTS_ADMIN_TOKEN'];
  for (const name of envOrder) {
    const v = io.env[name];
    if (v) return { ...at, token: v, tokenSource: name };
  }
  // A server started without a configured token saved the one it generated.
  const file = resolve(io.cwd, explicitDataDir || record?.dataDir || './data', 'admin-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token) return { ...at, token, tokenSource: file };
  } catch {
    // No local token: the request goes without one and the server says what it needs.
  }
  return { ...at, token: undefined, tokenSource: null };
}
