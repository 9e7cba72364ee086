import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '@reskpoints/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../cli/io.js';
import { runCli } from '../cli/program.js';
import { PermanentStoreError } from '../store/permanent-error.js';
import type { TelemetryStore } from '../store/ports.js';
import { ADMIN_TOKEN, startTestServer, type TestServer, tempDir } from '../test-support/harness.js';
import { AckLog, type LoggedRequest } from './ack-log.js';

const T0 = Date.UTC(2026, 10, 3, 9, 0, 0);
const BAD_MODEL = 'model-the-store-refuses';

/**
 * The real DuckDB store behind a switchboard: calls with `BAD_MODEL` are refused permanently
 * (as a store refuses a value it cannot convert) while `refusing`, and every append fails
 * transiently (as a store that is down) while `down`.
 */
function switchboard() {
  const s = { refusing: true, down: false, appends: 0, failAfterMs: 0 };
  const wrap = (store: TelemetryStore): TelemetryStore =>
    new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'appendBatch')
          return async (batch: Parameters<TelemetryStore['appendBatch']>[0]) => {
            s.appends++;
            if (s.down) {
              if (s.failAfterMs) await new Promise((r) => setTimeout(r, s.failAfterMs));
              throw new Error('connect ECONNREFUSED (the store is down)');
            }
            if (s.refusing && batch.llmCalls.some((c) => c.model === BAD_MODEL))
              throw new PermanentStoreError(`Conversion Error: cannot store model ${BAD_MODEL}`);
            return target.appendBatch(batch);
          };
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  return { s, wrap };
}

function call(i: number, model = 'gpt-4o-mini') {
  return {
    id: `call-${i}`,
    timestamp: T0 + i * 10,
    provider: 'openai',
    model,
    latencyMs: 50,
    usage: { inputTokens: 10, outputTokens: 2 },
  };
}

function cliIo(cwd: string) {
  const out: string[] = [];
  const errOut: string[] = [];
  const io: CliIo = {
    stdout: { write: (t) => void out.push(t) },
    stderr: { write: (t) => void errOut.push(t) },
    env: {},
    cwd,
    clock: new FakeClock(T0),
    fetch: globalThis.fetch,
    onSignal: () => {},
    exit: (code) => {
      throw new Error(`exit(${code})`);
    },
  };
  return { io, out, errOut };
}

interface Letter {
  id: string;
  origin: string;
  reason: string;
  error: string;
  events: number;
  payloadType: string;
}

describe('dead letters (embedded)', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${server!.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const letters = async () =>
    (await (await admin('/api/v1/dead-letters')).json()) as {
      deadLetters: Letter[];
      held: { letters: number; events: number };
    };
  const storedIds = async () => {
    const res = await admin(`/api/v1/llm/calls?from=${T0 - 1}&to=${T0 + 3_600_000}&limit=1000`);
    const page = (await res.json()) as { items: Array<{ id: string }> };
    return new Set(page.items.map((c) => c.id));
  };
  const metric = async (name: string) => {
    const text = await (await fetch(`${server!.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .join('\n');
  };

  it.each([
    ['answered from the commit', { ackLogAfterMs: 60_000 }],
    ['acknowledged from the log first', { ackLogAfterMs: 0 }],
  ])('stores the rest of a group and dead-letters the event the store refuses (%s)', async (_, ingest) => {
    const { s, wrap } = switchboard();
    server = await startTestServer({ ingest: { ...ingest, flushIntervalMs: 20 } }, { wrapTelemetryStore: wrap });
    const { key } = await server.createProject('poison', 'poison');
    const post = (batch: unknown[]) =>
      fetch(`${server!.url}/api/v1/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      });
    // Six concurrent requests join one group commit; one of them carries the poison.
    const batches = Array.from({ length: 6 }, (_, b) =>
      Array.from({ length: 20 }, (_, i) => call(b * 20 + i, b === 3 && i === 7 ? BAD_MODEL : undefined)),
    );
    const answers = await Promise.all(batches.map(post));
    for (const res of answers) expect(res.status).toBe(200);
    const bodies = await Promise.all(answers.map((r) => r.json()));
    if (ingest.ackLogAfterMs > 0) expect(bodies[3]).toEqual({ accepted: 19, duplicates: 0, deadLettered: 1 });

    // Ingest is not stalled: later work commits, and every good event is stored.
    expect((await post([call(500)])).status).toBe(200);
    const ids = await storedIds();
    expect(ids.size).toBe(120);
    expect(ids.has('call-67')).toBe(false);
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(200);

    // Admin only: a project key sees nothing of it.
    const asProject = await fetch(`${server.url}/api/v1/dead-letters`, { headers: { authorization: `Bearer ${key}` } });
    expect(asProject.status).toBe(403);
    const { deadLetters, held } = await letters();
    expect(held).toEqual({ letters: 1, events: 1 });
    expect(deadLetters[0]).toMatchObject({
      origin: 'ingest',
      reason: 'store-rejected',
      events: 1,
      payloadType: 'batch',
    });
    expect(deadLetters[0]?.error).toContain('Conversion Error');
    const id = deadLetters[0]?.id as string;
    const full = (await (await admin(`/api/v1/dead-letters/${id}`)).json()) as {
      payload: { batch: { llmCalls: Array<{ id: string }> } };
    };
    expect(full.payload.batch.llmCalls.map((c) => c.id)).toEqual(['call-67']);
    expect(await metric('reskpoints_dead_letter_events_total')).toContain(
      'reskpoints_dead_letter_events_total{origin="ingest",reason="store-rejected"} 1',
    );
    expect(await metric('reskpoints_dead_letter_held_events')).toContain('reskpoints_dead_letter_held_events 1');
    if (ingest.ackLogAfterMs === 0) {
      // Nothing acknowledged stays in the log: stored or kept as a dead letter.
      await server.app.close();
      expect(readdirSync(join(server.config.dataDir, 'ack-log'))).toEqual([]);
      rmSync(server.config.dataDir, { recursive: true, force: true });
      server = undefined;
      return;
    }

    // While the cause lasts, a retry is refused and the letter stays.
    const cwd = tempDir('reskpoints-dlq-cli-');
    const cli = cliIo(cwd);
    const base = ['--url', server.url, '--token', ADMIN_TOKEN];
    expect((await runCli(['dead-letters', 'retry', id, ...base], cli.io)).exitCode).toBe(1);
    expect(cli.errOut.join('')).toContain('RP_DEAD_LETTER_REFUSED');
    expect((await runCli(['dead-letters', 'list', ...base], cli.io)).exitCode).toBe(0);
    expect(cli.out.join('')).toContain(id);

    // Cause fixed: the retry stores it and the area is empty again.
    s.refusing = false;
    expect((await runCli(['dead-letters', 'retry', id, ...base], cli.io)).exitCode).toBe(0);
    expect(cli.out.join('')).toContain(`Retried ${id}: 1 events stored`);
    expect((await storedIds()).has('call-67')).toBe(true);
    expect((await letters()).held).toEqual({ letters: 0, events: 0 });
    expect(await metric('reskpoints_dead_letter_held_events')).toContain('reskpoints_dead_letter_held_events 0');
    rmSync(cwd, { recursive: true, force: true });
  });

  it('retries a transient failure of acknowledged work with backoff and never dead-letters it', async () => {
    const { s, wrap } = switchboard();
    server = await startTestServer(
      { ingest: { ackLogAfterMs: 0, retryAfterSeconds: 1 } },
      { wrapTelemetryStore: wrap },
    );
    const { key } = await server.createProject('flaky', 'flaky');
    s.down = true;
    // Failing slowly, so that the acknowledgement comes from the log first.
    s.failAfterMs = 300;
    const res = await fetch(`${server.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [call(1)] }),
    });
    // Acknowledged from the log, then retried while the store is down.
    expect(res.status).toBe(200);
    const tries = s.appends;
    await new Promise((r) => setTimeout(r, 2000));
    expect(s.appends).toBeGreaterThan(tries);
    expect((await letters()).held.letters).toBe(0);
    s.down = false;
    expect((await storedIds()).has('call-1')).toBe(true);
    expect((await letters()).held.letters).toBe(0);
  });
});

describe('acknowledgement-log replay (embedded)', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  const logged = (projectId: string, body: unknown): LoggedRequest => ({
    kind: 'native-json',
    projectId,
    receivedAtMs: T0,
    excerptMaxChars: 1000,
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  });

  async function seedLog(dataDir: string, records: LoggedRequest[]): Promise<void> {
    const log = await AckLog.open(join(dataDir, 'ack-log'), { segmentBytes: 1 << 20 });
    for (const r of records) await log.append(r);
    await log.close();
  }

  it('starts, stores what it can, and keeps undecodable and refused records as dead letters', async () => {
    const dataDir = tempDir('reskpoints-replay-');
    await seedLog(dataDir, [
      logged('replay', { batch: [call(1), call(2)] }),
      logged('replay', '{"batch": "this no longer decodes"'),
      logged('replay', { batch: [call(3), call(4, BAD_MODEL), call(5)] }),
    ]);
    const { s, wrap } = switchboard();
    server = await startTestServer({ dataDir }, { wrapTelemetryStore: wrap });
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${server!.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const res = await admin(`/api/v1/llm/calls?from=${T0 - 1}&to=${T0 + 3_600_000}&limit=100`);
    const ids = ((await res.json()) as { items: Array<{ id: string }> }).items.map((c) => c.id).sort();
    expect(ids).toEqual(['call-1', 'call-2', 'call-3', 'call-5']);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);

    const list = (await (await admin('/api/v1/dead-letters')).json()) as { deadLetters: Letter[] };
    const byReason = Object.fromEntries(list.deadLetters.map((d) => [d.reason, d]));
    expect(byReason.undecodable).toMatchObject({ origin: 'ack-log', payloadType: 'request', events: 0 });
    expect(byReason['store-rejected']).toMatchObject({ origin: 'ack-log', payloadType: 'batch', events: 1 });
    // The log is emptied only now that everything in it is stored or kept.
    await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(join(dataDir, 'ack-log'))).toEqual([]);

    // A raw request that still does not decode stays until dropped.
    const undecodable = byReason.undecodable?.id as string;
    const again = await admin(`/api/v1/dead-letters/${undecodable}/retry`, { method: 'POST' });
    expect(again.status).toBe(422);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('RP_DEAD_LETTER_REFUSED');
    expect((await admin(`/api/v1/dead-letters/${undecodable}`, { method: 'DELETE' })).status).toBe(204);

    s.refusing = false;
    const retried = await admin(`/api/v1/dead-letters/${byReason['store-rejected']?.id}/retry`, { method: 'POST' });
    expect(await retried.json()).toMatchObject({ stored: 1, stillRefused: 0, remainingId: null });
    const after = (await (await admin('/api/v1/dead-letters')).json()) as { deadLetters: Letter[] };
    expect(after.deadLetters).toEqual([]);
  });

  it('starts while the store fails transiently and commits the replay once it is back', async () => {
    const dataDir = tempDir('reskpoints-replay-down-');
    await seedLog(dataDir, [logged('replay', { batch: [call(7)] })]);
    const { s, wrap } = switchboard();
    s.down = true;
    server = await startTestServer({ dataDir, ingest: { retryAfterSeconds: 1 } }, { wrapTelemetryStore: wrap });
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    const { key } = await server.createProject('replay', 'replay');
    const fresh = await fetch(`${server.url}/api/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [call(8)] }),
    });
    // Fresh work waits for the log (ackLogAfterMs) or is refused; either way it is not lost.
    expect([200, 503]).toContain(fresh.status);
    expect(readdirSync(join(dataDir, 'ack-log')).length).toBeGreaterThan(0);
    s.down = false;
    const res = await fetch(`${server.url}/api/v1/llm/calls?from=${T0 - 1}&to=${T0 + 3_600_000}&limit=100`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const ids = ((await res.json()) as { items: Array<{ id: string }> }).items.map((c) => c.id);
    expect(ids).toContain('call-7');
  });
});
