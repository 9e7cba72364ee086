/**
 * Alerting latency and evaluation cost. Run: npm run bench:alerting (builds first; needs
 * Debian's `prometheus-alertmanager`). Prints one line per figure:
 *
 * (a) crossing → webhook: the built server runs as its own process (embedded, DuckDB) with a
 *     threshold rule `errors > 0` grouped by model and a route with `groupWait: 0`; each
 *     crossing is one failed LLM call of a model never seen before, POSTed to
 *     `/api/v1/ingest`; the latency runs from the POST to the local webhook receiver (in this
 *     process) getting the notification for that model. p50/p99/max over `--crossings`.
 * (b) POST /api/v2/alerts → webhook, for ReskPoints and for Debian's Alertmanager started on a
 *     free port with a temp config whose receiver is the same webhook (`group_wait: 0s`), one
 *     alert with a new `alertname` per request, the two servers alternating in the same run;
 *     with the ReskPoints/Alertmanager ratio.
 * (c) one evaluator pass over `--rules` threshold rules (filters by project and environment,
 *     five groupings, three windows, twelve metrics) on `--calls` calls of the benchmark data
 *     set (7 days ending now) in DuckDB: the engine's `pass` as the leader job runs it, with
 *     the rule states, alerts and notification log written to a DuckDB state database.
 *
 * Options: --crossings 200 --posts 200 --rules 10000 --calls 1000000 --only a,b,c
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SummaryQuery } from '@reskpoints/core';
import pino from 'pino';
import { alertingConfigSchema } from '../packages/server/src/alerting/config.js';
import { AlertingEngine } from '../packages/server/src/alerting/engine.js';
import { alertingModule } from '../packages/server/src/alerting/module.js';
import { compilePipeline } from '../packages/server/src/alerting/pipeline-config.js';
import { AlertingRepo } from '../packages/server/src/alerting/repo.js';
import { checkRule, type Rule } from '../packages/server/src/alerting/rules.js';
import { migrateForTest } from '../packages/server/src/platform/testing/state-sql.js';
import { DuckDbDatabase } from '../packages/server/src/store/duckdb/duckdb-database.js';
import { DuckDbSqlDatabase } from '../packages/server/src/store/duckdb/duckdb-sql.js';
import { DuckDbTelemetryStore } from '../packages/server/src/store/duckdb/duckdb-telemetry-store.js';
import { ADMIN_TOKEN, createProject, spawnServer } from '../packages/server/src/test-support/harness.js';
import { type CallSet, loadCalls } from './lib/llm-calls.js';

const { values: args } = parseArgs({
  options: {
    crossings: { type: 'string' },
    posts: { type: 'string' },
    rules: { type: 'string' },
    calls: { type: 'string' },
    only: { type: 'string' },
  },
});
const CROSSINGS = Number(args.crossings ?? 200);
const POSTS = Number(args.posts ?? 200);
const RULES = Number(args.rules ?? 10_000);
const CALLS = Number(args.calls ?? 1_000_000);
const ONLY = new Set((args.only ?? 'a,b,c').split(','));
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

function stats(samples: number[]): { p50: number; p99: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1] ?? Number.NaN, n: s.length };
}

const ms = (v: number) => v.toFixed(1);

/** The webhook receiver: resolves waiters by a key taken from each notification. */
class Receiver {
  private readonly waiting = new Map<string, (atMs: number) => void>();
  private readonly early = new Map<string, number>();
  private server = createServer((req, res) => this.onRequest(req, res.writeHead(200)));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private onRequest(req: IncomingMessage, res: { end(): void }): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      res.end();
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        status: string;
        alerts: { labels: Record<string, string> }[];
      };
      if (body.status !== 'firing') return;
      for (const a of body.alerts) {
        const key = `${req.url}|${a.labels['model'] ?? a.labels['alertname']}`;
        const w = this.waiting.get(key);
        if (w) {
          this.waiting.delete(key);
          w(at);
        } else this.early.set(key, at);
      }
    });
  }

  /** When the notification for `key` on `path` arrives (performance.now()). */
  wait(path: string, key: string, timeoutMs = 10_000): Promise<number> {
    const k = `${path}|${key}`;
    const got = this.early.get(k);
    if (got !== undefined) return Promise.resolve(got);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(k);
        reject(new Error(`no notification for ${k} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(k, (at) => {
        clearTimeout(t);
        resolve(at);
      });
    });
  }

  close(): void {
    this.server.close();
  }
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function post(url: string, token: string, body: unknown): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  if (res.status >= 300) throw new Error(`POST ${url}: ${res.status}`);
  return res.status;
}

async function startAlertmanager(dir: string, hookUrl: string): Promise<{ url: string; proc: ChildProcess }> {
  if (!existsSync(ALERTMANAGER)) throw new Error(`${ALERTMANAGER} is missing: apt-get install prometheus-alertmanager`);
  const port = await freePort();
  const config = join(dir, 'alertmanager.yml');
  await writeFile(
    config,
    [
      'route: { receiver: hook, group_by: [alertname], group_wait: 0s, group_interval: 1h, repeat_interval: 24h }',
      'receivers:',
      `  - { name: hook, webhook_configs: [{ url: "${hookUrl}/am", send_resolved: false }] }`,
    ].join('\n'),
  );
  const proc = spawn(
    ALERTMANAGER,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, proc };
    await sleep(100);
  }
  proc.kill('SIGKILL');
  throw new Error(`Alertmanager did not become ready:\n${log}`);
}

async function latencies(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-bench-alerting-'));
  const hook = new Receiver();
  await hook.start();
  const configPath = join(dir, 'reskpoints.yaml');
  await writeFile(
    configPath,
    JSON.stringify({
      alerting: {
        route: {
          receiver: 'hook',
          groupBy: ['alertname', 'model'],
          groupWait: 0,
          groupInterval: '1h',
          repeatInterval: '24h',
        },
        receivers: [{ name: 'hook', sendResolved: false, webhook: { url: `${hook.url}/rp` } }],
        rules: [
          {
            name: 'LlmErrors',
            metric: 'errors',
            window: '10m',
            groupBy: ['model'],
            threshold: { op: '>', value: 0 },
            interval: '1m',
          },
        ],
      },
    }),
  );
  const server = await spawnServer(join(dir, 'data'), ['--config', configPath]);
  let am: { url: string; proc: ChildProcess } | null = null;
  try {
    if (ONLY.has('a')) {
      const { key } = await createProject(server.url, 'bench-alerting');
      const samples: number[] = [];
      // Warm-up: the first crossings pay for JIT and first queries.
      for (let i = -5; i < CROSSINGS; i++) {
        const model = `bench-model-${i + 5}`;
        const t0 = performance.now();
        const arrived = hook.wait('/rp', model);
        await post(`${server.url}/api/v1/ingest`, key, {
          batch: [
            {
              id: `cross-${i + 5}`,
              timestamp: Date.now(),
              provider: 'bench',
              model,
              operation: 'chat',
              latencyMs: 120,
              status: 'error',
              usage: { inputTokens: 10, outputTokens: 0 },
            },
          ],
        });
        const t1 = await arrived;
        if (i >= 0) samples.push(t1 - t0);
        await sleep(10 + Math.random() * 40);
      }
      const s = stats(samples);
      console.log(
        `alerting crossing->webhook (ingested failed call crosses errors>0, group_wait 0, embedded): ` +
          `p50=${ms(s.p50)} ms p99=${ms(s.p99)} ms max=${ms(s.max)} ms n=${s.n}`,
      );
    }
    if (ONLY.has('b')) {
      am = await startAlertmanager(dir, hook.url);
      const rp: number[] = [];
      const amSamples: number[] = [];
      const one = async (target: 'rp' | 'am', name: string): Promise<number> => {
        const t0 = performance.now();
        const arrived = hook.wait(`/${target}`, name);
        const url = target === 'rp' ? `${server.url}/api/v2/alerts` : `${(am as { url: string }).url}/api/v2/alerts`;
        await post(url, ADMIN_TOKEN, [
          { labels: { alertname: name, severity: 'page' }, annotations: { summary: 'bench' } },
        ]);
        return (await arrived) - t0;
      };
      for (let i = -5; i < POSTS; i++) {
        // Alternate which server goes first, so neither always runs on a quieter machine.
        const order: ('rp' | 'am')[] = i % 2 === 0 ? ['rp', 'am'] : ['am', 'rp'];
        for (const target of order) {
          const v = await one(target, `Bench${target}${i + 5}`);
          if (i >= 0) (target === 'rp' ? rp : amSamples).push(v);
          await sleep(10 + Math.random() * 20);
        }
      }
      const a = stats(rp);
      const b = stats(amSamples);
      console.log(
        `alerting POST /api/v2/alerts->webhook ReskPoints: p50=${ms(a.p50)} ms p99=${ms(a.p99)} ms max=${ms(a.max)} ms n=${a.n}`,
      );
      console.log(
        `alerting POST /api/v2/alerts->webhook Alertmanager 0.25 (Debian): p50=${ms(b.p50)} ms p99=${ms(b.p99)} ms max=${ms(b.max)} ms n=${b.n}`,
      );
      console.log(
        `alerting POST /api/v2/alerts->webhook ratio ReskPoints/Alertmanager: p50=${(a.p50 / b.p50).toFixed(2)} p99=${(a.p99 / b.p99).toFixed(2)}`,
      );
    }
  } finally {
    am?.proc.kill('SIGTERM');
    await server.stop();
    hook.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const METRICS = [
  'costUsd',
  'requests',
  'requestRatePerSecond',
  'errors',
  'errorRate',
  'totalTokens',
  'inputTokens',
  'outputTokens',
  'latencyP50Ms',
  'latencyP95Ms',
  'latencyP99Ms',
  'ttftP95Ms',
] as const;
const PROJECTS = ['prj_checkout', 'prj_search', 'prj_support', 'prj_docs', 'prj_internal'];
const GROUPINGS = [[], ['model'], ['provider'], ['environment'], ['model', 'environment']];
const WINDOWS = ['5m', '15m', '1h'];
const ENVIRONMENTS = [null, 'production', 'staging'];

/** `n` distinct threshold rules over the data set's projects, environments, groupings, windows and metrics. */
function benchRules(n: number): Rule[] {
  const out: Rule[] = [];
  for (let i = 0; i < n; i++) {
    const metric = METRICS[i % METRICS.length] as string;
    const project = PROJECTS[Math.floor(i / METRICS.length) % PROJECTS.length] as string;
    const env = ENVIRONMENTS[Math.floor(i / 60) % ENVIRONMENTS.length];
    const groupBy = GROUPINGS[Math.floor(i / 180) % GROUPINGS.length] as string[];
    const window = WINDOWS[Math.floor(i / 900) % WINDOWS.length] as string;
    const r = checkRule({
      name: `bench-${i}`,
      metric,
      window,
      groupBy,
      filter: { projectIds: [project], ...(env ? { environments: [env] } : {}) },
      // Thresholds spread so that some rules fire and most do not.
      threshold: { op: '>', value: i % 97 === 0 ? 0 : 1e12 },
      interval: '1m',
    });
    if (!r.ok) throw new Error(`bench rule ${i}: ${JSON.stringify(r.issues)}`);
    out.push(r.rule);
  }
  return out;
}

async function evaluation(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-bench-alerting-eval-'));
  const store = await DuckDbTelemetryStore.open({ path: join(dir, 'telemetry.duckdb') });
  const stateRaw = await DuckDbDatabase.open({ path: ':memory:', readers: 2 });
  const state = new DuckDbSqlDatabase(stateRaw);
  try {
    await store.migrate();
    const endMs = Date.now();
    const set: CallSet = { totalCalls: CALLS, endMs, spanDays: 7 };
    const t0 = performance.now();
    await loadCalls(store, set, 20_000, () => undefined);
    await store.compact();
    const loadS = (performance.now() - t0) / 1000;
    await migrateForTest(state, [alertingModule]);
    const config = alertingConfigSchema.parse({
      route: { receiver: 'default', groupBy: ['alertname'], groupWait: 0 },
    });
    const compiled = compilePipeline(config);
    if (!compiled.ok) throw new Error(compiled.error.join('; '));
    const rules = benchRules(RULES);
    let queries = 0;
    let summaryMs = 0;
    const distinct = new Set<string>();
    const engine = new AlertingEngine({
      db: state,
      repo: new AlertingRepo(),
      clock: { nowMs: () => Date.now() } as never,
      logger: pino({ level: 'silent' }),
      summarize: (q: SummaryQuery) => {
        queries++;
        distinct.add(JSON.stringify(q));
        const s0 = performance.now();
        return store.summarize(q).finally(() => {
          summaryMs += performance.now() - s0;
        });
      },
      rules: () => rules,
      pipeline: () => compiled.value,
      receivers: () => [],
      delivery: () => config.delivery,
      externalUrl: () => '',
    });
    const fence = { name: 'leader', token: 1 };
    const passes: number[] = [];
    for (let run = 0; run < 3; run++) {
      engine.noteCommit();
      const p0 = performance.now();
      await engine.pass(fence, Date.now());
      passes.push(performance.now() - p0);
    }
    const firing = [...engine.currentRuleStates().values()].reduce((n, l) => n + l.length, 0);
    console.log(
      `alerting evaluate ${RULES} threshold rules (one pass, ${CALLS} calls over 7 days, DuckDB, loaded in ${loadS.toFixed(0)} s): ` +
        `first=${(passes[0] as number).toFixed(0)} ms then=${passes
          .slice(1)
          .map((p) => p.toFixed(0))
          .join(
            '/',
          )} ms summary_queries_per_pass=${queries / passes.length} in_summaries=${(summaryMs / passes.length).toFixed(0)} ms series_active=${firing}`,
    );
  } finally {
    await stateRaw.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(
  `alerting host cpus=${availableParallelism()} loadavg_1m=${loadavg()[0]?.toFixed(1)} (other processes share the machine)`,
);
if (ONLY.has('a') || ONLY.has('b')) await latencies();
if (ONLY.has('c')) await evaluation();
