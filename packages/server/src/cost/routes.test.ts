/**
 * `/api/v1/prices` on a started server with the cost module, and the `reskpoints prices`
 * commands against it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../cli/io.js';
import { runCli } from '../cli/program.js';
import { ADMIN_TOKEN, startTestServer, type TestServer, tempDir } from '../test-support/harness.js';
import { costModule } from './module.js';

const T0 = Date.UTC(2026, 10, 2, 12);

let server: TestServer;
let projectKey: string;
const clock = new FakeClock(T0);

beforeAll(async () => {
  server = await startTestServer({}, { clock, modules: [costModule] });
  projectKey = (await server.createProject('Shop', 'shop')).key;
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

const rates = (input: number, output = 0) => ({ inputPerMtokUsd: input, outputPerMtokUsd: output });

describe('/api/v1/prices', () => {
  it('lists the read-only catalogue and finds an entry by model name', async () => {
    const r = await req('GET', '/api/v1/prices?provider=openai&model=gpt-4o-2024-08-06', undefined, projectKey);
    expect(r.status).toBe(200);
    expect(r.body.entries.map((e: any) => [e.entry.id, e.readOnly])).toEqual([['openai/gpt-4o', true]]);
    expect(r.body.entries[0].entry.rates).toMatchObject({
      inputPerMtokUsd: 2.5,
      outputPerMtokUsd: 10,
      cacheReadPerMtokUsd: 1.25,
    });
    const one = await req('GET', `/api/v1/prices/${encodeURIComponent('openai/gpt-4o')}`);
    expect(one).toMatchObject({ status: 200, body: { readOnly: true, entry: { id: 'openai/gpt-4o' } } });
    const hist = await req('GET', `/api/v1/prices/${encodeURIComponent('openai/o3')}/history`);
    expect(hist.body.versions.map((v: any) => v.entry.rates.inputPerMtokUsd)).toEqual([10, 2]);
  });

  it('creates, versions and deletes a user entry with its history', async () => {
    const body = {
      id: 'house',
      provider: 'openai',
      model: 'house-model',
      rates: rates(1, 2),
      effectiveFrom: '2026-11-01',
    };
    expect((await req('POST', '/api/v1/prices', body, projectKey)).status).toBe(403);
    const created = await req('POST', '/api/v1/prices', body);
    expect(created).toMatchObject({ status: 201, body: { entry: { id: 'house', version: '1', origin: 'user' } } });
    expect((await req('POST', '/api/v1/prices', body)).body.error.code).toBe('RP_CONFLICT');

    clock.advance(60_000);
    const v2 = await req('PUT', '/api/v1/prices/house', { ...body, rates: rates(3, 4), effectiveFrom: '2026-12-01' });
    expect(v2).toMatchObject({ status: 200, body: { versions: 2 } });
    // Still version 1 in force now; version 2 from December.
    expect(v2.body.entry).toMatchObject({ version: '1', rates: { inputPerMtokUsd: 1 } });
    const resolved = await req('GET', '/api/v1/prices/resolve?provider=openai&model=house-model&at=2026-12-02');
    expect(resolved.body).toMatchObject({ entry: { id: 'house', version: '2' }, matchedModel: 'house-model' });

    expect((await req('DELETE', '/api/v1/prices/house')).body).toEqual({ deleted: 'house' });
    expect((await req('GET', '/api/v1/prices/house')).status).toBe(404);
    const hist = await req('GET', '/api/v1/prices/house/history');
    expect(hist.body.versions.map((v: any) => [v.entry.version, v.deleted, v.createdBy])).toEqual([
      ['1', false, 'admin'],
      ['2', false, 'admin'],
      ['3', true, 'admin'],
    ]);
    expect((await req('DELETE', '/api/v1/prices/house')).status).toBe(404);
    expect((await req('DELETE', `/api/v1/prices/${encodeURIComponent('openai/gpt-4o')}`)).body.error.code).toBe(
      'RP_CONFLICT',
    );
  });

  it('answers bad input with a 400 naming the field', async () => {
    const noRates = await req('POST', '/api/v1/prices', {
      provider: 'openai',
      model: 'x',
      rates: { inputPerMtokUsd: -1 },
    });
    expect(noRates.status).toBe(400);
    expect(noRates.body.error.message).toContain('rates.inputPerMtokUsd');
    expect(noRates.body.error.message).toContain('rates.outputPerMtokUsd');
    const badRegex = await req('POST', '/api/v1/prices', {
      match: [{ kind: 'regex', pattern: '([' }],
      rates: rates(1),
    });
    expect(badRegex.status).toBe(400);
    expect(badRegex.body.error.message).toContain('not a valid regular expression');
    const badTime = await req('GET', '/api/v1/prices/resolve?provider=openai&model=gpt-4o&at=yesterday-ish');
    expect(badTime).toMatchObject({ status: 400, body: { error: { code: 'RP_VALIDATION' } } });
    expect((await req('POST', '/api/v1/prices/import', ['not', 'an', 'object'])).status).toBe(400);
  });

  it('resolves Azure deployments through aliases, per project', async () => {
    const unpriced = await req('GET', '/api/v1/prices/resolve?provider=az.ai.openai&model=prod-chat&project=shop');
    expect(unpriced.body.entry).toBeNull();
    expect(unpriced.body.candidates).toContain('prod-chat');
    const put = await req('PUT', '/api/v1/prices/aliases/prod-chat', { model: 'gpt-4o-2024-11-20', projectId: 'shop' });
    expect(put).toMatchObject({ status: 200, body: { alias: { projectId: 'shop', name: 'prod-chat' } } });
    const priced = await req('GET', '/api/v1/prices/resolve?provider=az.ai.openai&model=azure/prod-chat&project=shop');
    expect(priced.body).toMatchObject({ entry: { id: 'openai/gpt-4o' }, catalogueProvider: 'azure' });
    expect((await req('GET', '/api/v1/prices/aliases?project=shop')).body.aliases).toEqual([
      { projectId: 'shop', name: 'prod-chat', model: 'gpt-4o-2024-11-20' },
    ]);
    expect((await req('DELETE', '/api/v1/prices/aliases/prod-chat?project=shop')).status).toBe(200);
    expect((await req('DELETE', '/api/v1/prices/aliases/prod-chat?project=shop')).status).toBe(404);
  });

  it('imports a LiteLLM-format file as project overrides', async () => {
    const doc = {
      'azure/gpt-4o': { litellm_provider: 'azure', input_cost_per_token: 2.75e-6, output_cost_per_token: 1.1e-5 },
      'dall-e-3': { litellm_provider: 'openai', input_cost_per_pixel: 1e-8 },
    };
    const r = await req('POST', '/api/v1/prices/import?project=shop&effectiveFrom=2026-01-01', doc);
    expect(r).toMatchObject({ status: 200, body: { created: 1, updated: 0, skipped: [{ key: 'dall-e-3' }] } });
    const resolved = await req('GET', '/api/v1/prices/resolve?provider=azure&model=gpt-4o&project=shop');
    expect(resolved.body.entry).toMatchObject({
      id: 'litellm:shop:azure/gpt-4o',
      origin: 'import',
      rates: { inputPerMtokUsd: 2.75 },
    });
    const other = await req('GET', '/api/v1/prices/resolve?provider=azure&model=gpt-4o&project=elsewhere');
    expect(other.body.entry.id).toBe('openai/gpt-4o');
  });
});

describe('reskpoints prices', () => {
  function io(): CliIo & { out: () => string; err: () => string } {
    let out = '';
    let errText = '';
    return {
      stdout: {
        write: (s: string) => {
          out += s;
        },
      },
      stderr: {
        write: (s: string) => {
          errText += s;
        },
      },
      env: { RESKPOINTS_URL: server.url, RESKPOINTS_ADMIN_TOKEN: ADMIN_TOKEN },
      cwd: tempDir(),
      clock,
      fetch: globalThis.fetch,
      onSignal: () => {},
      exit: () => {},
      out: () => out,
      err: () => errText,
    };
  }

  it('sets, shows, lists, resolves and shows the history of an entry', async () => {
    const a = io();
    const set = await runCli(
      [
        'prices',
        'set',
        'cli-house',
        '--provider',
        'openai',
        '--prefix',
        'cli-house',
        '--input',
        '1.5',
        '--output',
        '6',
        '--cache-read',
        '0.15',
        '--project',
        'shop',
        '--above',
        '200000',
        '--above-input',
        '3',
      ],
      a,
    );
    expect(set.exitCode, a.err()).toBe(0);
    expect(a.out()).toContain('(created)');
    const b = io();
    expect(
      (
        await runCli(
          ['prices', 'set', 'cli-house', '--prefix', 'cli-house', '--input', '2', '--output', '6', '--project', 'shop'],
          b,
        )
      ).exitCode,
    ).toBe(0);
    expect(b.out()).toContain('(new version written)');
    const show = io();
    await runCli(['prices', 'show', 'cli-house'], show);
    expect(show.out()).toContain('version 2');
    expect(show.out()).toContain('input $2');
    const list = io();
    await runCli(['prices', 'list', '--project', 'shop', '--origin', 'user'], list);
    expect(list.out()).toContain('cli-house*');
    const resolve = io();
    await runCli(['prices', 'resolve', 'cli-house-2026', '--provider', 'openai', '--project', 'shop'], resolve);
    expect(resolve.out()).toContain('cli-house  version 2');
    const history = io();
    await runCli(['prices', 'history', 'cli-house'], history);
    expect(
      history
        .out()
        .split('\n')
        .filter((l) => /^\d/.test(l)),
    ).toHaveLength(2);
  });

  it('imports a file and refuses bad numbers and catalogue ids', async () => {
    const dir = tempDir();
    const file = join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ 'cli-model': { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 } }));
    const imp = io();
    expect((await runCli(['prices', 'import', file], imp)).exitCode, imp.err()).toBe(0);
    expect(imp.out()).toContain('1 created');
    const bad = io();
    expect(
      (await runCli(['prices', 'set', 'x', '--model', 'x', '--input', 'cheap', '--output', '1'], bad)).exitCode,
    ).toBe(2);
    expect(bad.err()).toContain('--input must be a non-negative number');
    const cat = io();
    expect(
      (await runCli(['prices', 'set', 'openai/gpt-4o', '--model', 'gpt-4o', '--input', '1', '--output', '1'], cat))
        .exitCode,
    ).toBe(2);
    expect(cat.err()).toContain('read-only catalogue entry');
    const missing = io();
    expect((await runCli(['prices', 'show', 'nope'], missing)).exitCode).toBe(1);
    expect(missing.err()).toContain('404');
  });
});
