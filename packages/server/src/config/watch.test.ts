import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from './loader.js';
import type { Config } from './schema.js';
import { type ConfigWatcher, watchConfig } from './watch.js';

let dir: string;
let file: string;
let watcher: ConfigWatcher | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rp-watch-'));
  file = join(dir, 'reskpoints.yaml');
  writeFileSync(file, 'port: 5000\nlogLevel: info\nretentionDays: 30\n');
});
afterEach(() => {
  watcher?.close();
  watcher = null;
  rmSync(dir, { recursive: true, force: true });
});

function initial(env: Record<string, string> = {}): Config {
  const r = loadConfig({ filePath: file, env, cwd: dir });
  if (!r.ok) throw new Error(r.error.message);
  return r.value.config;
}

/** Collects watcher callbacks; `next()` resolves on the next one. */
function recorder() {
  const events: Array<{ kind: 'change'; config: Config; keys: string[] } | { kind: 'problem'; message: string }> = [];
  let wake: (() => void) | null = null;
  const push = (e: (typeof events)[number]) => {
    events.push(e);
    wake?.();
  };
  return {
    events,
    onChange: (config: Config, keys: string[]) => push({ kind: 'change', config, keys }),
    onProblem: (message: string) => push({ kind: 'problem', message }),
    async waitFor(count: number, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} events, got ${events.length}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

const fast = { debounceMs: 20, pollIntervalMs: 50 };

describe('watchConfig', () => {
  it('applies a changed hot-reloadable key', async () => {
    const rec = recorder();
    watcher = watchConfig(file, initial(), rec.onChange, rec.onProblem, fast);
    writeFileSync(file, 'port: 5000\nlogLevel: debug\nretentionDays: 7\n');
    await rec.waitFor(1);
    const e = rec.events[0];
    expect(e?.kind).toBe('change');
    if (e?.kind !== 'change') return;
    expect(e.keys).toEqual(['logLevel', 'retentionDays']);
    expect(e.config.logLevel).toBe('debug');
    expect(e.config.retentionDays).toBe(7);
    expect(e.config.port).toBe(5000);
  });

  it('keeps the old config and reports every issue on an invalid edit, then recovers', async () => {
    const rec = recorder();
    watcher = watchConfig(file, initial(), rec.onChange, rec.onProblem, fast);
    writeFileSync(file, 'port: 5000\nlogLevel: loud\nretentionDays: 0\ntypo: 1\n');
    await rec.waitFor(1);
    const p = rec.events[0];
    expect(p?.kind).toBe('problem');
    if (p?.kind !== 'problem') return;
    expect(p.message).toContain('keeping the running configuration');
    expect(p.message).toContain('logLevel: expected one of');
    expect(p.message).toContain('retentionDays: expected number ≥ 1');
    expect(p.message).toContain('typo: unknown key');

    writeFileSync(file, 'port: 5000\nlogLevel: warn\nretentionDays: 30\n');
    await rec.waitFor(2);
    const c = rec.events[1];
    expect(c?.kind === 'change' && c.keys).toEqual(['logLevel']);
    expect(c?.kind === 'change' && c.config.logLevel).toBe('warn');
  });

  it('reports non-hot changes as needing a restart and does not apply them', async () => {
    const rec = recorder();
    watcher = watchConfig(file, initial(), rec.onChange, rec.onProblem, fast);
    writeFileSync(file, 'port: 6000\nlogLevel: error\nretentionDays: 30\n');
    await rec.waitFor(2);
    const problem = rec.events.find((e) => e.kind === 'problem');
    expect(problem?.kind === 'problem' && problem.message).toMatch(/changed port: needs restart/);
    const change = rec.events.find((e) => e.kind === 'change');
    expect(change?.kind === 'change' && change.keys).toEqual(['logLevel']);
    expect(change?.kind === 'change' && change.config.port).toBe(5000);
  });

  it('keeps env precedence on reload', async () => {
    const rec = recorder();
    const env = { RESKPOINTS_RETENTION_DAYS: '3' };
    watcher = watchConfig(file, initial(env), rec.onChange, rec.onProblem, { ...fast, env });
    writeFileSync(file, 'port: 5000\nlogLevel: debug\nretentionDays: 99\n');
    await rec.waitFor(1);
    const e = rec.events[0];
    expect(e?.kind === 'change' && e.keys).toEqual(['logLevel']);
    expect(e?.kind === 'change' && e.config.retentionDays).toBe(3);
  });

  it('follows a file replaced by rename, as editors save it', async () => {
    const rec = recorder();
    watcher = watchConfig(file, initial(), rec.onChange, rec.onProblem, fast);
    const tmp = join(dir, '.reskpoints.yaml.swp');
    writeFileSync(tmp, 'port: 5000\nlogLevel: trace\nretentionDays: 30\n');
    renameSync(tmp, file);
    await rec.waitFor(1);
    expect(rec.events[0]?.kind === 'change' && rec.events[0].config.logLevel).toBe('trace');
  });

  it('reports a deleted file and never throws, even when callbacks do', async () => {
    let problems = 0;
    watcher = watchConfig(
      file,
      initial(),
      () => {
        throw new Error('boom');
      },
      () => {
        problems++;
        throw new Error('reporter boom');
      },
      fast,
    );
    rmSync(file);
    const deadline = Date.now() + 5000;
    while (problems === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 30));
    expect(problems).toBe(1);
    writeFileSync(file, 'port: 5000\nlogLevel: debug\nretentionDays: 30\n');
    // onChange throws → reported through onProblem (which throws too; swallowed).
    while (problems === 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 30));
    expect(problems).toBe(2);
  });
});
