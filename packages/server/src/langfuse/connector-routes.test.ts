/**
 * A started server configured to pull from a local Langfuse-speaking server: configure, pull
 * now, read the stored series, and the access rules around them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionModule } from '../retention/module.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { LANGFUSE_PULL_INTERVAL_MS, langfuseModule } from './module.js';

describe('Langfuse connector API', () => {
  let s: TestServer;
  let langfuse: Server;
  let langfuseUrl: string;
  let asked = 0;
  beforeAll(async () => {
    langfuse = createServer((req, res) => {
      asked++;
      const ok = req.headers.authorization === `Basic ${Buffer.from('pk-lf-a:sk-lf-b').toString('base64')}`;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      const date = new Date().toISOString().slice(0, 10);
      res.end(
        JSON.stringify(
          ok
            ? {
                data: [
                  {
                    date,
                    countTraces: 4,
                    countObservations: 9,
                    totalCost: 3.5,
                    usage: [
                      {
                        model: 'gpt-4o',
                        inputUsage: 100,
                        outputUsage: 10,
                        totalUsage: 110,
                        countObservations: 9,
                        countTraces: 4,
                        totalCost: 3.5,
                      },
                    ],
                  },
                ],
                meta: { page: 1, limit: 100, totalItems: 1, totalPages: 1 },
              }
            : { message: 'Invalid credentials' },
        ),
      );
    });
    await new Promise<void>((r) => langfuse.listen(0, '127.0.0.1', r));
    langfuseUrl = `http://127.0.0.1:${(langfuse.address() as AddressInfo).port}`;
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.stop();
    await new Promise((r) => langfuse.close(r));
  });

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

  it('configures, pulls on demand and serves the stored days to the project', async () => {
    const { projectId, key } = await s.createProject('lf-pull');
    const other = await s.createProject('other');
    const put = await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-connector`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ baseUrl: langfuseUrl, publicKey: 'pk-lf-a', secretKey: 'sk-lf-b', lookbackDays: 2 }),
    });
    expect(put.status).toBe(200);
    const shown = JSON.stringify(await put.json());
    expect(shown).toContain('pk-lf-a');
    expect(shown).not.toContain('sk-lf-b');

    const pulled = await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-connector/pull`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(pulled.status).toBe(200);
    expect(((await pulled.json()) as { status: { daysStored: number; lastError: null } }).status).toMatchObject({
      daysStored: 1,
      lastError: null,
    });
    expect(asked).toBe(1);

    const days = await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-metrics`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(days.status).toBe(200);
    const body = (await days.json()) as { days: Array<{ totalCost: number; usage: Array<{ model: string }> }> };
    expect(body.days).toHaveLength(1);
    expect(body.days[0]).toMatchObject({ totalCost: 3.5, countTraces: 4, usage: [{ model: 'gpt-4o' }] });

    const foreign = await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-metrics`, {
      headers: { authorization: `Bearer ${other.key}` },
    });
    expect(foreign.status).toBe(403);
    const notAdmin = await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-connector`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(notAdmin.status).toBe(403);

    const del = await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-connector`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(del.status).toBe(204);
    const gone = await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-connector`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(gone.status).toBe(404);
  });

  it('reports a refused key in the status, and refuses a bad configuration with 400', async () => {
    const { projectId } = await s.createProject('lf-bad');
    await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-connector`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ baseUrl: langfuseUrl, publicKey: 'pk-lf-a', secretKey: 'wrong' }),
    });
    const pulled = await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-connector/pull`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(((await pulled.json()) as { status: { lastError: string } }).status.lastError).toMatch(
      /^permanent: HTTP 401/,
    );
    const bad = await fetch(`${s.url}/api/v1/projects/${projectId}/langfuse-connector`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ baseUrl: 'ftp://x', publicKey: 'pk', secretKey: 'sk', lookbackDays: 0 }),
    });
    expect(bad.status).toBe(400);
    const message = ((await bad.json()) as { error: { message: string } }).error.message;
    expect(message).toContain('baseUrl');
    expect(message).toContain('lookbackDays');
  });

  it("pulls every configured connector from the langfuse module's leader job, hourly", async () => {
    const clock = new FakeClock(Date.now());
    const server = await startTestServer({}, { clock, modules: [retentionModule, langfuseModule] });
    try {
      const { projectId, key } = await server.createProject('lf-job');
      await fetch(`${server.url}/api/v1/projects/${projectId}/langfuse-connector`, {
        method: 'PUT',
        headers: admin,
        body: JSON.stringify({ baseUrl: langfuseUrl, publicKey: 'pk-lf-a', secretKey: 'sk-lf-b' }),
      });
      const before = asked;
      await server.app.tickJobs();
      expect(asked).toBe(before); // not before its initial delay
      clock.advance(60_000);
      await server.app.tickJobs();
      expect(asked).toBe(before + 1);
      clock.advance(LANGFUSE_PULL_INTERVAL_MS / 2);
      await server.app.tickJobs();
      expect(asked).toBe(before + 1);
      clock.advance(LANGFUSE_PULL_INTERVAL_MS / 2);
      await server.app.tickJobs();
      expect(asked).toBe(before + 2);
      const days = await fetch(`${server.url}/api/v1/projects/${projectId}/langfuse-metrics`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(((await days.json()) as { days: unknown[] }).days).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });
});
