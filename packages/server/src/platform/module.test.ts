/**
 * A module registered in a started server: its config section, state table, routes, leader
 * job and derived processor all work through the seams; derived processing sees every
 * committed call exactly once, including calls replayed from the acknowledgement log.
 */
import { FakeClock } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import { costModule } from '../cost/module.js';
import { AckLog } from '../pipeline/ack-log.js';
import { retentionModule } from '../retention/module.js';
import { ADMIN_TOKEN, startTestServer, type TestServer, tempDir } from '../test-support/harness.js';
import { notesModule } from './testing/notes-module.js';

const T0 = Date.UTC(2026, 10, 30, 12);

function call(id: string, tokens: number) {
  return {
    id,
    timestamp: new Date(T0 - 60_000).toISOString(),
    provider: 'openai',
    model: 'gpt-4o',
    latencyMs: 100,
    usage: { inputTokens: tokens, outputTokens: 0 },
  };
}

async function ingest(s: TestServer, key: string, calls: unknown[]) {
  const res = await fetch(`${s.url}/api/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ batch: calls }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

async function admin(s: TestServer, path: string) {
  const res = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('a module on the platform seams', () => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  it('migrates its table, serves its routes, runs its leader job and sees each committed call once', async () => {
    const clock = new FakeClock(T0);
    server = await startTestServer({}, { clock, modules: [retentionModule, notesModule] });
    const a = await server.createProject('A', 'prj_a');
    const b = await server.createProject('B', 'prj_b');
    await ingest(server, a.key, [call('a1', 10), call('a2', 20), call('a3', 30)]);
    await ingest(server, b.key, [call('b1', 5), call('b2', 5)]);
    // A retried request: duplicates are not stored again and not counted again.
    expect(await ingest(server, a.key, [call('a1', 10), call('a4', 40)])).toEqual({ accepted: 1, duplicates: 1 });

    await server.app.tickJobs();
    const first = await admin(server, '/api/v1/notes/counts');
    expect(first.status).toBe(200);
    expect(first.body['counts']).toEqual([
      { project_id: 'prj_a', calls: 4, tokens: 100 },
      { project_id: 'prj_b', calls: 2, tokens: 10 },
    ]);
    expect(first.body['ticks']).toEqual([1]);

    // Nothing new: a second pass changes nothing. The job is not due again before a minute.
    await server.app.tickJobs();
    clock.advance(30_000);
    await server.app.tickJobs();
    expect((await admin(server, '/api/v1/notes/counts')).body).toEqual(first.body);
    clock.advance(30_000);
    await ingest(server, b.key, [call('b3', 1)]);
    await server.app.tickJobs();
    const second = await admin(server, '/api/v1/notes/counts');
    expect(second.body['counts']).toEqual([
      { project_id: 'prj_a', calls: 4, tokens: 100 },
      { project_id: 'prj_b', calls: 3, tokens: 11 },
    ]);
    expect(second.body['ticks']).toEqual([1, 1]);

    // Ingest ran the module's enrichment step.
    const listed = await fetch(
      `${server.url}/api/v1/llm/calls?from=${new Date(T0 - 3_600_000).toISOString()}&to=${new Date(T0).toISOString()}&project=prj_b`,
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    );
    const listedItems = ((await listed.json()) as { items: Array<{ metadata: Record<string, string> }> }).items;
    // b1 and b2 were received at T0, b3 a minute later.
    expect(listedItems.map((c) => c.metadata['notes.received_at_ms']).sort()).toEqual([
      String(T0),
      String(T0),
      String(T0 + 60_000),
    ]);

    // Routes use the platform's authentication and error mapping.
    const noAuth = await fetch(`${server.url}/api/v1/notes/counts`);
    expect(noAuth.status).toBe(401);
    const failed = await fetch(`${server.url}/api/v1/notes/fail`, { headers: { authorization: `Bearer ${a.key}` } });
    expect(failed.status).toBe(404);
    expect(((await failed.json()) as { error: { code: string } }).error.code).toBe('RP_NOT_FOUND');
    const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toContain('/api/v1/notes/counts');

    // Jobs and derived processors are visible to operators.
    const scraped = await (await fetch(`${server.url}/metrics`)).text();
    expect(scraped).toMatch(/reskpoints_job_runs_total\{job="notes.tick",outcome="ok"\} 2/);
    expect(scraped).toMatch(/reskpoints_job_runs_total\{job="notes.count-calls",outcome="ok"\} [1-9]/);
    expect(scraped).toMatch(/reskpoints_leader 1/);

    // The module's config section: defaults, then a hot reload of a hot-reloadable key.
    expect((await admin(server, '/api/v1/notes/greeting')).body).toEqual({ greeting: 'hello', changes: [] });
    const next = structuredClone(server.config) as unknown as Record<string, unknown>;
    next['notes'] = { greeting: 'bonjour', ticks: false };
    server.app.applyConfig(next as never);
    // `ticks` is not hot-reloadable: it keeps its value until a restart.
    expect((await admin(server, '/api/v1/notes/greeting')).body).toEqual({
      greeting: 'bonjour',
      changes: ['hello→bonjour'],
    });
    clock.advance(60_000);
    await server.app.tickJobs();
    expect((await admin(server, '/api/v1/notes/counts')).body['ticks']).toEqual([1, 1, 1]);
  });

  it('derived processing sees calls replayed from the acknowledgement log', async () => {
    const dataDir = tempDir();
    // A request acknowledged from the log whose commit never happened (the process died).
    const log = await AckLog.open(`${dataDir}/ack-log`, { segmentBytes: 1024 * 1024 });
    const modules = [costModule, notesModule];
    const first = await startTestServer({ dataDir }, { modules });
    const p = await first.createProject('A', 'prj_a');
    await first.app.close();
    await log.append({
      kind: 'native-json',
      projectId: p.projectId,
      receivedAtMs: T0,
      excerptMaxChars: 100,
      body: Buffer.from(JSON.stringify({ batch: [call('r1', 7), call('r2', 8)] })),
    });
    await log.close();

    server = await startTestServer({ dataDir }, { modules });
    // The replay commits in the background after the start; its commit wakes the processor.
    let counts: unknown = [];
    for (let i = 0; i < 100 && JSON.stringify(counts) === '[]'; i++) {
      await server.app.tickJobs();
      counts = (await admin(server, '/api/v1/notes/counts')).body['counts'];
      if (JSON.stringify(counts) === '[]') await new Promise((r) => setTimeout(r, 50));
    }
    expect(counts).toEqual([{ project_id: 'prj_a', calls: 2, tokens: 15 }]);
    // The replay went through the module's enrichment step, with the logged request's time.
    const calls = await fetch(
      `${server.url}/api/v1/llm/calls?from=${new Date(T0 - 3_600_000).toISOString()}&to=${new Date(T0).toISOString()}`,
      { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    );
    const items = (
      (await calls.json()) as {
        items: Array<{ id: string; metadata: Record<string, string>; cost: { totalUsd: number | null } }>;
      }
    ).items.sort((a, b) => a.id.localeCompare(b.id));
    expect(items.map((c) => c.metadata['notes.received_at_ms'])).toEqual([String(T0), String(T0)]);
    // ... and through pricing: 7 and 8 input tokens of gpt-4o at $2.50 per million.
    expect(items.map((c) => c.id)).toEqual(['r1', 'r2']);
    expect(items[0]?.cost.totalUsd).toBeCloseTo(7 * 2.5e-6, 15);
    expect(items[1]?.cost.totalUsd).toBeCloseTo(8 * 2.5e-6, 15);
  });
});
