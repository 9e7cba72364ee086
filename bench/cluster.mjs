// Cluster versus embedded: the same load, from a separate load-generator process
// (bench/ingest-load.mjs), into
//   - embedded mode: one `all` process on DuckDB files, loaded for --seconds, and
//   - cluster mode: one ingest, one worker and one API process on ClickHouse, PostgreSQL and
//     NATS JetStream on loopback (scripts/cluster-services.sh starts them), loaded with as
//     many events as embedded mode stored, so both answer the queries over the same volume.
// Prints one line per mode with accepted events/s and p50/p99 acknowledgement latency (for
// the cluster also how long the worker took to drain JetStream into ClickHouse), then the
// p50/p95 latency of two summary queries over the loaded data through each mode's HTTP API,
// and a final line with the cluster/embedded ratios.
//
//   node bench/cluster.mjs [--seconds 15] [--clients 8] [--batch 500] [--runs 30]
//
// Each cluster run uses its own ClickHouse database, PostgreSQL database and JetStream
// stream, removed afterwards.
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect as connectNats } from 'nats';
import pg from 'pg';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '500' },
    runs: { type: 'string', default: '30' },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const RUNS = Number(args.runs);

const ADMIN = 'rpa_bench_admin_token_0123456789abcdef';
const CLICKHOUSE_URL = 'http://127.0.0.1:8123';
const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = 'nats://127.0.0.1:4222';
const DRAIN_TIMEOUT_MS = 300_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = new Set();
const cleanups = [];

/** Starts `node dist/main.js start` and resolves with its URL once it listens. */
function startNode(name, env) {
  const dataDir = mkdtempSync(join(tmpdir(), `reskpoints-bench-${name}-`));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const proc = spawn(
    process.execPath,
    ['packages/server/dist/main.js', 'start', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir],
    {
      env: { ...process.env, RESKPOINTS_ADMIN_TOKEN: ADMIN, RESKPOINTS_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise((r) => proc.on('exit', r));
  const node = {
    name,
    proc,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) proc.kill('SIGKILL');
      await exited;
    },
  };
  children.add(node);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s:\n${out}`)), 60_000);
    const onData = (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/i.exec(out);
      if (m) {
        clearTimeout(timer);
        node.url = m[1];
        resolve(node);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (d) => {
      onData(d);
      // Warnings and errors of a running node are worth seeing.
      if (node.url) process.stderr.write(`[${name}] ${d}`);
    });
    proc.on('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${c} before listening:\n${out}`));
    });
  });
}

async function api(url, path, init = {}) {
  const res = await fetch(`${url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
    signal: AbortSignal.timeout(60_000),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${body}`);
  return JSON.parse(body);
}

/** Runs bench/ingest-load.mjs in its own process against `url` and returns its figures. */
function load(url, key, { seconds = SECONDS, maxEvents } = {}) {
  return new Promise((resolve, reject) => {
    const loader = fork(new URL('./ingest-load.mjs', import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    loader.on('message', resolve);
    loader.on('exit', (c) => c && reject(new Error(`load generator exited ${c}`)));
    loader.send({ url, key, seconds, clients: CLIENTS, batch: BATCH, format: 'native', maxEvents });
  });
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
}

/** p50/p95 of RUNS sequential calls of each summary query, after one warm-up call each. */
async function queryLatencies(url, fromMs, toMs) {
  const range = `from=${fromMs}&to=${toMs}`;
  const queries = {
    by_model_by_hour: `/api/v1/llm/summary?${range}&groupBy=model&interval=1h`,
    top20_users: `/api/v1/llm/summary?${range}&groupBy=user&orderBy=totalTokens&limit=20`,
  };
  const out = {};
  for (const [name, path] of Object.entries(queries)) {
    const first = await api(url, path);
    if (first.rows.length === 0) throw new Error(`${name} returned no rows: the load did not arrive`);
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await api(url, path);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    out[name] = { p50: percentile(times, 0.5), p95: percentile(times, 0.95), rows: first.rows.length };
  }
  return out;
}

/** Rows the API reports over the range (one summary bucket, summed over projects). */
async function storedRows(url, fromMs, toMs) {
  const { rows } = await api(url, `/api/v1/llm/summary?from=${fromMs}&to=${toMs}&groupBy=project`);
  return rows.reduce((s, r) => s + r.requests, 0);
}

async function createProject(url) {
  const { apiKey } = await api(url, '/api/v1/projects', { method: 'POST', body: JSON.stringify({ name: 'bench' }) });
  return apiKey.key;
}

const fmt = (n, d = 1) => n.toFixed(d);

async function embedded() {
  const node = await startNode('all', { RESKPOINTS_ROLE: 'all' });
  const key = await createProject(node.url);
  const loadStartMs = Date.now();
  const result = await load(node.url, key);
  const loadMs = Date.now() - loadStartMs;
  const fromMs = loadStartMs - 60_000;
  const toMs = Date.now() + 60_000;
  const rows = await storedRows(node.url, fromMs, toMs);
  const queries = await queryLatencies(node.url, fromMs, toMs);
  await node.stop();
  return { result, rows, queries, loadMs, drainMs: 0 };
}

async function cluster(events) {
  const run = randomBytes(4).toString('hex');
  const database = `rp_bench_${run}`;
  const stream = `RP_BENCH_${run.toUpperCase()}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await c.end();
  });
  cleanups.push(async () => {
    const res = await fetch(`${CLICKHOUSE_URL}/`, { method: 'POST', body: `DROP DATABASE IF EXISTS ${database}` });
    if (!res.ok) throw new Error(await res.text());
  });
  const nc = await connectNats({ servers: NATS_URL });
  cleanups.push(async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  });
  const env = {
    RESKPOINTS_CLICKHOUSE__URL: CLICKHOUSE_URL,
    RESKPOINTS_CLICKHOUSE__DATABASE: database,
    RESKPOINTS_POSTGRES__URL: `postgres://postgres@127.0.0.1:5432/${database}`,
    RESKPOINTS_NATS__URL: NATS_URL,
    RESKPOINTS_NATS__STREAM: stream,
  };
  // The API node first: it runs the migrations the others then find in place.
  const apiNode = await startNode('api', { ...env, RESKPOINTS_ROLE: 'api' });
  const [ingest, worker] = await Promise.all([
    startNode('ingest', { ...env, RESKPOINTS_ROLE: 'ingest' }),
    startNode('worker', { ...env, RESKPOINTS_ROLE: 'worker' }),
  ]);
  const key = await createProject(apiNode.url);
  const loadStartMs = Date.now();
  // Time is only a cap here: the load stops at `events`.
  const result = await load(ingest.url, key, { seconds: SECONDS * 4, maxEvents: events });
  const loadEndMs = Date.now();
  const fromMs = loadStartMs - 60_000;
  // Acknowledged means in JetStream; the worker may still be moving batches to ClickHouse.
  const jsm = await nc.jetstreamManager();
  let pending = (await jsm.streams.info(stream)).state.messages;
  while (pending > 0) {
    if (Date.now() - loadEndMs > DRAIN_TIMEOUT_MS) throw new Error(`worker did not drain ${pending} batches in time`);
    await sleep(100);
    pending = (await jsm.streams.info(stream)).state.messages;
  }
  const drainMs = Date.now() - loadEndMs;
  const toMs = Date.now() + 60_000;
  const rows = await storedRows(apiNode.url, fromMs, toMs);
  const queries = await queryLatencies(apiNode.url, fromMs, toMs);
  await Promise.all([ingest.stop(), worker.stop(), apiNode.stop()]);
  return { result, rows, queries, loadMs: loadEndMs - loadStartMs, drainMs };
}

/**
 * Events stored per second from the start of the load until they were all queryable
 * (warm-up included): for the cluster this counts the worker's drain after the load.
 */
const storedPerSec = (m) => m.rows / ((m.loadMs + m.drainMs) / 1000);

function modeLine(mode, m) {
  const r = m.result;
  const drain = mode === 'cluster' ? ` drain_after_load_ms=${m.drainMs}` : '';
  return (
    `cluster-bench mode=${mode} clients=${CLIENTS} batch=${BATCH} load_s=${fmt(m.loadMs / 1000)} events/s=${Math.round(r.eventsPerSec)} ` +
    `p50_ack_ms=${fmt(r.p50)} p99_ack_ms=${fmt(r.p99)} requests=${r.requests} refused_429=${r.refused} ` +
    `errors=${r.errors} stored_rows=${m.rows}${drain} stored_events/s=${Math.round(storedPerSec(m))}`
  );
}

function queryLine(mode, m) {
  const q = m.queries;
  return (
    `cluster-bench query mode=${mode} rows=${m.rows} runs=${RUNS} ` +
    `by_model_by_hour_p50_ms=${fmt(q.by_model_by_hour.p50)} by_model_by_hour_p95_ms=${fmt(q.by_model_by_hour.p95)} ` +
    `top20_users_p50_ms=${fmt(q.top20_users.p50)} top20_users_p95_ms=${fmt(q.top20_users.p95)}`
  );
}

async function cleanup() {
  await Promise.all([...children].map((c) => c.stop()));
  for (const c of cleanups.splice(0).reverse()) await c().catch((e) => console.error(`cleanup failed: ${e.message}`));
}

process.on('SIGINT', () => {
  void cleanup().finally(() => process.exit(130));
});

let failed = false;
try {
  const e = await embedded();
  console.log(modeLine('embedded', e));
  const c = await cluster(e.rows);
  console.log(modeLine('cluster', c));
  console.log(queryLine('embedded', e));
  console.log(queryLine('cluster', c));
  const ratio = (a, b) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
  console.log(
    `cluster-bench ratio cluster/embedded events/s=${ratio(c.result.eventsPerSec, e.result.eventsPerSec)} ` +
      `stored_events/s=${ratio(storedPerSec(c), storedPerSec(e))} p50_ack=${ratio(c.result.p50, e.result.p50)} p99_ack=${ratio(c.result.p99, e.result.p99)} ` +
      `by_model_by_hour_p50=${ratio(c.queries.by_model_by_hour.p50, e.queries.by_model_by_hour.p50)} ` +
      `top20_users_p50=${ratio(c.queries.top20_users.p50, e.queries.top20_users.p50)}`,
  );
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
