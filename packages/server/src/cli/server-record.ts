/**
 * Where a running server can be found. `start` records its URL in `<data dir>/server.json` and
 * points to that data dir from `.reskpoints/server.json` in the folder it was started from, so
 * client commands run in the same folder find it without --url, --data-dir or a token.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface ServerRecord {
  /** Base URL, e.g. http://127.0.0.1:4318 */
  url: string;
  /** Absolute path of the server's data dir (the admin token file lives there). */
  dataDir: string;
  pid: number;
  startedAtMs: number;
  version: string;
}

export const RECORD_FILE = 'server.json';
/** The folder, relative to where `start` ran, that points to the running server. */
export const POINTER_DIR = '.reskpoints';

const recordPaths = (cwd: string, dataDir: string) => [
  join(resolve(cwd, dataDir), RECORD_FILE),
  join(resolve(cwd, POINTER_DIR), RECORD_FILE),
];

/**
 * Writes the record into the data dir and the pointer into `cwd`. Best effort: a read-only
 * working directory must not stop a server; returns the paths it could not write.
 */
export function writeServerRecord(cwd: string, record: ServerRecord): string[] {
  const failed: string[] = [];
  const text = `${JSON.stringify(record, null, 2)}\n`;
  for (const path of recordPaths(cwd, record.dataDir)) {
    try {
      mkdirSync(resolve(path, '..'), { recursive: true });
      writeFileSync(path, text);
    } catch {
      failed.push(path);
    }
  }
  return failed;
}

/** Removes the record and the pointer, unless another server has replaced them since. */
export function removeServerRecord(cwd: string, record: ServerRecord): void {
  for (const path of recordPaths(cwd, record.dataDir)) {
    const current = readRecord(path);
    if (current && current.pid === record.pid && current.url === record.url) rmSync(path, { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readRecord(path: string): ServerRecord | null {
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as Partial<ServerRecord>;
    if (typeof r.url !== 'string' || typeof r.dataDir !== 'string' || typeof r.pid !== 'number') return null;
    return r as ServerRecord;
  } catch {
    return null;
  }
}

/** A record whose server process still runs (a killed server leaves its record behind). */
function liveRecord(path: string): (ServerRecord & { path: string }) | null {
  const r = readRecord(path);
  return r && processAlive(r.pid) ? { ...r, path } : null;
}

/**
 * The server a client command run in `cwd` should talk to: the one recorded in `dataDir` when a
 * data dir is given, else the one started from `cwd` (its pointer), else the one using `./data`.
 */
export function findServerRecord(cwd: string, dataDir: string | undefined): (ServerRecord & { path: string }) | null {
  if (dataDir) return liveRecord(join(resolve(cwd, dataDir), RECORD_FILE));
  return (
    liveRecord(join(resolve(cwd, POINTER_DIR), RECORD_FILE)) ?? liveRecord(join(resolve(cwd, 'data'), RECORD_FILE))
  );
}
