/**
 * Quota reserve+settle throughput and latency:
 * - in process: the quota service (rules, worst-case pricing from the price book, in-memory
 *   accounting) called directly by concurrent async loops;
 * - over HTTP, embedded: the built server (`node packages/server/dist/main.js start`, in-memory
 *   accounting) in its own process, loaded by concurrent keep-alive clients (undici) from this one;
 * - over HTTP, cluster mode: two API nodes on PostgreSQL, ClickHouse and NATS with quota
 *   accounting in Redis (scripts/cluster-services.sh starts the services), the clients split
 *   between them, so every reservation goes through the Redis scripts both nodes share.
 *
 * A pair is one reserve and, once granted, its settle; its latency is from sending the reserve
 * to the settle's answer. Three quotas apply to every call (requests per user per minute,
 * sliding; tokens per project per hour; cost per project per day, priced with the built-in
 * catalogue), with limits high enough that every reservation is granted.
 *
 *   npm run bench:quota [-- --seconds 10 --clients 32 --modes inprocess,embedded,cluster]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '@reskpoints/core';
import { connect as connectNats } from 'nats';
import pg from 'pg';
import { Pool } from 'undici';
import { loadCatalogue } from '../packages/server/src/cost/catalogue.js';
import { COST_MIGRATIONS, PriceRepo } from '../packages/server/src/cost/price-repo.js';
import { PriceService } from '../packages/server/src/cost/price-service.js';
import { migrateForTest, openStateSql } from '../packages/server/src/platform/testing/state-sql.js';
import { MemoryQuotaLimiter } from '../packages/server/src/quota/memory-limiter.js';
import type { QuotaRule } from '../packages/server/src/quota/quota-core.js';
import { QUOTA_MIGRATIONS, QuotaRepo } from '../packages/server/src/quota/quota-repo.js';
import { QuotaService } from '../packages/server/src/quota/quota-service.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '32' },
    modes: { type: 'string', default: 'inprocess,embedded,cluster' },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const MODES = new Set(args.modes.split(','));
const WARMUP_MS = 2_000;
const USERS = 1_000;
const ADMIN = 'rpa_bench_admin_token_0123456789abcdef';

const RULES: QuotaRule[] = [
  {
    id: 'per-user-rpm',
    description: '',
    scope: { project: 'bench', user: '*' },
    metric: 'requests',
    limit: 1e12,
    windowMs: 60_000,
    window: 'sliding',
    enabled: true,
  },
  {
    id: 'project-tph',
    description: '',
    scope: { project: 'bench' },
    metric: 'tokens',
    limit: 1e15,
    windowMs: 3_600_000,
    window: 'fixed',
    enabled: true,
  },
  {
    id: 'project-cost-day',
    description: '',
    scope: { project: 'bench' },
    metric: 'costUsd',
    limit: 1e12,
    windowMs: 86_400_000,
    window: 'fixed',
    enabled: true,
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));

interface LoadResult {
  pairs: number;
  refused: number;
  errors: number;
  seconds: number;
  latenciesMs: Float64Array;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** Runs `pair` from `clients` concurrent loops for SECONDS after a warm-up; latencies of the measured part. */
async function drive(clients: number, pair: (worker: number, n: number) => Promise<'ok' | 'refused' | 'error'>) {
  let measuring = false;
  let stop = false;
  let cpuAtStart = 0;
  let pairs = 0;
  let refused = 0;
  let errors = 0;
  const lat: number[] = [];
  const loops = Array.from({ length: clients }, async (_, w) => {
    let n = 0;
    while (!stop) {
      // In process every await resolves as a microtask: yield now and then so timers run.
      if ((n & 255) === 255) await new Promise((r) => setImmediate(r));
      const t0 = performance.now();
      const r = await pair(w, n++);
      if (!measuring) continue;
      if (r === 'ok') {
        pairs++;
        lat.push(performance.now() - t0);
      } else if (r === 'refused') refused++;
      else errors++;
    }
  });
  await sleep(WARMUP_MS);
  measuring = true;
  cpuAtStart = cpuSeconds();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  measuring = false;
  const cpu = cpuSeconds() - cpuAtStart;
  const seconds = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(loops);
  const latenciesMs = Float64Array.from(lat).sort();
  return { pairs, refused, errors, seconds, latenciesMs, cpu } satisfies LoadResult & { cpu: number };
}

/**
 * CPU seconds used so far: by the server processes when there are any (read from /proc), else by
 * this process. On a shared machine pairs per CPU-second tell more than pairs per second.
 */
function cpuSeconds(): number {
  if (children.length === 0) {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  let ticks = 0;
  for (const c of children) {
    try {
      const stat = readFileSync(`/proc/${c.proc.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      return Number.NaN;
    }
  }
  return ticks / 100;
}

function report(mode: string, r: LoadResult, extra = '', cpuSeconds?: number): void {
  const perCpu = cpuSeconds
    ? `, ${fmt(r.pairs / cpuSeconds)} pairs per ${mode === 'in-process' ? '' : 'server '}CPU-second`
    : '';
  console.log(
    `quota ${mode}: ${fmt(r.pairs / r.seconds)} reserve+settle pairs/s${perCpu}, p50 ${fmt(percentile(r.latenciesMs, 0.5))} ms, ` +
      `p99 ${fmt(percentile(r.latenciesMs, 0.99))} ms, p99.9 ${fmt(percentile(r.latenciesMs, 0.999))} ms ` +
      `(${CLIENTS} concurrent clients, ${SECONDS} s, ${r.pairs} pairs, refused ${r.refused}, errors ${r.errors})${extra}`,
  );
}

const call = (w: number, n: number) => ({
  model: 'gpt-4o-mini',
  inputTokens: 500 + ((w * 31 + n) % 1000),
  maxTokens: 256,
  user: `user-${(w * 7919 + n) % USERS}`,
});

// ---- In process ---------------------------------------------------------------------------
async function inProcess(): Promise<void> {
  const state = await openStateSql('duckdb');
  await migrateForTest(state.db, [
    { name: 'cost', stateMigrations: COST_MIGRATIONS },
    { name: 'quota', stateMigrations: QUOTA_MIGRATIONS },
  ]);
  const prices = await PriceService.open({
    repo: new PriceRepo(state.db),
    catalogue: loadCatalogue(),
    clock: systemClock,
  });
  const repo = new QuotaRepo(state.db);
  for (const rule of RULES) await repo.put(rule, Date.now());
  const service = new QuotaService({
    limiter: new MemoryQuotaLimiter(),
    repo,
    prices: () => prices.book,
    clock: systemClock,
    defaultTtlMs: () => 300_000,
  });
  await service.refresh();
  const r = await drive(CLIENTS, async (w, n) => {
    const c = call(w, n);
    const res = await service.reserve({ projectId: 'bench', provider: 'openai', ...c });
    if (!res.ok) return 'error';
    if (!res.value.granted) return 'refused';
    const s = await service.settle(
      { reservationId: res.value.value.reservationId, inputTokens: c.inputTokens, outputTokens: 100 },
      'bench',
    );
    return s.ok ? 'ok' : 'error';
  });
  report('in-process', r, '', r.cpu);
  await state.close();
}

// ---- Over HTTP ----------------------------------------------------------------------------
const children: { proc: ChildProcess; exited: Promise<unknown> }[] = [];
const cleanups: (() => Promise<void>)[] = [];

function startNode(name: string, env: Record<string, string>): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), `reskpoints-bench-quota-${name}-`));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const proc = spawn(
    process.execPath,
    [
      // QUOTA_BENCH_PROF=DIR writes a CPU profile of each server process there (node --cpu-prof).
      ...(process.env['QUOTA_BENCH_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['QUOTA_BENCH_PROF']}`] : []),
      'packages/server/dist/main.js',
      'start',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
    ],
    {
      env: {
        ...process.env,
        RESKPOINTS_ADMIN_TOKEN: ADMIN,
        RESKPOINTS_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise((r) => proc.on('exit', r));
  children.push({ proc, exited });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/i.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${out}`)));
  });
}

async function stopNodes(): Promise<void> {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
    await Promise.race([c.exited, sleep(10_000).then(() => c.proc.kill('SIGKILL'))]);
  }
}

async function admin(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Creates the project and the quotas through the API; returns the project key. */
async function setUp(url: string): Promise<string> {
  const created = await admin(url, 'POST', '/api/v1/projects', { name: 'bench', id: 'bench' });
  for (const { id, ...rule } of RULES) await admin(url, 'PUT', `/api/v1/quotas/${id}`, rule);
  return created.apiKey.key as string;
}

async function overHttp(mode: string, urls: string[], key: string, extra = ''): Promise<void> {
  const pools = urls.map(
    (u) => new Pool(u, { connections: Math.ceil(CLIENTS / urls.length), pipelining: 1, keepAliveTimeout: 60_000 }),
  );
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const r = await drive(CLIENTS, async (w, n) => {
    const pool = pools[w % pools.length] as Pool;
    const c = call(w, n);
    try {
      const res = await pool.request({
        path: '/api/v1/quota/reserve',
        method: 'POST',
        headers,
        body: JSON.stringify(c),
      });
      const body = (await res.body.json()) as { reservationId?: string };
      if (res.statusCode === 429) return 'refused';
      if (res.statusCode !== 200 || !body.reservationId) return 'error';
      // Settled through the other node when there are two: any node can settle any reservation.
      const settlePool = pools[(w + n) % pools.length] as Pool;
      const s = await settlePool.request({
        path: '/api/v1/quota/settle',
        method: 'POST',
        headers,
        body: JSON.stringify({ reservationId: body.reservationId, inputTokens: c.inputTokens, outputTokens: 100 }),
      });
      await s.body.dump();
      return s.statusCode === 200 ? 'ok' : 'error';
    } catch {
      return 'error';
    }
  });
  report(mode, r, extra, r.cpu);
  await Promise.all(pools.map((p) => p.close()));
}

async function embedded(): Promise<void> {
  const url = await startNode('embedded', { RESKPOINTS_ROLE: 'all' });
  const key = await setUp(url);
  await overHttp('HTTP embedded', [url], key, ', memory accounting, one server process');
  await stopNodes();
}

async function cluster(): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const database = `rp_quota_bench_${id}`;
  const stream = `RP_QUOTA_BENCH_${id.toUpperCase()}`;
  const pgAdmin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await pgAdmin.connect();
  await pgAdmin.query(`CREATE DATABASE ${database}`);
  await pgAdmin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await c.end();
  });
  cleanups.push(async () => {
    await fetch('http://127.0.0.1:8123/', { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` });
  });
  const nc = await connectNats({ servers: 'nats://127.0.0.1:4222' });
  cleanups.push(async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  });
  const env = {
    RESKPOINTS_CLICKHOUSE__URL: 'http://127.0.0.1:8123',
    RESKPOINTS_CLICKHOUSE__DATABASE: database,
    RESKPOINTS_POSTGRES__URL: `postgres://postgres@127.0.0.1:5432/${database}`,
    RESKPOINTS_NATS__URL: 'nats://127.0.0.1:4222',
    RESKPOINTS_NATS__STREAM: stream,
    RESKPOINTS_REDIS__URL: 'redis://127.0.0.1:6379',
    RESKPOINTS_QUOTA__REDIS_KEY_PREFIX: `rp-quota-bench-${id}`,
    RESKPOINTS_ROLE: 'api',
  };
  // The first node runs the migrations the second then finds in place.
  const first = await startNode('api-1', env);
  const second = await startNode('api-2', env);
  const key = await setUp(first);
  // The second node reloads the quota definitions within quota.refreshIntervalMs.
  await sleep(2_500);
  await overHttp('HTTP cluster', [first, second], key, ', Redis accounting, two API nodes sharing it');
  await stopNodes();
}

try {
  if (MODES.has('inprocess')) await inProcess();
  if (MODES.has('embedded')) await embedded();
  if (MODES.has('cluster')) await cluster();
} finally {
  await stopNodes();
  for (const c of cleanups.reverse()) await c().catch((e) => console.error(`cleanup: ${e}`));
}
