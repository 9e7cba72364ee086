/**
 * Pricing on the ingest path of a started server, read back through the calls and summary
 * APIs, exact to the cent: a per-project price override, an Azure deployment alias, tokens
 * estimated from the excerpts when usage is missing, an unpriced model, and the
 * `cost.priceAtIngest` switch.
 */
import { getEncoding } from 'js-tiktoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../test-support/harness.js';
import { costModule } from './module.js';

let server: TestServer;
let shop: string;
let lab: string;
const T = Date.now() - 60_000;
const range = `from=${new Date(T - 3_600_000).toISOString()}&to=${new Date(T + 3_600_000).toISOString()}`;

beforeAll(async () => {
  server = await startTestServer({}, { modules: [costModule] });
  shop = (await server.createProject('Shop', 'shop')).key;
  lab = (await server.createProject('Lab', 'lab')).key;
});
afterAll(async () => {
  await server?.stop();
});

async function req(method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function ingest(key: string, batch: unknown[]) {
  const r = await req('POST', '/api/v1/ingest', { batch }, key);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function call(id: string, project: string) {
  const r = await req('GET', `/api/v1/llm/calls?${range}&project=${project}&limit=1000`);
  expect(r.status).toBe(200);
  const found = r.body.items.find((c: any) => c.id === id);
  expect(found, `call ${id}`).toBeDefined();
  return found;
}

const cents = (usd: number | null) => (usd === null ? null : Math.round(usd * 100));

describe('pricing at ingest, read back through the API', () => {
  it('prices with a project override, an Azure alias, estimated tokens, and leaves an unknown model unpriced', async () => {
    // The shop project pays its own negotiated rate for gpt-4o-mini: $1,000 / $2,000 per 1M.
    const override = await req('POST', '/api/v1/prices', {
      id: 'shop-mini',
      provider: 'openai',
      model: 'gpt-4o-mini',
      projectId: 'shop',
      rates: { inputPerMtokUsd: 1000, outputPerMtokUsd: 2000 },
      effectiveFrom: '2020-01-01',
    });
    expect(override.status).toBe(201);
    // An Azure OpenAI deployment named prod-chat serves gpt-4o (2024-11-20).
    expect(
      (await req('PUT', '/api/v1/prices/aliases/prod-chat', { model: 'gpt-4o-2024-11-20', projectId: null })).status,
    ).toBe(200);

    const prompt = 'Summarise the quarterly sales report for the board in three short bullet points.';
    const response = 'Revenue grew by a fifth. Costs held flat. Margins improved in every region.';
    const usage = { inputTokens: 10_000, outputTokens: 1_000 };
    await ingest(shop, [
      { id: 'ovr', timestamp: T, provider: 'openai', model: 'gpt-4o-mini', operation: 'chat', usage },
      {
        id: 'azr',
        timestamp: T,
        provider: 'azure',
        model: 'azure/prod-chat',
        operation: 'chat',
        usage: { inputTokens: 400_000, outputTokens: 20_000 },
      },
      { id: 'est', timestamp: T, provider: 'openai', model: 'gpt-4o-mini', operation: 'chat', prompt, response },
      { id: 'unk', timestamp: T, provider: 'acme', model: 'acme-secret-1', operation: 'chat', usage },
    ]);
    await ingest(lab, [
      { id: 'cat', timestamp: T, provider: 'openai', model: 'gpt-4o-mini', operation: 'chat', usage },
    ]);

    // Override: 10,000 × $1,000/1M + 1,000 × $2,000/1M = $10 + $2.
    const ovr = await call('ovr', 'shop');
    expect(cents(ovr.cost.totalUsd)).toBe(1200);
    expect(ovr.cost).toMatchObject({ priceId: 'shop-mini', tokensEstimated: false });
    // The same call in another project pays the list price of gpt-4o-mini: $0.15 / $0.60 per 1M.
    const cat = await call('cat', 'lab');
    expect(cat.cost.totalUsd).toBeCloseTo(10_000 * 0.15e-6 + 1_000 * 0.6e-6, 12);
    expect(cat.cost.priceId).not.toBe('shop-mini');
    // Azure deployment → gpt-4o: 400,000 × $2.50/1M + 20,000 × $10/1M = $1.00 + $0.20.
    const azr = await call('azr', 'shop');
    expect(cents(azr.cost.totalUsd)).toBe(120);
    expect(azr.cost.priceId).toBe('openai/gpt-4o');
    // No usage reported: counted from the excerpts with gpt-4o-mini's tokenizer (o200k_base), marked.
    const enc = getEncoding('o200k_base');
    const inTok = enc.encode(prompt).length;
    const outTok = enc.encode(response).length;
    const est = await call('est', 'shop');
    expect(est.usage).toMatchObject({ inputTokens: inTok, outputTokens: outTok });
    expect(est.cost.tokensEstimated).toBe(true);
    expect(est.cost.totalUsd).toBeCloseTo(inTok * 1000e-6 + outTok * 2000e-6, 9);
    expect(cents(est.cost.totalUsd)).toBe(Math.round((inTok * 1000e-6 + outTok * 2000e-6) * 100));
    // Unknown model: no cost (not $0), counted as unpriced.
    const unk = await call('unk', 'shop');
    expect(unk.cost.totalUsd).toBeNull();
    expect(unk.cost.priceId).toBeNull();

    // The shop's total says it is a lower bound and counts the unpriced call.
    const summary = await req('GET', `/api/v1/llm/summary?${range}&project=shop`);
    expect(summary.status).toBe(200);
    const [row] = summary.body.rows;
    expect(row.requests).toBe(4);
    expect(row.unpricedRequests).toBe(1);
    expect(row.costIsLowerBound).toBe(true);
    expect(cents(row.costUsd)).toBe(1200 + 120 + (cents(est.cost.totalUsd) as number));
    const breakdown = await req('GET', `/api/v1/cost/breakdown?${range}&project=shop&by=model`);
    expect(breakdown.body.total).toMatchObject({ requests: 4, unpricedRequests: 1, costIsLowerBound: true });
    const acme = breakdown.body.rows.find((r: any) => r.group.model === 'acme-secret-1');
    expect(acme).toMatchObject({ costUsd: null, unpricedRequests: 1, costIsLowerBound: true });
  });

  it('stores calls unpriced while cost.priceAtIngest is off, and prices again once it is back on', async () => {
    const usage = { inputTokens: 400_000, outputTokens: 20_000 };
    server.app.applyConfig({ ...server.config, cost: { ...(server.config as any).cost, priceAtIngest: false } } as any);
    await ingest(lab, [
      { id: 'off', timestamp: T, provider: 'openai', model: 'gpt-4o-2024-11-20', operation: 'chat', usage },
    ]);
    const off = await call('off', 'lab');
    expect(off.cost).toMatchObject({ totalUsd: null, priceId: null });
    expect(off.usage).toMatchObject({ inputTokens: 400_000, outputTokens: 20_000 });

    server.app.applyConfig({ ...server.config, cost: { ...(server.config as any).cost, priceAtIngest: true } } as any);
    await ingest(lab, [
      { id: 'on', timestamp: T, provider: 'openai', model: 'gpt-4o-2024-11-20', operation: 'chat', usage },
    ]);
    expect(cents((await call('on', 'lab')).cost.totalUsd)).toBe(120);
  });
});
