// Sustained-ingest benchmark: starts the built server on a temp DuckDB, then drives it from a
// separate load-generator process (bench/ingest-load.mjs) with several concurrent clients.
// Prints one line per scenario: accepted events/s and p50/p99 acknowledgement latency.
//
//   node bench/ingest.mjs [--seconds 20] [--clients 8] [--batch 500] [--format native|otlp]
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '500' },
    format: { type: 'string', default: 'native' },
  },
});

const ADMIN = 'rpa_bench_admin_token_0123456789abcdef';
const dataDir = mkdtempSync(join(tmpdir(), 'reskpoints-bench-ingest-'));
const server = spawn(
  process.execPath,
  ['packages/server/dist/main.js', 'start', '--port', '0', '--data-dir', dataDir],
  {
    env: { ...process.env, RESKPOINTS_ADMIN_TOKEN: ADMIN, RESKPOINTS_LOG_LEVEL: 'warn' },
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

try {
  const res = await fetch(`${url}/api/v1/projects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  const { apiKey } = await res.json();
  for (const format of args.format.split(',')) {
    const result = await new Promise((resolve, reject) => {
      const loader = fork(new URL('./ingest-load.mjs', import.meta.url), [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      loader.on('message', resolve);
      loader.on('exit', (c) => c && reject(new Error(`load generator exited ${c}`)));
      loader.send({
        url,
        key: apiKey.key,
        seconds: Number(args.seconds),
        clients: Number(args.clients),
        batch: Number(args.batch),
        format,
      });
    });
    const m = await (await fetch(`${url}/metrics`)).text();
    const metric = (name) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(m)?.[1] ?? 0);
    const rss = metric('reskpoints_process_resident_memory_bytes');
    const commits = metric('reskpoints_commit_duration_seconds_count');
    const commitMs = commits ? (metric('reskpoints_commit_duration_seconds_sum') / commits) * 1000 : 0;
    const perCommit = commits ? metric('reskpoints_commit_batch_events_sum') / commits : 0;
    console.log(
      `ingest format=${format} clients=${args.clients} batch=${args.batch} events/s=${Math.round(result.eventsPerSec)} ` +
        `p50_ack_ms=${result.p50.toFixed(1)} p99_ack_ms=${result.p99.toFixed(1)} requests=${result.requests} ` +
        `refused_429=${result.refused} errors=${result.errors} server_rss_mb=${Math.round(rss / 1048576)} ` +
        `commits=${commits} mean_commit_ms=${commitMs.toFixed(1)} mean_events_per_commit=${Math.round(perCommit)}`,
    );
  }
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
