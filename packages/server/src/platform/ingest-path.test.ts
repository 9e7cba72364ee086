import { describe, expect, it } from 'vitest';
import type { LoggedRequest } from '../pipeline/ack-log.js';
import { createIngestPath } from './ingest-path.js';
import type { EnrichmentStep } from './module.js';

const request = (calls: unknown[]): LoggedRequest => ({
  kind: 'native-json',
  projectId: 'prj_a',
  receivedAtMs: Date.UTC(2026, 10, 30),
  excerptMaxChars: 100,
  body: Buffer.from(JSON.stringify({ batch: calls })),
});

const call = (id: string) => ({
  id,
  timestamp: '2026-11-30T00:00:00Z',
  provider: 'openai',
  model: 'gpt-4o',
  latencyMs: 1,
  usage: { inputTokens: 1, outputTokens: 1 },
});

describe('createIngestPath', () => {
  it('runs the enrichment steps in order (ties in registration order) on decoded events', async () => {
    const seen: string[] = [];
    const step = (name: string, order: number): EnrichmentStep => ({
      name,
      order,
      enrich(batch, ctx) {
        seen.push(`${name}:${ctx.replay}`);
        for (const c of batch.llmCalls) c.tags.push(name);
      },
    });
    const path = createIngestPath([
      step('fingerprint', 300),
      step('mask', 100),
      step('price', 200),
      step('pattern', 300),
    ]);
    // The host sorts; the path runs what it is given in that order.
    expect(path.steps).toEqual(['fingerprint', 'mask', 'price', 'pattern']);
    const sorted = createIngestPath(
      [step('fingerprint', 300), step('mask', 100), step('price', 200), step('pattern', 300)].sort(
        (a, b) => a.order - b.order,
      ),
    );
    const r = await sorted.process(request([call('a')]), { replay: true });
    expect(r.ok && r.value.batch.llmCalls[0]?.tags).toEqual(['mask', 'price', 'fingerprint', 'pattern']);
    expect(seen).toEqual(['mask:true', 'price:true', 'fingerprint:true', 'pattern:true']);
  });

  it('an invalid request is an error before any step runs; a throwing step fails the request', async () => {
    let ran = 0;
    const path = createIngestPath([
      {
        name: 'boom',
        order: 1,
        enrich() {
          ran++;
          throw new Error('bug');
        },
      },
    ]);
    const bad = await path.process({ ...request([]), body: Buffer.from('{') });
    expect(!bad.ok && bad.error.code).toBe('RP_INVALID_BODY');
    expect(ran).toBe(0);
    const failed = await path.process(request([call('a')]));
    expect(!failed.ok && failed.error).toMatchObject({ code: 'RP_INTERNAL', message: expect.stringContaining('boom') });
  });

  it('awaits asynchronous steps', async () => {
    const path = createIngestPath([
      {
        name: 'slow',
        order: 1,
        async enrich(batch) {
          await new Promise((r) => setTimeout(r, 5));
          for (const c of batch.llmCalls) c.metadata['slow'] = 'yes';
        },
      },
    ]);
    const r = await path.process(request([call('a'), call('b')]));
    expect(r.ok && r.value.batch.llmCalls.map((c) => c.metadata['slow'])).toEqual(['yes', 'yes']);
  });
});
