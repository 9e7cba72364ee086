/**
 * The detect module end to end: demo-like traffic for two projects with one injected cost spike
 * yields one cost anomaly for the right project and model, a minute after the spike's bucket
 * ends; anomalies and per-series detector state survive a restart.
 */
import { FakeClock } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
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
});
