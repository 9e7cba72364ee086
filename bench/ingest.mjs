// Sustained-ingest benchmark: starts the built server on a temp DuckDB, then drives it from a
// separate load-generator process (bench/ingest-load.mjs) with several concurrent clients.
// Prints one line per scenario: accepted events/s and p50/p99/p99.9/max acknowledgement latency.
// By default it runs three times, each on a fresh server and data dir: with the acknowledgement
// log on (the default) and off, both pricing every call at ingest (the default), then with the
// log on and pricing at ingest off (`cost.priceAtIngest: false`). It prints the ack-log on/off
// ratios (the log exists to keep DuckDB's checkpoint stalls out of the acknowledgement latency)
// and the pricing on/off ratios (target: events/s with pricing at least 0.90 of without).
//
// With `--format otlp-logs` it sends log records instead, as OTLP/HTTP protobuf to `/v1/logs` (the
// OpenTelemetry logs SDK's proto exporter's bodies), once per ack-log mode; pricing does not apply
// (`npm run bench:logs-ingest`: target at least 100,000 lines/s embedded).
//
//   node bench/ingest.mjs [--seconds 30] [--clients 8] [--batch 500] [--ack-log on,off] [--pricing on,off]
//                         [--format native|otlp-logs]
//   BENCH_TRACE=/tmp/trace node bench/ingest.mjs   # per-request "start_ms latency_ms" files
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '500' },
    'ack-log': { type: 'string', default: 'on,off' },
    pricing: { type: 'string', default: 'on,off' },
    format: { type: 'string', default: 'native' },
  },
});

const ADMIN = 'rpa_bench_admin_token_0123456789abcdef';

async function startServer(ackLog, pricing) {
  const dataDir = mkdtempSync(join(tmpdir(), 'reskpoints-bench-ingest-'));
  const server = spawn(
    process.execPath,
    ['packages/server/dist/main.js', 'start', '--port', '0', '--data-dir', dataDir],
    {
      env: {
        ...process.env,
        RESKPOINTS_ADMIN_TOKEN: ADMIN,
        RESKPOINTS_LOG_LEVEL: 'warn',
        RESKPOINTS_INGEST__ACK_LOG: String(ackLog === 'on'),
        RESKPOINTS_COST__PRICE_AT_INGEST: String(pricing === 'on'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/i.exec(out);
      if (m) resolve(m[1]);
    });
    server.on('exit', (c) => reject(new Error(`server exited ${c}: ${out}`)));
  });
  return {
    url,
    pid: server.pid,
    async stop() {
      server.kill('SIGTERM');
      await new Promise((r) => server.on('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds (user + system, all threads) the process used so far; null where /proc is missing. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function load(url, key, trace) {
  return new Promise((resolve, reject) => {
    const loader = fork(new URL('./ingest-load.mjs', import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, BENCH_TRACE: trace ?? '' },
    });
    loader.on('message', resolve);
    loader.on('exit', (c) => c && reject(new Error(`load generator exited ${c}`)));
    loader.send({
      url,
      key,
      seconds: Number(args.seconds),
      clients: Number(args.clients),
      batch: Number(args.batch),
      format: args.format,
    });
  });
}

/**
 * How fast this machine is right now: JSON.parse of a 500-call body, single thread. Shared VMs
 * vary by 2-3x from hour to hour; this line makes runs taken at different times comparable.
 */
function calibrate() {
  const body = JSON.stringify({
    batch: Array.from({ length: 500 }, (_, i) => ({
      id: `0123456789abcdef-${i}`,
      timestamp: 1_790_000_000_000 + i,
      provider: 'openai',
      model: 'gpt-4o-mini',
      operation: 'chat',
      latencyMs: 200 + i,
      usage: { inputTokens: 500 + i, outputTokens: 50 },
      userId: `user-${i}`,
      tags: ['feature:chat', 'tier:pro'],
    })),
  });
  let bytes = 0;
  const start = performance.now();
  while (performance.now() - start < 1500) {
    JSON.parse(body);
    bytes += body.length;
  }
  return bytes / 1048576 / ((performance.now() - start) / 1000);
}
console.log(`calibration json_parse_mb_per_s=${calibrate().toFixed(0)}`);

// Scenarios: every ack-log mode with the first pricing mode, then the other pricing modes with
// the first ack-log mode.
const ackModes = args['ack-log'].split(',');
const logs = args.format === 'otlp-logs';
if (!logs && args.format !== 'native') throw new Error(`--format: native or otlp-logs, got ${args.format}`);
const pricingModes = logs ? ['on'] : args.pricing.split(',');
const scenarios = [
  ...ackModes.map((ack) => ({ ack, pricing: pricingModes[0] })),
  ...pricingModes.slice(1).map((pricing) => ({ ack: ackModes[0], pricing })),
];
const results = {};
for (const { ack: mode, pricing } of scenarios) {
  const server = await startServer(mode, pricing);
  try {
    const res = await fetch(`${server.url}/api/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench' }),
    });
    const { apiKey } = await res.json();
    const trace = process.env.BENCH_TRACE ? `${process.env.BENCH_TRACE}.${mode}` : null;
    const cpuBefore = cpuSeconds(server.pid);
    const result = await load(server.url, apiKey.key, trace);
    const cpuAfter = cpuSeconds(server.pid);
    // Per event over the whole run, warm-up included: how much work an event costs the server.
    const cpuPerEvent = cpuBefore === null ? null : ((cpuAfter - cpuBefore) * 1e6) / result.totalEvents;
    results[`${mode}/${pricing}`] = { ...result, cpuPerEvent };
    const m = await (await fetch(`${server.url}/metrics`)).text();
    const metric = (name) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(m)?.[1] ?? 0);
    const rss = metric('reskpoints_process_resident_memory_bytes');
    const commits = metric('reskpoints_commit_duration_seconds_count');
    const commitMs = commits ? (metric('reskpoints_commit_duration_seconds_sum') / commits) * 1000 : 0;
    const perCommit = commits ? metric('reskpoints_commit_batch_events_sum') / commits : 0;
    const logSyncs = metric('reskpoints_ack_log_sync_seconds_count');
    const logSyncMs = logSyncs ? (metric('reskpoints_ack_log_sync_seconds_sum') / logSyncs) * 1000 : 0;
    const logAcked = metric('reskpoints_ack_log_acknowledged_events_total');
    console.log(
      `ingest ${logs ? 'format=otlp-logs' : `pricing=${pricing}`} ack_log=${mode} clients=${args.clients} batch=${args.batch} seconds=${args.seconds} ` +
        `events/s=${Math.round(result.eventsPerSec)} p50_ack_ms=${result.p50.toFixed(1)} ` +
        `p99_ack_ms=${result.p99.toFixed(1)} p999_ack_ms=${result.p999.toFixed(1)} max_ack_ms=${result.max.toFixed(1)} ` +
        `requests=${result.requests} refused_429=${result.refused} errors=${result.errors} ` +
        `server_rss_mb=${Math.round(rss / 1048576)} commits=${commits} mean_commit_ms=${commitMs.toFixed(1)} ` +
        `mean_events_per_commit=${Math.round(perCommit)} log_acked_events=${logAcked} log_syncs=${logSyncs} ` +
        `mean_log_sync_ms=${logSyncMs.toFixed(1)}` +
        (cpuPerEvent === null ? '' : ` server_cpu_us_per_event=${cpuPerEvent.toFixed(1)}`),
    );
  } finally {
    await server.stop();
  }
}
const ratio = (label, a, b) => {
  if (!a || !b) return;
  const r = (k) => (a[k] / b[k]).toFixed(2);
  console.log(
    `ingest ratio ${label} events/s=${r('eventsPerSec')} p50_ack=${r('p50')} p99_ack=${r('p99')} ` +
      `p999_ack=${r('p999')} max_ack=${r('max')}` +
      (a.cpuPerEvent && b.cpuPerEvent ? ` server_cpu_us_per_event=${r('cpuPerEvent')}` : ''),
  );
};
const p0 = pricingModes[0];
ratio('ack_log on/off', results[`on/${p0}`], results[`off/${p0}`]);
ratio('pricing on/off', results[`${ackModes[0]}/on`], results[`${ackModes[0]}/off`]);
