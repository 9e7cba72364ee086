/**
 * The StateStore contract: one suite that every implementation (DuckDB, PostgreSQL, …) runs.
 * An adapter test calls `describeStateStoreContract` with a factory that opens an empty
 * store; tests an adapter cannot pass are skipped by name, each with its reason.
 */
import { afterEach, beforeEach, describe, expect } from 'vitest';
import type { ApiKeyRecord, Project, StateStore } from '../ports.js';
import { type ContractOptions, contractTest } from './contract-options.js';

export type { ContractOptions } from './contract-options.js';

export interface OpenedStateStore {
  store: StateStore;
  /** Closes the store and frees whatever `open` created (temp files, databases). */
  close: () => Promise<void>;
}

const T0 = Date.UTC(2026, 0, 5);

function key(overrides: Partial<ApiKeyRecord> & Pick<ApiKeyRecord, 'id' | 'keyHash'>): ApiKeyRecord {
  return { projectId: 'prj_a', name: 'ci', prefix: 'rp_abc', createdAtMs: T0, revokedAtMs: null, ...overrides };
}

/**
 * @param name shown in the test report, e.g. 'DuckDbStateStore (memory)'
 * @param open returns a store over empty storage; the suite calls `migrate()` itself
 */
export function describeStateStoreContract(
  name: string,
  open: () => Promise<OpenedStateStore>,
  options: ContractOptions = {},
): void {
  const test = contractTest(options);

  describe(`StateStore contract: ${name}`, () => {
    let opened: OpenedStateStore | undefined;
    let store: StateStore;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      await store.migrate();
    });
    afterEach(async () => {
      await opened?.close();
      opened = undefined;
    });

    test('creates, gets and lists projects', async () => {
      const a: Project = { id: 'prj_a', name: 'Checkout "assistant" ✓', createdAtMs: T0 };
      const b: Project = { id: 'prj_b', name: 'Search', createdAtMs: T0 + 1000 };
      expect(await store.listProjects()).toEqual([]);
      expect(await store.getProject('prj_a')).toBeNull();
      expect(await store.createProject(a)).toBe(true);
      expect(await store.createProject(b)).toBe(true);
      expect(await store.getProject('prj_a')).toEqual(a);
      const listed = await store.listProjects();
      expect([...listed].sort((x, y) => x.id.localeCompare(y.id))).toEqual([a, b]);
    });

    test('a second project with the same id is refused and changes nothing', async () => {
      const a: Project = { id: 'prj_a', name: 'First', createdAtMs: T0 };
      expect(await store.createProject(a)).toBe(true);
      expect(await store.createProject({ id: 'prj_a', name: 'Second', createdAtMs: T0 + 5 })).toBe(false);
      expect(await store.getProject('prj_a')).toEqual(a);
      expect((await store.listProjects()).length).toBe(1);
    });

    test('concurrent creates of one project: exactly one wins', async () => {
      const results = await Promise.all(
        [1, 2, 3, 4, 5].map((i) => store.createProject({ id: 'prj_race', name: `n${i}`, createdAtMs: T0 + i })),
      );
      expect(results.filter(Boolean).length).toBe(1);
    });

    test('finds an active key by hash and lists keys of a project', async () => {
      await store.createProject({ id: 'prj_a', name: 'A', createdAtMs: T0 });
      await store.createProject({ id: 'prj_b', name: 'B', createdAtMs: T0 });
      const k1 = key({ id: 'key_1', keyHash: 'a'.repeat(64), name: 'ingest', prefix: 'rp_live_1' });
      const k2 = key({ id: 'key_2', keyHash: 'b'.repeat(64), createdAtMs: T0 + 10 });
      const k3 = key({ id: 'key_3', keyHash: 'c'.repeat(64), projectId: 'prj_b' });
      for (const k of [k1, k2, k3]) await store.createApiKey(k);
      expect(await store.findApiKeyByHash('a'.repeat(64))).toEqual(k1);
      expect(await store.findApiKeyByHash('c'.repeat(64))).toEqual(k3);
      expect(await store.findApiKeyByHash('d'.repeat(64))).toBeNull();
      const listed = await store.listApiKeys('prj_a');
      expect([...listed].sort((x, y) => x.id.localeCompare(y.id))).toEqual([k1, k2]);
      expect(await store.listApiKeys('prj_none')).toEqual([]);
    });

    test('a revoked key is no longer found but still listed', async () => {
      await store.createProject({ id: 'prj_a', name: 'A', createdAtMs: T0 });
      const k = key({ id: 'key_1', keyHash: 'e'.repeat(64) });
      await store.createApiKey(k);
      expect(await store.revokeApiKey('key_1', T0 + 60_000)).toBe(true);
      expect(await store.findApiKeyByHash('e'.repeat(64))).toBeNull();
      expect(await store.listApiKeys('prj_a')).toEqual([{ ...k, revokedAtMs: T0 + 60_000 }]);
      // Revoking twice keeps the first revocation time.
      expect(await store.revokeApiKey('key_1', T0 + 120_000)).toBe(false);
      expect(await store.listApiKeys('prj_a')).toEqual([{ ...k, revokedAtMs: T0 + 60_000 }]);
      expect(await store.revokeApiKey('key_unknown', T0)).toBe(false);
    });

    test('settings: get, set, overwrite', async () => {
      expect(await store.getSetting('admin.tokenHash')).toBeNull();
      await store.setSetting('admin.tokenHash', 'v1');
      expect(await store.getSetting('admin.tokenHash')).toBe('v1');
      await store.setSetting('admin.tokenHash', 'v2 with "quotes" and\nnewline');
      expect(await store.getSetting('admin.tokenHash')).toBe('v2 with "quotes" and\nnewline');
      await store.setSetting('other', '');
      expect(await store.getSetting('other')).toBe('');
    });

    test('settings: list by prefix in key order with paging, delete', async () => {
      for (const k of ['lf.p/b', 'lf.p/a', 'lf.q/a', 'other', 'lf.p/c']) await store.setSetting(k, `v:${k}`);
      expect(await store.listSettings('lf.p/', 10)).toEqual([
        { key: 'lf.p/a', value: 'v:lf.p/a' },
        { key: 'lf.p/b', value: 'v:lf.p/b' },
        { key: 'lf.p/c', value: 'v:lf.p/c' },
      ]);
      expect((await store.listSettings('lf.', 2)).map((r) => r.key)).toEqual(['lf.p/a', 'lf.p/b']);
      expect((await store.listSettings('lf.', 2, 'lf.p/b')).map((r) => r.key)).toEqual(['lf.p/c', 'lf.q/a']);
      // A prefix is matched literally, LIKE wildcards included.
      expect(await store.listSettings('lf.%', 10)).toEqual([]);
      expect(await store.deleteSettings(['lf.p/a', 'lf.p/c', 'missing'])).toBe(2);
      expect((await store.listSettings('lf.', 10)).map((r) => r.key)).toEqual(['lf.p/b', 'lf.q/a']);
      expect(await store.deleteSettings([])).toBe(0);
      expect(await store.getSetting('other')).toBe('v:other');
    });

    test('setSettingIfAbsent: the first writer wins', async () => {
      expect(await store.setSettingIfAbsent('install.id', 'first')).toBe('first');
      expect(await store.setSettingIfAbsent('install.id', 'second')).toBe('first');
      expect(await store.getSetting('install.id')).toBe('first');
      const raced = await Promise.all(['a', 'b', 'c', 'd'].map((v) => store.setSettingIfAbsent('race', v)));
      expect(new Set(raced).size).toBe(1);
      expect(await store.getSetting('race')).toBe(raced[0]);
    });

    test('migrate twice keeps the data', async () => {
      await store.createProject({ id: 'prj_a', name: 'A', createdAtMs: T0 });
      await store.setSetting('k', 'v');
      await store.migrate();
      await store.migrate();
      expect(await store.getProject('prj_a')).toEqual({ id: 'prj_a', name: 'A', createdAtMs: T0 });
      expect(await store.getSetting('k')).toBe('v');
    });
  });
}
