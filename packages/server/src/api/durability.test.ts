import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type ChildServer, createProject, spawnServer, tempDir } from '../test-support/harness.js';

const T0 = Date.UTC(2026, 10, 2, 8, 0, 0);

function batchOf(start: number, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: `evt-${start + i}`,
    timestamp: T0 + (start + i) * 10,
    provider: 'openai',
    model: 'gpt-4o-mini',
    latencyMs: 50,
    usage: { inputTokens: 10, outputTokens: 2 },
  }));
}

async function countCalls(url: string): Promise<{ total: number; ids: Set<string> }> {
  const ids = new Set<string>();
  let total = 0;
  let cursor: string | null = null;
  do {
    const res: Response = await fetch(
      `${url}/api/v1/llm/calls?from=${T0}&to=${T0 + 86_400_000}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      },
    );
    const page = (await res.json()) as { items: Array<{ id: string }>; nextCursor: string | null };
    total += page.items.length;
    for (const c of page.items) ids.add(c.id);
    cursor = page.nextCursor;
  } while (cursor);
  return { total, ids };
}

describe('acknowledged means durable', () => {
  const dataDir = tempDir('reskpoints-durable-');
  let server: ChildServer | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged event exactly once across kill -9, restart and client retries', async () => {
    server = await spawnServer(dataDir);
    const { key } = await createProject(server.url, 'durable');
    const ingest = (url: string, batch: unknown[]) =>
      fetch(`${url}/api/v1/ingest`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      });

    // Concurrent writers; record what was acknowledged, then kill while more is in flight.
    const acked = new Set<string>();
    const sent: Array<Promise<void>> = [];
    for (let b = 0; b < 30; b++) {
      const batch = batchOf(b * 100, 100);
      sent.push(
        ingest(server.url, batch).then(
          async (res) => {
            if (res.status === 200) for (const e of batch) acked.add(e.id);
            await res.body?.cancel();
          },
          () => undefined,
        ),
      );
      if (b === 20) await Promise.race([Promise.all(sent.slice(0, 10)), new Promise((r) => setTimeout(r, 2000))]);
    }
    await Promise.all(sent.slice(0, 10));
    await server.kill9();
    await Promise.all(sent);
    expect(acked.size).toBeGreaterThanOrEqual(1000);

    server = await spawnServer(dataDir);
    const after = await countCalls(server.url);
    for (const id of acked) expect(after.ids.has(id)).toBe(true);
    expect(after.total).toBe(after.ids.size);

    // The client retries everything (acknowledged or not): nothing is counted twice.
    for (let b = 0; b < 30; b++) {
      const res = await ingest(server.url, batchOf(b * 100, 100));
      expect(res.status).toBe(200);
    }
    const final = await countCalls(server.url);
    expect(final.total).toBe(3000);
    expect(final.ids.size).toBe(3000);
    expect(await server.stop()).toBe(0);
    server = undefined;
  });
});
