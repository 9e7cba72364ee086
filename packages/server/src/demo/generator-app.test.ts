import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SummaryResult } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { startDemo } from './generator.js';

/** The demo against the real server: every request it sends must be accepted as it is. */

let server: TestServer;
let dataDir: string;
beforeAll(async () => {
  server = await startTestServer();
  dataDir = mkdtempSync(join(tmpdir(), 'rp-demo-app-'));
});
afterAll(async () => {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('demo traffic through the real ingest path', () => {
  it('is accepted over both channels, with resent events stored once', async () => {
    const demo = await startDemo({
      baseUrl: server.url,
      adminToken: ADMIN_TOKEN,
      dataDir,
      seed: 99,
      backfillHours: 1,
      backfillCallsPerHour: 1200,
      callsPerSecond: 0,
      resendProbability: 0.3,
      maxBatchCalls: 50,
    });
    await demo.stop();
    const stats = demo.stats();
    expect(stats.failedRequests, stats.lastError ?? '').toBe(0);
    expect(stats.resentRequests).toBeGreaterThan(0);
    expect(stats.duplicateCalls).toBeGreaterThan(0);

    const now = Date.now();
    const res = await fetch(
      `${server.url}/api/v1/llm/summary?from=${now - 2 * 3_600_000}&to=${now + 60_000}&groupBy=project`,
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    );
    expect(res.status).toBe(200);
    const summary = (await res.json()) as SummaryResult;
    const requests = Object.fromEntries(summary.rows.map((r) => [r.group.project, r.requests]));
    expect(Object.keys(requests).sort()).toEqual(['code-assistant', 'search-rag', 'support-bot']);
    // Each call stored exactly once, whichever channel carried it and however often it was sent.
    const total = summary.rows.reduce((s, r) => s + r.requests, 0);
    expect(total).toBe(stats.backfilledCalls);
  });
});
