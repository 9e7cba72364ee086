/**
 * The live-events seam and the alert input port, through a started server: a module publishes
 * events that reach `/api/v1/events` WebSocket clients by topic and project, and another
 * module reads the first one's signal sources and is woken when they change.
 */
import { FakeClock } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { LocalPlatformEvents, type PlatformEvent } from './events.js';
import { defineModule } from './module.js';
import { assertSignalSources, LocalSignalHub, type Signal } from './signals.js';

const T0 = Date.UTC(2026, 10, 30, 12);

/** Publishes a `beacons` event per POST and keeps each beacon as an active signal. */
const beaconModule = defineModule({
  name: 'beacon',
  create(ctx) {
    const active: Signal[] = [];
    return {
      signalSources: [
        {
          name: 'beacon',
          description: 'Beacons posted to the test module',
          active: async () => [...active],
        },
      ],
      routes(api, helpers) {
        api.post(
          '/api/v1/beacons',
          { schema: { body: z.object({ projectId: z.string().nullable(), note: z.string() }) } },
          async (req) => {
            await helpers.authenticate(req, 'admin');
            const body = req.body as { projectId: string | null; note: string };
            active.push({
              key: `b${active.length + 1}`,
              labels: { note: body.note },
              value: active.length + 1,
              startsAtMs: ctx.clock.nowMs(),
              projectId: body.projectId,
            });
            ctx.signals.changed('beacon');
            ctx.events.publish({ topic: 'beacons', projectId: body.projectId, data: { note: body.note } });
            return { ok: true };
          },
        );
      },
    };
  },
});

/** Reads every signal source when woken, as the alerting evaluator does. */
const watcherModule = defineModule({
  name: 'watcher',
  create(ctx) {
    const wakes: string[] = [];
    ctx.signals.onChanged((name) => wakes.push(name));
    return {
      routes(api, helpers) {
        api.get('/api/v1/watcher', async (req) => {
          await helpers.authenticate(req, 'admin');
          const sources = ctx.signals.sources();
          const active = await ctx.signals.source('beacon')?.active(ctx.clock.nowMs());
          return { sources: sources.map((s) => s.name), wakes, active };
        });
      },
    };
  },
});

function open(url: string): Promise<{ ws: WebSocket; messages: PlatformEvent[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: PlatformEvent[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as PlatformEvent;
      if (m.topic === 'hello') resolve({ ws, messages });
      else messages.push(m);
    });
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('platform events and signals', () => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  it('fans events out by topic and project, and lets one module read another module’s signals', async () => {
    server = await startTestServer({}, { clock: new FakeClock(T0), modules: [beaconModule, watcherModule] });
    const a = await server.createProject('A', 'prj_a');
    await server.createProject('B', 'prj_b');
    const ws = server.url.replace('http', 'ws');
    const all = await open(`${ws}/api/v1/events?token=${ADMIN_TOKEN}`);
    const onlyA = await open(`${ws}/api/v1/events?topics=beacons&token=${a.key}`);
    const otherTopic = await open(`${ws}/api/v1/events?topics=alerts&token=${ADMIN_TOKEN}`);
    const post = (projectId: string | null, note: string) =>
      fetch(`${server!.url}/api/v1/beacons`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ projectId, note }),
      });
    expect((await post('prj_a', 'one')).status).toBe(200);
    expect((await post('prj_b', 'two')).status).toBe(200);
    expect((await post(null, 'three')).status).toBe(200);
    await until(() => all.messages.length === 3 && onlyA.messages.length === 1);
    expect(all.messages).toEqual([
      { topic: 'beacons', projectId: 'prj_a', atMs: T0, data: { note: 'one' } },
      { topic: 'beacons', projectId: 'prj_b', atMs: T0, data: { note: 'two' } },
      { topic: 'beacons', projectId: null, atMs: T0, data: { note: 'three' } },
    ]);
    // A project key sees its own project's events only, never installation-wide ones.
    expect(onlyA.messages.map((m) => (m.data as { note: string }).note)).toEqual(['one']);
    expect(otherTopic.messages).toEqual([]);
    for (const c of [all, onlyA, otherTopic]) c.ws.close();

    const watched = await (
      await fetch(`${server.url}/api/v1/watcher`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json();
    expect(watched.sources).toEqual(['beacon']);
    expect(watched.wakes).toEqual(['beacon', 'beacon', 'beacon']);
    expect(watched.active.map((s: Signal) => [s.key, s.labels.note, s.projectId])).toEqual([
      ['b1', 'one', 'prj_a'],
      ['b2', 'two', 'prj_b'],
      ['b3', 'three', null],
    ]);
  });

  it('refuses a bad key, a bad topic name and a project key asking for another project', async () => {
    server = await startTestServer({}, { modules: [beaconModule] });
    const a = await server.createProject('A', 'prj_a');
    const ws = server.url.replace('http', 'ws');
    await expect(open(`${ws}/api/v1/events?token=nope`)).rejects.toThrow('HTTP 401');
    await expect(open(`${ws}/api/v1/events?topics=Bad!&token=${ADMIN_TOKEN}`)).rejects.toThrow('HTTP 400');
    await expect(open(`${ws}/api/v1/events?project=prj_b&token=${a.key}`)).rejects.toThrow('HTTP 403');
  });
});

describe('LocalPlatformEvents', () => {
  it('drops events with an invalid topic, isolates failing listeners and unsubscribes', () => {
    const events = new LocalPlatformEvents(() => 42);
    const seen: PlatformEvent[] = [];
    events.subscribe('*', () => {
      throw new Error('boom');
    });
    const off = events.subscribe(['x'], (e) => seen.push(e));
    events.publish({ topic: 'x', data: 1 });
    events.publish({ topic: 'y', data: 2 });
    events.publish({ topic: 'Not A Topic', data: 3 });
    off();
    events.publish({ topic: 'x', data: 4 });
    expect(seen).toEqual([{ topic: 'x', projectId: null, atMs: 42, data: 1 }]);
    expect(events.rejected).toBe(1);
  });
});

describe('signal sources', () => {
  it('must have unique kebab-case names', () => {
    const s = (name: string) => ({ name, description: '', active: async () => [] });
    expect(() => assertSignalSources([s('anomaly'), s('budget')])).not.toThrow();
    expect(() => assertSignalSources([s('anomaly'), s('anomaly')])).toThrow('two modules declare');
    expect(() => assertSignalSources([s('Anomaly')])).toThrow('kebab case');
    const hub = new LocalSignalHub(() => [s('anomaly')]);
    expect(hub.source('anomaly')?.name).toBe('anomaly');
    expect(hub.source('budget')).toBeUndefined();
  });
});
