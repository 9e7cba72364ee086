import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, systemClock } from '@reskpoints/core';
import { ApiClient, type ApiFailure, describeApiFailure } from '../cli/api-client.js';
import { buildOtlpTraceRequest } from './otlp.js';
import { createRng, type Rng } from './rng.js';
import {
  buildDemoCalls,
  buildSpikeCalls,
  buildTrafficForRange,
  DEMO_PROJECT_NAMES,
  type DemoCall,
  type DemoProjectName,
  SPIKE_CALLS_PER_SECOND,
  spikeOverlapMs,
  toNativeEvent,
} from './traffic.js';

export { buildOtlpTraceRequest } from './otlp.js';
export { createRng, type Rng } from './rng.js';
export {
  buildDemoCalls,
  buildSpikeCalls,
  buildTrafficForRange,
  DEMO_PROJECT_NAMES,
  type DemoCall,
  type DemoProjectName,
  diurnalFactor,
  isSpikeAt,
  toNativeEvent,
} from './traffic.js';

/**
 * Demo traffic through the real ingest path: creates (or reuses) three projects, backfills
 * the last hours so charts have history, then streams a few calls per second, over both the
 * native batch API and OTLP/HTTP JSON.
 */

export interface DemoOptions {
  /** The running server, e.g. http://127.0.0.1:4318 */
  baseUrl: string;
  adminToken: string;
  /** Where `demo-keys.json` remembers the demo projects' ingest keys between runs. */
  dataDir: string;
  /** Seed for reproducible traffic. Default: derived from the clock. */
  seed?: number;
  clock?: Clock;
  /** Average application requests per second while streaming, at the daily peak. Default 2; 0 disables streaming. */
  callsPerSecond?: number;
  /** Hours of history to backfill at start. Default 6; 0 disables the backfill. */
  backfillHours?: number;
  /** Backfill density at the daily peak (requests per hour). Default 1200. */
  backfillCallsPerHour?: number;
  /** Streaming tick. Default 1000 ms. */
  tickMs?: number;
  /** Share of ingest requests sent twice, as a client that lost the acknowledgement would. Default 0.03. */
  resendProbability?: number;
  /** Most calls in one ingest request. Default 500. */
  maxBatchCalls?: number;
  log?: (message: string) => void;
  fetch?: typeof fetch;
  /** Aborting stops the demo, also during setup and backfill. */
  signal?: AbortSignal;
}

export interface DemoStats {
  /** Demo project name → project id. */
  projects: Record<string, string>;
  /** Project keys created by this run (0 when all were reused). */
  keysCreated: number;
  backfilledCalls: number;
  streamedCalls: number;
  nativeCalls: number;
  otlpSpans: number;
  requests: number;
  /** Calls the native API reported as newly accepted / as duplicates. */
  acceptedCalls: number;
  duplicateCalls: number;
  /** Requests deliberately sent a second time with the same event ids. */
  resentRequests: number;
  /** Requests retried after 429/503 with Retry-After. */
  overloadRetries: number;
  failedRequests: number;
  lastError: string | null;
}

export interface DemoHandle {
  stop(): Promise<void>;
  stats(): DemoStats;
}

interface StoredProject {
  projectId: string;
  apiKey: string;
}

interface KeysFile {
  version: 1;
  projects: Partial<Record<DemoProjectName, StoredProject>>;
  /** Up to when the previous run sent traffic, so a restart backfills only the gap. */
  lastCallMs?: number;
}

export const DEMO_KEYS_FILE = 'demo-keys.json';
const PROGRESS_EVERY_MS = 60_000;

async function readKeysFile(path: string): Promise<KeysFile> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<KeysFile>;
    if (parsed && typeof parsed === 'object' && parsed.projects && typeof parsed.projects === 'object') {
      return {
        version: 1,
        projects: parsed.projects,
        ...(typeof parsed.lastCallMs === 'number' ? { lastCallMs: parsed.lastCallMs } : {}),
      };
    }
  } catch {
    // Missing or unreadable: start afresh; new keys are created and the file rewritten.
  }
  return { version: 1, projects: {} };
}

async function writeKeysFile(path: string, data: KeysFile): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

interface CreatedProject {
  project: { id: string; name: string };
  apiKey: { key: string };
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });

export async function startDemo(options: DemoOptions): Promise<DemoHandle> {
  const clock = options.clock ?? systemClock;
  const rng: Rng = createRng(options.seed ?? clock.nowMs() % 2 ** 32);
  const log = options.log ?? (() => {});
  const callsPerSecond = options.callsPerSecond ?? 2;
  const backfillHours = options.backfillHours ?? 6;
  const backfillCallsPerHour = options.backfillCallsPerHour ?? 1200;
  const tickMs = options.tickMs ?? 1000;
  const resendProbability = options.resendProbability ?? 0.03;
  const maxBatchCalls = options.maxBatchCalls ?? 500;
  const admin = new ApiClient({ baseUrl: options.baseUrl, token: options.adminToken, fetch: options.fetch });
  const keysPath = join(options.dataDir, DEMO_KEYS_FILE);
  const abort = new AbortController();
  if (options.signal?.aborted) abort.abort();
  options.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  const stats: DemoStats = {
    projects: {},
    keysCreated: 0,
    backfilledCalls: 0,
    streamedCalls: 0,
    nativeCalls: 0,
    otlpSpans: 0,
    requests: 0,
    acceptedCalls: 0,
    duplicateCalls: 0,
    resentRequests: 0,
    overloadRetries: 0,
    failedRequests: 0,
    lastError: null,
  };
  let lastLogged = '';
  const fail = (what: string, f: ApiFailure): void => {
    stats.failedRequests++;
    stats.lastError = `${what}: ${describeApiFailure(f)}`;
    // One line per distinct problem, not one per request.
    if (stats.lastError !== lastLogged) log(`demo: ${stats.lastError}`);
    lastLogged = stats.lastError;
  };

  // --- projects and keys ---------------------------------------------------------------
  await mkdir(options.dataDir, { recursive: true });
  const keys = await readKeysFile(keysPath);
  const listed = await admin.request<{ projects: Array<{ id: string; name: string }> }>({
    method: 'GET',
    path: '/api/v1/projects',
  });
  const existing = listed.ok ? new Set(listed.value.projects.map((p) => p.id)) : null;
  if (!listed.ok && listed.error.kind === 'network') {
    throw new Error(`demo cannot start: ${describeApiFailure(listed.error)}`);
  }

  const createKey = async (projectId: string): Promise<string | null> => {
    const r = await admin.request<{ apiKey: { key: string } }>({
      method: 'POST',
      path: `/api/v1/projects/${encodeURIComponent(projectId)}/keys`,
      body: { name: 'demo' },
    });
    if (!r.ok) {
      fail(`creating a key for ${projectId}`, r.error);
      return null;
    }
    stats.keysCreated++;
    return r.value.apiKey.key;
  };

  const ensureProject = async (name: DemoProjectName): Promise<StoredProject | null> => {
    const stored = keys.projects[name];
    // Reuse remembered keys unless the server no longer knows the project (fresh data dir, other server).
    if (stored && (existing === null || existing.has(stored.projectId))) return stored;
    if (existing?.has(name)) {
      const key = await createKey(name);
      return key ? { projectId: name, apiKey: key } : null;
    }
    let created = await admin.request<CreatedProject>({
      method: 'POST',
      path: '/api/v1/projects',
      body: { name, id: name },
    });
    if (!created.ok && created.error.kind === 'http' && created.error.status === 409) {
      const key = await createKey(name);
      return key ? { projectId: name, apiKey: key } : null;
    }
    if (!created.ok && created.error.kind === 'http' && created.error.status === 400) {
      // The server chooses ids itself.
      created = await admin.request<CreatedProject>({ method: 'POST', path: '/api/v1/projects', body: { name } });
    }
    if (!created.ok) {
      fail(`creating project ${name}`, created.error);
      return null;
    }
    stats.keysCreated++;
    return { projectId: created.value.project.id, apiKey: created.value.apiKey.key };
  };

  for (const name of DEMO_PROJECT_NAMES) {
    const p = await ensureProject(name);
    if (!p) throw new Error(`demo cannot start: ${stats.lastError ?? `no key for ${name}`}`);
    keys.projects[name] = p;
    stats.projects[name] = p.projectId;
  }
  await writeKeysFile(keysPath, keys);

  // --- sending ---------------------------------------------------------------------------
  const post = async (project: DemoProjectName, path: string, body: unknown): Promise<void> => {
    for (let attempt = 1; attempt <= 6 && !abort.signal.aborted; attempt++) {
      const stored = keys.projects[project] as StoredProject;
      stats.requests++;
      const r = await admin.request<{ accepted?: number; duplicates?: number }>({
        method: 'POST',
        path,
        body,
        token: stored.apiKey,
      });
      if (r.ok) {
        stats.acceptedCalls += r.value?.accepted ?? 0;
        stats.duplicateCalls += r.value?.duplicates ?? 0;
        return;
      }
      const f = r.error;
      if (f.kind === 'http' && (f.status === 429 || f.status === 503)) {
        // Back off as told, then send the very same events again.
        stats.overloadRetries++;
        await sleep(Math.min(30, f.retryAfterSeconds ?? 1) * 1000, abort.signal);
        continue;
      }
      if (f.kind === 'http' && f.status === 401 && attempt === 1) {
        // The remembered key was revoked or belongs to an earlier database: get a new one.
        const key = await createKey(stored.projectId);
        if (key) {
          keys.projects[project] = { ...stored, apiKey: key };
          await writeKeysFile(keysPath, keys).catch(() => {});
          continue;
        }
      }
      fail(`POST ${path} (${project})`, f);
      return;
    }
  };

  const sendCalls = async (calls: DemoCall[]): Promise<void> => {
    const groups = new Map<string, DemoCall[]>();
    for (const c of calls) {
      const k = `${c.project}|${c.channel}`;
      const list = groups.get(k);
      if (list) list.push(c);
      else groups.set(k, [c]);
    }
    for (const [k, list] of groups) {
      const [project, channel] = k.split('|') as [DemoProjectName, 'native' | 'otlp'];
      for (let i = 0; i < list.length && !abort.signal.aborted; i += maxBatchCalls) {
        const chunk = list.slice(i, i + maxBatchCalls);
        const path = channel === 'native' ? '/api/v1/ingest' : '/v1/traces';
        const body =
          channel === 'native'
            ? { batch: chunk.map(toNativeEvent) }
            : buildOtlpTraceRequest(chunk, { withRequestSpans: true });
        await post(project, path, body);
        if (channel === 'native') stats.nativeCalls += chunk.length;
        else stats.otlpSpans += chunk.length;
        if (rng.chance(resendProbability)) {
          // The client never saw the acknowledgement and sends the same events again.
          stats.resentRequests++;
          await post(project, path, body);
        }
      }
    }
  };

  // --- backfill ------------------------------------------------------------------------------
  const startedMs = clock.nowMs();
  // A restart fills only the gap since the previous run, so history is not doubled.
  const fromMs = Math.max(startedMs - backfillHours * 3_600_000, keys.lastCallMs ?? Number.NEGATIVE_INFINITY);
  if (backfillHours > 0 && fromMs < startedMs) {
    const calls = buildTrafficForRange(rng, fromMs, startedMs, backfillCallsPerHour).filter(
      // Retries scheduled past "now" have not happened yet.
      (c) => c.startTimeMs < startedMs,
    );
    // Oldest first, in slices, as an exporter catching up would.
    const sliceCalls = maxBatchCalls * 4;
    for (let i = 0; i < calls.length && !abort.signal.aborted; i += sliceCalls) {
      await sendCalls(calls.slice(i, i + sliceCalls));
    }
    stats.backfilledCalls = calls.length;
    log(
      `demo: backfilled ${calls.length} calls over ${((startedMs - fromMs) / 3_600_000).toFixed(1)} h for ${DEMO_PROJECT_NAMES.join(', ')}` +
        (stats.failedRequests > 0 ? ` (${stats.failedRequests} requests failed: ${stats.lastError})` : ''),
    );
  }
  const rememberProgress = async (upToMs: number): Promise<void> => {
    keys.lastCallMs = Math.max(keys.lastCallMs ?? 0, upToMs);
    await writeKeysFile(keysPath, keys).catch((e: unknown) => log(`demo: cannot write ${keysPath}: ${String(e)}`));
  };
  if (!abort.signal.aborted) await rememberProgress(startedMs);

  // --- streaming ------------------------------------------------------------------------------
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  let lastTickMs = startedMs;
  const tick = async (): Promise<void> => {
    const nowMs = clock.nowMs();
    const windowMs = Math.max(0, nowMs - lastTickMs);
    lastTickMs = nowMs;
    if (windowMs === 0) return;
    const count = rng.poisson((callsPerSecond * windowMs) / 1000);
    const calls = buildDemoCalls(rng, nowMs - windowMs, count, { spreadMs: windowMs });
    const spikeMs = spikeOverlapMs(nowMs - windowMs, nowMs);
    if (spikeMs > 0) {
      calls.push(
        ...buildSpikeCalls(rng, nowMs - spikeMs, rng.poisson((SPIKE_CALLS_PER_SECOND * spikeMs) / 1000), {
          spreadMs: spikeMs,
        }),
      );
    }
    stats.streamedCalls += calls.length;
    if (calls.length > 0) await sendCalls(calls);
    if (nowMs - (keys.lastCallMs ?? 0) >= PROGRESS_EVERY_MS) await rememberProgress(nowMs);
  };
  const schedule = (): void => {
    if (abort.signal.aborted || callsPerSecond <= 0) return;
    timer = setTimeout(() => {
      inFlight = tick()
        .catch((e: unknown) => {
          stats.lastError = `demo tick failed: ${(e as Error)?.message ?? String(e)}`;
          log(stats.lastError);
        })
        .finally(schedule);
    }, tickMs);
    timer.unref();
  };
  schedule();
  if (callsPerSecond > 0) log(`demo: streaming about ${callsPerSecond} requests/s`);

  return {
    async stop() {
      abort.abort();
      if (timer) clearTimeout(timer);
      await inFlight;
      if (callsPerSecond > 0) await rememberProgress(lastTickMs);
    },
    stats: () => ({ ...stats, projects: { ...stats.projects } }),
  };
}
