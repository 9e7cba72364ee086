/**
 * The detect module end to end: demo-like traffic for two projects with one injected cost spike
 * yields one cost anomaly for the right project and model, a minute after the spike's bucket
 * ends; anomalies and per-series detector state survive a restart. The anomaly reaches
 * WebSocket clients and fires an alert rule of kind `signal`. Series named by API are
 * validated, evaluated on schedule (one detector per group) and deleted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCli } from '../cli/program.js';
import { ADMIN_TOKEN, startTestServer, type TestServer, tempDir } from '../test-support/harness.js';
import { gaussian, seededRandom } from './synthetic.js';

const MINUTE_MS = 60_000;
const T0 = Date.UTC(2026, 10, 30, 8);

interface NativeCall {
  id: string;
  timestamp: string;
  provider: string;
  model: string;
  latencyMs: number;
  costUsd: number;
  usage: { inputTokens: number; outputTokens: number };
}

/** Three gpt-4o calls a minute per project, about $0.0045 each; `spikeAt` minutes have 20 times the input (about $0.05 a call). */
function traffic(projectTag: string, fromMinute: number, toMinute: number, spikeAt: Set<number>, seed: number) {
  const noise = gaussian(seededRandom(seed));
  const calls: NativeCall[] = [];
  for (let m = fromMinute; m < toMinute; m++) {
    for (let k = 0; k < 3; k++) {
      const cost = Math.max(0.001, 0.01 + 0.002 * noise());
      calls.push({
        id: `${projectTag}-${m}-${k}`,
        timestamp: new Date(T0 + m * MINUTE_MS + k * 15_000).toISOString(),
        provider: 'openai',
        model: 'gpt-4o',
        latencyMs: Math.round(500 + 50 * noise()),
        costUsd: spikeAt.has(m) ? cost * 20 : cost,
        // The cost that counts is the one computed from usage: a spike is 20 times the input.
        usage: {
          inputTokens: Math.round(Math.max(100, 1000 + 200 * noise()) * (spikeAt.has(m) ? 20 : 1)),
          outputTokens: Math.round(Math.max(20, 200 + 40 * noise())),
        },
      });
    }
  }
  return calls;
}

async function ingest(s: TestServer, key: string, calls: NativeCall[]) {
  for (let i = 0; i < calls.length; i += 500) {
    const res = await fetch(`${s.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: calls.slice(i, i + 500) }),
    });
    expect(res.status).toBe(200);
  }
}

async function get(s: TestServer, path: string, token = ADMIN_TOKEN) {
  const res = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function send(s: TestServer, method: string, path: string, body?: unknown) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, any> };
}

/** An HTTP endpoint that records the webhook notifications it receives. */
async function recorder() {
  const received: any[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => server.close(),
  };
}

/** A WebSocket client of /api/v1/events, resolved once the server said hello. */
function subscribe(url: string): Promise<{ ws: WebSocket; messages: any[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: any[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.topic === 'hello') resolve({ ws, messages });
      else messages.push(m);
    });
    ws.on('error', reject);
  });
}

async function until(check: () => boolean, tick?: () => Promise<void>): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await tick?.();
    if (!check()) await new Promise((r) => setTimeout(r, 20));
  }
}

describe('detect module', () => {
  let server: TestServer | null = null;
  const dataDir = tempDir('reskpoints-detect-');
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  it('finds an injected cost spike for the right project and model, and keeps its state across a restart', async () => {
    const clock = new FakeClock(T0);
    server = await startTestServer({ dataDir }, { clock });
    const a = await server.createProject('Checkout', 'prj_checkout');
    const b = await server.createProject('Search', 'prj_search');
    await server.app.tickJobs(); // fixes the processor's starting point

    const SPIKE = 200;
    const feed = async (from: number, to: number, spikes: number[] = []) => {
      await ingest(server!, a.key, traffic('a', from, to, new Set(spikes), 1 + from));
      await ingest(server!, b.key, traffic('b', from, to, new Set(), 1000 + from));
      await server!.app.tickJobs();
    };
    for (let m = 0; m < SPIKE; m += 50) await feed(m, m + 50);
    // The spike minute and the next: its bucket is not closed yet (closes a minute after its end).
    await feed(SPIKE, SPIKE + 2, [SPIKE]);
    expect((await get(server, '/api/v1/anomalies?metric=costUsd')).body['anomalies']).toEqual([]);
    // One more minute of traffic moves the watermark a minute past the spike bucket's end.
    await feed(SPIKE + 2, SPIKE + 3);
    const found = (await get(server, '/api/v1/anomalies?metric=costUsd')).body['anomalies'] as any[];
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      projectId: 'prj_checkout',
      model: 'gpt-4o',
      metric: 'costUsd',
      bucketStartMs: T0 + SPIKE * MINUTE_MS,
    });
    expect(found[0].value).toBeGreaterThan(0.1);
    expect(found[0].expected).toBeLessThan(0.03);
    expect(found[0].upper).toBeLessThan(found[0].value);
    expect(found[0].score).toBeGreaterThanOrEqual(0.99);
    expect(found[0].explanation.fired.length).toBeGreaterThan(0);

    // The CLI lists it.
    const out: string[] = [];
    const cli = await runCli(
      ['anomalies', 'list', '--url', server.url, '--token', ADMIN_TOKEN, '--metric', 'costUsd'],
      {
        stdout: { write: (t: string) => void out.push(t) },
        stderr: { write: (t: string) => void out.push(t) },
        env: {},
        cwd: process.cwd(),
        clock,
        fetch: globalThis.fetch,
        onSignal: () => {},
        exit: () => {},
      },
    );
    expect(cli.exitCode).toBe(0);
    expect(out.join('')).toMatch(/prj_checkout\s+gpt-4o\s+costUsd/);
    // Narrowed by model and series.
    const cliOut = async (...extra: string[]) => {
      const lines: string[] = [];
      const r = await runCli(['anomalies', 'list', '--url', server!.url, '--token', ADMIN_TOKEN, ...extra], {
        stdout: { write: (t: string) => void lines.push(t) },
        stderr: { write: (t: string) => void lines.push(t) },
        env: {},
        cwd: process.cwd(),
        clock,
        fetch: globalThis.fetch,
        onSignal: () => {},
        exit: () => {},
      });
      expect(r.exitCode).toBe(0);
      return lines.join('');
    };
    expect(await cliOut('--model', 'gpt-4o-mini')).toMatch(/No anomalies found/);
    expect(await cliOut('--series', 'costUsd|prj_checkout|gpt-4o')).toMatch(/prj_checkout\s+gpt-4o\s+costUsd/);
    expect(await cliOut('--series', 'costUsd|prj_search|gpt-4o')).toMatch(/No anomalies found/);

    // A project key sees its own project only.
    expect(
      (await get(server, '/api/v1/anomalies', b.key)).body['anomalies'].filter((x: any) => x.metric === 'costUsd'),
    ).toEqual([]);
    expect((await get(server, '/api/v1/anomalies?projectId=prj_checkout', b.key)).status).toBe(403);

    const series = (await get(server, '/api/v1/anomalies/series')).body;
    // Two projects × five metrics (these calls report no time to first token).
    expect(series).toMatchObject({ trackedSeries: 10, maxSeries: 10_000, refusedCalls: 0 });

    // Restart on the same data: the anomaly is still there and the detectors keep their
    // learned state, so a second spike is caught at once (fresh detectors would still be
    // warming up).
    await server.app.close(); // not stop(): that also deletes the data directory
    server = await startTestServer({ dataDir }, { clock });
    expect((await get(server, '/api/v1/anomalies?metric=costUsd')).body['anomalies']).toHaveLength(1);
    await feed(SPIKE + 3, SPIKE + 115, [SPIKE + 110]); // after the first anomaly's 100-bucket rest
    const after = (await get(server, '/api/v1/anomalies?metric=costUsd&projectId=prj_checkout')).body[
      'anomalies'
    ] as any[];
    expect(after.map((x) => (x.bucketStartMs - T0) / MINUTE_MS)).toEqual([SPIKE + 110, SPIKE]);
  }, 120_000);

  it('an injected cost spike in live traffic is one anomaly within a minute, on the WebSocket, and fires a signal rule', async () => {
    const hook = await recorder();
    const clock = new FakeClock(T0);
    server = await startTestServer(
      {
        dataDir: tempDir('reskpoints-detect-alert-'),
        // An acknowledgement is a commit here, so the jobs ticked after a feed see what it sent
        // (with the acknowledgement log a busy machine may answer before the commit).
        ingest: { ackLog: false },
        alerting: {
          rules: [
            {
              name: 'CostAnomaly',
              signal: { source: 'anomaly', matchers: ['metric="costUsd"'], minValue: 0.9 },
              labels: { severity: 'page' },
            },
          ],
          route: { receiver: 'hook', groupBy: ['alertname', 'project'], groupWait: 0, groupInterval: '1m' },
          receivers: [{ name: 'hook', webhook: { url: hook.url } }],
        },
      },
      { clock },
    );
    try {
      const a = await server.createProject('Checkout', 'prj_checkout');
      const b = await server.createProject('Search', 'prj_search');
      await server.app.tickJobs();
      const events = await subscribe(
        `${server.url.replace('http', 'ws')}/api/v1/events?topics=anomalies&token=${ADMIN_TOKEN}`,
      );
      const projectEvents = await subscribe(
        `${server.url.replace('http', 'ws')}/api/v1/events?topics=anomalies&token=${b.key}`,
      );

      // Live traffic: the clock follows event time, a few seconds behind the last call.
      const SPIKE = 200;
      const feed = async (from: number, to: number, spikes: number[] = []) => {
        await ingest(server!, a.key, traffic('a', from, to, new Set(spikes), 7 + from));
        await ingest(server!, b.key, traffic('b', from, to, new Set(), 2000 + from));
        clock.set(T0 + (to - 1) * MINUTE_MS + 50_000);
        // Two scheduler ticks at the same instant (the timer ticks every second): a job woken by
        // a commit while it ran gets its rerun before the clock moves on.
        await server!.app.tickJobs();
        await server!.app.tickJobs();
      };
      for (let m = 0; m < SPIKE; m += 50) await feed(m, m + 50);
      let detectedAtMs = Number.NaN;
      for (let m = SPIKE; m < SPIKE + 5 && Number.isNaN(detectedAtMs); m++) {
        await feed(m, m + 1, m === SPIKE ? [SPIKE] : []);
        const found = (await get(server, '/api/v1/anomalies?metric=costUsd')).body['anomalies'] as any[];
        if (found.length > 0) detectedAtMs = found[0].detectedAtMs;
      }
      // The spike's calls had 20 times the input: one cost anomaly and one token anomaly, both
      // for that project and model and that minute, nothing anywhere else.
      const all = (await get(server, '/api/v1/anomalies')).body['anomalies'] as any[];
      expect(all.map((x) => [x.metric, x.projectId, x.model, (x.bucketStartMs - T0) / MINUTE_MS]).sort()).toEqual([
        ['costUsd', 'prj_checkout', 'gpt-4o', SPIKE],
        ['totalTokens', 'prj_checkout', 'gpt-4o', SPIKE],
      ]);
      const found = all.filter((x) => x.metric === 'costUsd');
      expect(found[0]).toMatchObject({
        projectId: 'prj_checkout',
        model: 'gpt-4o',
        metric: 'costUsd',
        series: 'costUsd|prj_checkout|gpt-4o',
        bucketStartMs: T0 + SPIKE * MINUTE_MS,
      });
      // Found within a minute of the spike bucket's end (its calls' event time + one bucket).
      expect(detectedAtMs - (T0 + (SPIKE + 1) * MINUTE_MS)).toBeLessThanOrEqual(MINUTE_MS);

      // Filters by model and bucket range.
      const q = (p: string) => get(server!, `/api/v1/anomalies?${p}`).then((r) => r.body['anomalies'] as any[]);
      expect(await q('model=gpt-4o&metric=costUsd')).toHaveLength(1);
      expect(await q('model=gpt-4o-mini')).toEqual([]);
      expect(await q(`toMs=${T0 + SPIKE * MINUTE_MS}`)).toEqual([]);
      expect(await q(`fromMs=${T0 + SPIKE * MINUTE_MS}&toMs=${T0 + (SPIKE + 1) * MINUTE_MS}`)).toHaveLength(2);

      // The series around it, for a chart: the spike bucket holds the anomaly's value.
      const context = await get(
        server,
        `/api/v1/anomalies/context?id=${encodeURIComponent(found[0].id)}&before=30&after=10`,
      );
      expect(context.status).toBe(200);
      expect(context.body['anomaly']).toEqual(found[0]);
      const ctxSeries = context.body['series'];
      expect(ctxSeries).toMatchObject({ intervalMs: MINUTE_MS, fromMs: T0 + (SPIKE - 30) * MINUTE_MS });
      const points = ctxSeries.points as { bucketStartMs: number; value: number }[];
      expect(points[0]!.bucketStartMs).toBe(T0 + (SPIKE - 30) * MINUTE_MS);
      const at = points.find((p) => p.bucketStartMs === found[0].bucketStartMs)!;
      expect(at.value).toBeCloseTo(found[0].value, 9);
      expect(points.filter((p) => p.value > found[0].upper)).toEqual([at]);
      expect(points.every((p, i) => i === 0 || p.bucketStartMs - points[i - 1]!.bucketStartMs === MINUTE_MS)).toBe(
        true,
      );
      expect((await get(server, '/api/v1/anomalies/context?id=nope')).status).toBe(404);
      expect((await get(server, `/api/v1/anomalies/context?id=${encodeURIComponent(found[0].id)}`, b.key)).status).toBe(
        404,
      );
      expect((await get(server, `/api/v1/anomalies/context?id=x&before=-1`)).status).toBe(400);

      // Live: the admin client gets it; the other project's client does not.
      await until(() => events.messages.length >= 2);
      expect(events.messages).toHaveLength(2);
      expect(events.messages.find((m) => m.data.metric === 'costUsd')).toMatchObject({
        topic: 'anomalies',
        projectId: 'prj_checkout',
        data: { id: found[0].id, metric: 'costUsd', model: 'gpt-4o' },
      });
      expect(projectEvents.messages).toEqual([]);
      events.ws.close();
      projectEvents.ws.close();

      // The signal rule fires for that project and model, and the webhook hears of it.
      await until(
        () => hook.received.length > 0,
        () => server!.app.tickJobs(),
      );
      expect(hook.received).toHaveLength(1);
      expect(hook.received[0]).toMatchObject({ status: 'firing' });
      expect(hook.received[0].alerts).toHaveLength(1);
      expect(hook.received[0].alerts[0].labels).toMatchObject({
        alertname: 'CostAnomaly',
        project: 'prj_checkout',
        model: 'gpt-4o',
        metric: 'costUsd',
        severity: 'page',
      });
      const alerts = (await get(server, '/api/v1/alerts')).body['alerts'] as any[];
      expect(alerts.map((x) => [x.status, x.labels.project])).toEqual([['firing', 'prj_checkout']]);

      // Tracked series are reported to Prometheus too.
      const metrics = await (
        await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      ).text();
      expect(metrics).toMatch(/^reskpoints_detect_tracked_series 10$/m);
      expect(metrics).toMatch(/^reskpoints_detect_max_series 10000$/m);
    } finally {
      hook.close();
    }
  }, 120_000);

  it('watches a series named by API: validation, one detector per group, anomalies, listing and deletion', async () => {
    const clock = new FakeClock(T0);
    server = await startTestServer({ dataDir: tempDir('reskpoints-detect-user-') }, { clock });
    const a = await server.createProject('Checkout', 'prj_checkout');
    const b = await server.createProject('Search', 'prj_search');

    // Bad definitions are refused with the field at fault.
    const bad = await send(server, 'POST', '/api/v1/anomalies/series', { name: 'x', metric: 'dollars' });
    expect(bad.status).toBe(400);
    expect(bad.body['error']?.message ?? JSON.stringify(bad.body)).toMatch(/metric/);
    const badMember = await send(server, 'POST', '/api/v1/anomalies/series', {
      name: 'x',
      metric: 'costUsd',
      detector: { members: [{ kind: 'ewma', config: { alfa: 0.1 } }] },
    });
    expect(badMember.status).toBe(400);
    expect(JSON.stringify(badMember.body)).toMatch(/ewma has no setting \\"alfa\\"/);
    expect(
      (await send(server, 'POST', '/api/v1/anomalies/series', { name: 'y', metric: 'costUsd', interval: '1s' })).status,
    ).toBe(400);

    // Traffic already stored: 210 minutes for both projects, a cost spike in minute 200 for one.
    const SPIKE = 200;
    await ingest(server, a.key, traffic('a', 0, 210, new Set([SPIKE]), 5));
    await ingest(server, b.key, traffic('b', 0, 210, new Set(), 6));
    clock.set(T0 + 211 * MINUTE_MS);

    const created = await send(server, 'POST', '/api/v1/anomalies/series', {
      name: 'gpt4o-cost-by-project',
      metric: 'costUsd',
      filter: { models: ['gpt-4o'] },
      groupBy: ['project'],
      interval: '1m',
      backfill: '4h',
    });
    expect(created.status).toBe(201);
    expect(created.body['series']).toMatchObject({
      name: 'gpt4o-cost-by-project',
      intervalMs: MINUTE_MS,
      trackedGroups: 0,
    });
    expect(
      (await send(server, 'POST', '/api/v1/anomalies/series', { name: 'gpt4o-cost-by-project', metric: 'requests' }))
        .status,
    ).toBe(409);

    await server.app.tickJobs();
    const listed = (await get(server, '/api/v1/anomalies/series')).body;
    expect(listed['series']).toHaveLength(1);
    expect(listed['series'][0]).toMatchObject({ name: 'gpt4o-cost-by-project', trackedGroups: 2 });
    // Evaluated up to the last closed bucket (a minute's grace after its end).
    expect(listed['series'][0].nextBucketMs).toBe(T0 + 210 * MINUTE_MS);
    // The key series of these calls are tracked too: the groups come on top.
    const keySeries = listed['trackedSeries'] - 2;
    expect(keySeries).toBeGreaterThanOrEqual(0);

    const found = (await get(server, '/api/v1/anomalies?series=gpt4o-cost-by-project')).body['anomalies'] as any[];
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      series: 'gpt4o-cost-by-project',
      projectId: 'prj_checkout',
      model: 'gpt-4o',
      metric: 'costUsd',
      group: { project: 'prj_checkout' },
      bucketStartMs: T0 + SPIKE * MINUTE_MS,
    });
    expect(found[0].value).toBeGreaterThan(0.1);
    // The project's own key sees it; the other project's does not.
    expect((await get(server, '/api/v1/anomalies?series=gpt4o-cost-by-project', a.key)).body['anomalies']).toHaveLength(
      1,
    );
    expect((await get(server, '/api/v1/anomalies?series=gpt4o-cost-by-project', b.key)).body['anomalies']).toEqual([]);

    // A later pass continues from the next bucket: nothing is scored twice.
    await ingest(server, a.key, traffic('a', 210, 216, new Set(), 15));
    await ingest(server, b.key, traffic('b', 210, 216, new Set(), 16));
    clock.advance(5 * MINUTE_MS);
    await server.app.tickJobs();
    expect((await get(server, '/api/v1/anomalies/series/gpt4o-cost-by-project')).body['series'].nextBucketMs).toBe(
      T0 + 215 * MINUTE_MS,
    );
    expect((await get(server, '/api/v1/anomalies?series=gpt4o-cost-by-project')).body['anomalies']).toHaveLength(1);

    expect((await send(server, 'DELETE', '/api/v1/anomalies/series/gpt4o-cost-by-project')).status).toBe(204);
    expect((await send(server, 'DELETE', '/api/v1/anomalies/series/gpt4o-cost-by-project')).status).toBe(404);
    expect((await get(server, '/api/v1/anomalies/series/gpt4o-cost-by-project')).status).toBe(404);
    const after = (await get(server, '/api/v1/anomalies/series')).body;
    expect(after).toMatchObject({ series: [], trackedSeries: keySeries });
    // Its anomalies stay.
    expect((await get(server, '/api/v1/anomalies?series=gpt4o-cost-by-project')).body['anomalies']).toHaveLength(1);
  }, 120_000);
});
