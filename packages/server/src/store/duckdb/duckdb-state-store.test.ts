import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '@reskpoints/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStateStoreContract } from '../contract/state-store.contract.js';
import { DuckDbStateStore } from './duckdb-state-store.js';

describeStateStoreContract('DuckDbStateStore (memory)', async () => {
  const store = await DuckDbStateStore.open({ path: ':memory:', clock: new FakeClock() });
  return { store, close: () => store.close() };
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reskpoints-state-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileNo = 0;
describeStateStoreContract('DuckDbStateStore (file)', async () => {
  const store = await DuckDbStateStore.open({ path: join(dir, `contract-${fileNo++}.duckdb`), clock: new FakeClock() });
  return { store, close: () => store.close() };
});

describe('DuckDbStateStore', () => {
  it('keeps projects, keys and settings across a reopen', async () => {
    const path = join(dir, 'reopen.duckdb');
    const first = await DuckDbStateStore.open({ path });
    await first.migrate();
    await first.createProject({ id: 'prj_a', name: 'A', createdAtMs: 1 });
    await first.createApiKey({
      id: 'key_1',
      projectId: 'prj_a',
      name: 'ci',
      keyHash: 'f'.repeat(64),
      prefix: 'rp_x',
      createdAtMs: 2,
      revokedAtMs: null,
    });
    await first.setSetting('install.id', 'abc');
    await first.close();
    const second = await DuckDbStateStore.open({ path });
    await second.migrate();
    expect(await second.getProject('prj_a')).toEqual({ id: 'prj_a', name: 'A', createdAtMs: 1 });
    expect((await second.findApiKeyByHash('f'.repeat(64)))?.id).toBe('key_1');
    expect(await second.setSettingIfAbsent('install.id', 'other')).toBe('abc');
    await second.close();
  });
});
