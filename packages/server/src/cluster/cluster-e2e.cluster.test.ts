/**
 * The cluster as it is deployed: two ingest nodes, one worker and one API node, each a
 * process of the built CLI, against ClickHouse, PostgreSQL and NATS JetStream on loopback
 * (scripts/cluster-services.sh starts them; `npm run test:cluster` builds dist/ first).
 *
 * Traffic goes through both ingest nodes (the OpenTelemetry SDK's OTLP/protobuf exporter
 * and native batches); one ingest node and the worker are killed with SIGKILL while it
 * flows, the worker is restarted, clients retry through the surviving node. Afterwards
 * every acknowledged event must be stored exactly once.
 *
 * Every run gets its own ClickHouse database, PostgreSQL database and JetStream stream, all
 * removed afterwards, so runs never see each other's data.
 */
import { rmSync } from 'node:fs';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { randomHex } from '@reskpoints/core';
import { connect as connectNats } from 'nats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsIngestBus } from '../store/nats/nats-ingest-bus.js';
import { ADMIN_TOKEN, type ChildServer, createProject, spawnServer, tempDir } from '../test-support/harness.js';

const CLICKHOUSE_URL = 'http://127.0.0.1:8123';
const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = 'nats://127.0.0.1:4222';
/** Short, so batches the killed worker held are redelivered within the test, not after a minute. */
const ACK_WAIT_MS = 5_000;
const CATCH_UP_TIMEOUT_MS = 90_000;

const run = randomHex(6);
const database = `rp_e2e_${run}`;
const stream = `RP_E2E_${run.toUpperCase()}`;
const postgresUrl = `postgres://postgres@127.0.0.1:5432/${database}`;

const clusterEnv: Record<string, string> = {
  RESKPOINTS_CLICKHOUSE__URL: CLICKHOUSE_URL,
  RESKPOINTS_CLICKHOUSE__DATABASE: database,
  RESKPOINTS_POSTGRES__URL: postgresUrl,
  RESKPOINTS_NATS__URL: NATS_URL,
  RESKPOINTS_NATS__STREAM: stream,
  RESKPOINTS_NATS__ACK_WAIT_MS: String(ACK_WAIT_MS),
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function clickhouse(sql: string): Promise<string> {
  const res = await fetch(`${CLICKHOUSE_URL}/`, { method: 'POST', body: sql, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`ClickHouse ${res.status} for ${sql.slice(0, 80)}…: ${text}`);
  return text;
}

async function clickhouseRows<T>(sql: string): Promise<T[]> {
  const text = await clickhouse(`${sql} FORMAT JSONEachRow`);
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

async function postgresAdmin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end();
  }
}

/** Which events the cluster acknowledged, and every id ever sent. */
class Ledger {
  readonly acked = new Set<string>();
  readonly sent = new Set<string>();
  ackedBatches = 0;
  failedBatches = 0;

  markSent(ids: readonly string[]): void {
    for (const id of ids) this.sent.add(id);
  }
  markAcked(ids: readonly string[]): void {
    this.ackedBatches++;
    for (const id of ids) this.acked.add(id);
  }
}

const MODELS = [
  ['openai', 'gpt-4o'],
  ['openai', 'gpt-4o-mini'],
  ['anthropic', 'claude-sonnet-4'],
  ['google', 'gemini-2.0-flash'],
] as const;

interface NativeBatch {
  ids: string[];
  body: string;
}

let nativeSeq = 0;
function nativeBatch(size: number): NativeBatch {
  const now = Date.now();
  const events = Array.from({ length: size }, () => {
    const n = nativeSeq++;
    const [provider, model] = MODELS[n % MODELS.length] as (typeof MODELS)[number];
    return {
      id: `native-${run}-${n}`,
      timestamp: now - (n % 1000),
      provider,
      model,
      operation: 'chat',
      latencyMs: 100 + (n % 900),
      usage: { inputTokens: 100 + (n % 400), outputTokens: 20 + (n % 80) },
      userId: `user-${n % 50}`,
    };
  });
  return { ids: events.map((e) => e.id), body: JSON.stringify({ batch: events }) };
}

/** POSTs a native batch; 2xx is the acknowledgement, anything else (or no answer) is not. */
async function postNative(url: string, key: string, batch: NativeBatch): Promise<number> {
  try {
    const res = await fetch(`${url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: batch.body,
      signal: AbortSignal.timeout(15_000),
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

type ExportCallback = Parameters<SpanExporter['export']>[1];

/** The OTLP exporter with its outcome recorded: a span counts as acknowledged once its export succeeded. */
class RecordingExporter implements SpanExporter {
  readonly failed: ReadableSpan[] = [];
  readonly succeeded: ReadableSpan[] = [];
  constructor(
    private readonly inner: SpanExporter,
    private readonly ledger: Ledger,
  ) {}

  export(spans: ReadableSpan[], resultCallback: ExportCallback): void {
    const ids = spans.map(llmCallId);
    this.ledger.markSent(ids);
    this.inner.export(spans, (result) => {
      // ExportResultCode.SUCCESS is 0.
      if (result.code === 0) {
        this.ledger.markAcked(ids);
        this.succeeded.push(...spans);
      } else {
        this.ledger.failedBatches++;
        this.failed.push(...spans);
      }
      resultCallback(result);
    });
  }

  /** One direct export, resolved with whether it succeeded. */
  exportNow(spans: ReadableSpan[]): Promise<boolean> {
    return new Promise((r) => this.export(spans, (result) => r(result.code === 0)));
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** OTLP GenAI spans are stored as LLM calls whose id is the trace id followed by the span id. */
function llmCallId(span: ReadableSpan): string {
  const c = span.spanContext();
  return c.traceId + c.spanId;
}

function otlpClient(url: string, key: string, ledger: Ledger) {
  const exporter = new RecordingExporter(
    new OTLPTraceExporter({
      url: `${url}/v1/traces`,
      headers: { Authorization: `Bearer ${key}` },
      timeoutMillis: 4_000,
    }),
    ledger,
  );
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'cluster-e2e' }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: 20_000,
        maxExportBatchSize: 100,
        scheduledDelayMillis: 100,
        exportTimeoutMillis: 8_000,
      }),
    ],
  });
  const tracer = provider.getTracer('cluster-e2e');
  let n = 0;
  return {
    exporter,
    provider,
    /** Ends `count` GenAI chat spans; the batch processor exports them. */
    emit(count: number) {
      for (let i = 0; i < count; i++, n++) {
        const [provider, model] = MODELS[n % MODELS.length] as (typeof MODELS)[number];
        const start = Date.now() - 500;
        const span = tracer.startSpan(`chat ${model}`, {
          kind: SpanKind.CLIENT,
          startTime: start,
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': provider,
            'gen_ai.request.model': model,
            'gen_ai.usage.input_tokens': 200 + (n % 300),
            'gen_ai.usage.output_tokens': 30 + (n % 70),
            'user.id': `otel-user-${n % 20}`,
          },
        });
        span.end(start + 50 + (n % 400));
      }
    },
  };
}

interface ClusterNodes {
  ingestA: ChildServer;
  ingestB: ChildServer;
  worker: ChildServer;
  api: ChildServer;
}

describe('cluster: 2 ingest nodes, worker, API node as processes', () => {
  const children = new Set<ChildServer>();
  const dirs: string[] = [];
  let nodes: ClusterNodes;
  let databaseCreated = false;

  const startNode = async (role: 'ingest' | 'worker' | 'api'): Promise<ChildServer> => {
    const dir = tempDir(`reskpoints-e2e-${role}-`);
    dirs.push(dir);
    const child = await spawnServer(dir, [], { ...clusterEnv, RESKPOINTS_ROLE: role }).catch((e: Error) => {
      throw new Error(`the ${role} node did not start: ${e.message}`);
    });
    children.add(child);
    return child;
  };

  beforeAll(async () => {
    await postgresAdmin((c) => c.query(`CREATE DATABASE ${database}`));
    databaseCreated = true;
    // The API node first: it runs the migrations, so the others find the schema in place.
    const api = await startNode('api');
    const [ingestA, ingestB, worker] = await Promise.all([
      startNode('ingest'),
      startNode('ingest'),
      startNode('worker'),
    ]);
    nodes = { ingestA, ingestB, worker, api };
    // The store dedups on append and ReplacingMergeTree would also fold duplicates away in
    // background merges, so every row ever inserted is copied to a plain MergeTree table:
    // a duplicate insert stays visible there whatever merges do.
    await clickhouse(
      `CREATE TABLE ${database}.e2e_inserted (project_id String, id String) ENGINE = MergeTree ORDER BY id`,
    );
    await clickhouse(
      `CREATE MATERIALIZED VIEW ${database}.e2e_inserted_mv TO ${database}.e2e_inserted AS SELECT project_id, id FROM ${database}.llm_calls`,
    );
  });

  afterAll(async () => {
    await Promise.all(
      [...children].map(async (c) => {
        if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
        const stopped = await Promise.race([c.stop().then(() => true), sleep(5_000).then(() => false)]);
        if (!stopped) await c.kill9();
      }),
    );
    const steps: Array<[string, () => Promise<unknown>]> = [
      ['drop ClickHouse database', () => clickhouse(`DROP DATABASE IF EXISTS ${database}`)],
      [
        'drop PostgreSQL database',
        async () =>
          databaseCreated && postgresAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)),
      ],
      [
        'delete JetStream stream',
        async () => {
          const bus = await NatsIngestBus.connect({ servers: NATS_URL, stream });
          await bus.destroyStream();
          await bus.close();
        },
      ],
    ];
    for (const [what, step] of steps) {
      await step().catch((e) => console.warn(`cluster e2e cleanup: ${what} failed: ${e}`));
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('stores every acknowledged event exactly once across SIGKILLs of an ingest node and the worker', async () => {
    const { key, projectId } = await createProject(nodes.api.url, `e2e-${run}`);
    const testStartMs = Date.now();
    const ledger = new Ledger();
    const unacked: NativeBatch[] = [];
    const ackedViaA: NativeBatch[] = [];

    // Native senders: two per ingest node, each one request at a time.
    const live = { a: true, b: true };
    const nativeLoop = async (node: 'a' | 'b') => {
      const url = node === 'a' ? nodes.ingestA.url : nodes.ingestB.url;
      while (live[node]) {
        const batch = nativeBatch(40);
        ledger.markSent(batch.ids);
        const status = await postNative(url, key, batch);
        if (status >= 200 && status < 300) {
          ledger.markAcked(batch.ids);
          if (node === 'a') ackedViaA.push(batch);
        } else {
          ledger.failedBatches++;
          unacked.push(batch);
          if (status === 429 || status === 503) await sleep(100);
        }
        await sleep(30);
      }
    };
    const otlpA = otlpClient(nodes.ingestA.url, key, ledger);
    const otlpB = otlpClient(nodes.ingestB.url, key, ledger);
    const spanLoop = async () => {
      while (live.b) {
        if (live.a) otlpA.emit(15);
        otlpB.emit(15);
        await sleep(50);
      }
    };
    const senders = [nativeLoop('a'), nativeLoop('a'), nativeLoop('b'), nativeLoop('b'), spanLoop()];

    await sleep(3_000);
    expect(ledger.acked.size, 'nothing was acknowledged before the kills').toBeGreaterThan(0);
    const ackedBeforeKills = ledger.acked.size;
    const heldByKilledWorker = await killWhileHoldingBatches(nodes.worker);
    await sleep(500);
    await nodes.ingestA.kill9();
    live.a = false;
    // The surviving ingest node keeps acknowledging while no worker runs: JetStream holds the batches.
    await sleep(2_500);
    const ackedWhileWorkerDown = ledger.acked.size;
    expect(ackedWhileWorkerDown, 'ingest node B stopped acknowledging after the kills').toBeGreaterThan(
      ackedBeforeKills,
    );
    nodes.worker = await startNode('worker');
    await sleep(2_500);
    live.b = false;
    await Promise.all(senders);
    // A's exporter can no longer reach anything: whatever it still holds fails (not acknowledged).
    await otlpA.provider.shutdown();
    await otlpB.provider.forceFlush();

    // Clients retry through the surviving node: every batch without an answer...
    const retry = new RecordingExporter(
      new OTLPTraceExporter({ url: `${nodes.ingestB.url}/v1/traces`, headers: { Authorization: `Bearer ${key}` } }),
      ledger,
    );
    const unansweredSpans = [...otlpA.exporter.failed, ...otlpB.exporter.failed];
    for (let i = 0; i < unansweredSpans.length; i += 100) {
      expect(await retry.exportNow(unansweredSpans.slice(i, i + 100)), 'retried OTLP export failed').toBe(true);
    }
    for (const batch of unacked.splice(0)) {
      expect(await postNative(nodes.ingestB.url, key, batch), 'retried native batch was refused').toBe(200);
      ledger.markAcked(batch.ids);
    }
    // ...and batches that node A did acknowledge are sent again through node B (a client that
    // timed out after the store had the batch, retrying elsewhere): none may be stored twice.
    const resentNative = ackedViaA.slice(0, 20);
    expect(resentNative.length, 'node A acknowledged no native batch').toBeGreaterThan(0);
    for (const batch of resentNative) expect(await postNative(nodes.ingestB.url, key, batch)).toBe(200);
    const resentSpans = otlpA.exporter.succeeded.slice(0, 300);
    expect(resentSpans.length, 'node A acknowledged no OTLP export').toBeGreaterThan(0);
    expect(await retry.exportNow(resentSpans), 'OTLP re-export through node B failed').toBe(true);
    await otlpB.provider.shutdown();
    await retry.shutdown();

    // Catch-up: the stream is a work queue, so it is empty once the worker acked everything.
    const bus = await NatsIngestBus.connect({ servers: NATS_URL, stream });
    try {
      const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
      let pending = await bus.pendingMessages();
      while (pending > 0) {
        if (Date.now() > deadline) {
          throw new Error(
            `the worker did not catch up within ${CATCH_UP_TIMEOUT_MS} ms: ${pending} batches still in ${stream}\n` +
              `worker output:\n${nodes.worker.output().slice(-4000)}`,
          );
        }
        await sleep(250);
        pending = await bus.pendingMessages();
      }
    } finally {
      await bus.close();
    }

    const { acked, sent } = ledger;
    expect(acked.size, 'too little traffic was acknowledged to mean anything').toBeGreaterThan(2_000);

    // Directly in ClickHouse: every row ever inserted (the audit copy) — no id twice.
    const [inserted] = await clickhouseRows<{ rows: string; ids: string }>(
      `SELECT count() AS rows, uniqExact(project_id, id) AS ids FROM ${database}.e2e_inserted`,
    );
    const twice = await clickhouseRows<{ id: string; n: string }>(
      `SELECT id, count() AS n FROM ${database}.e2e_inserted GROUP BY id HAVING n > 1 LIMIT 10`,
    );
    expect(twice, 'events inserted more than once').toEqual([]);
    expect(Number(inserted?.rows)).toBe(Number(inserted?.ids));
    const stored = new Set(
      (
        await clickhouseRows<{ id: string }>(`SELECT id FROM ${database}.llm_calls WHERE project_id = '${projectId}'`)
      ).map((r) => r.id),
    );
    const missing = [...acked].filter((id) => !stored.has(id));
    expect(missing.length, `acknowledged events missing from ClickHouse, e.g. ${missing.slice(0, 5).join(', ')}`).toBe(
      0,
    );
    const unknown = [...stored].filter((id) => !sent.has(id));
    expect(unknown.length, `stored events that were never sent, e.g. ${unknown.slice(0, 5).join(', ')}`).toBe(0);

    // Through the API node: the listing and the summary agree with what ClickHouse holds.
    const listed = await listCallIds(nodes.api.url, testStartMs - 3_600_000, Date.now() + 3_600_000);
    expect(listed.total, 'the API listed an event twice').toBe(listed.ids.size);
    expect(listed.ids.size).toBe(stored.size);
    for (const id of acked)
      if (!listed.ids.has(id)) throw new Error(`acknowledged event ${id} is not listed by the API`);
    const summary = await apiGet<{ rows: Array<{ requests: number }> }>(
      nodes.api.url,
      `/api/v1/llm/summary?from=${testStartMs - 3_600_000}&to=${Date.now() + 3_600_000}&groupBy=project`,
    );
    expect(summary.rows.reduce((s, r) => s + r.requests, 0)).toBe(stored.size);
    console.info(
      `cluster e2e: sent=${sent.size} acknowledged=${acked.size} stored=${stored.size} ` +
        `acked_batches=${ledger.ackedBatches} failed_batches=${ledger.failedBatches} ` +
        `acked_while_worker_down=${ackedWhileWorkerDown - ackedBeforeKills} batches_held_by_killed_worker=${heldByKilledWorker}`,
    );
  }, 240_000);
});

/**
 * SIGKILLs the worker at a moment it has pulled batches and not acked them yet (it is
 * appending them, or has appended and not acked), so they must come back by redelivery.
 * Returns how many batches the dead worker left unacked; 0 when it never held any within
 * the time allowed (it is killed anyway).
 */
async function killWhileHoldingBatches(worker: ChildServer): Promise<number> {
  const nc = await connectNats({ servers: NATS_URL });
  try {
    const jsm = await nc.jetstreamManager();
    const held = async () => (await jsm.consumers.info(stream, 'workers')).num_ack_pending;
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (await held()) === 0) {
      // Poll as fast as the answers come: an append holds its batches for milliseconds.
    }
    await worker.kill9();
    return await held();
  } finally {
    await nc.close();
  }
}

async function apiGet<T>(url: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function listCallIds(url: string, fromMs: number, toMs: number): Promise<{ total: number; ids: Set<string> }> {
  const ids = new Set<string>();
  let total = 0;
  let cursor: string | null = null;
  do {
    const page: { items: Array<{ id: string }>; nextCursor: string | null } = await apiGet(
      url,
      `/api/v1/llm/calls?from=${fromMs}&to=${toMs}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    total += page.items.length;
    for (const c of page.items) ids.add(c.id);
    cursor = page.nextCursor;
  } while (cursor);
  return { total, ids };
}
