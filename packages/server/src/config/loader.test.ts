import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_KEYS, envNameForKey, keyForEnvName } from './keys.js';
import { loadConfig } from './loader.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rp-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function problems(result: ReturnType<typeof loadConfig>): string[] {
  if (result.ok) throw new Error('expected the config to be rejected');
  return (result.error.issues ?? []).map((i) => `${i.path}: ${i.message}`);
}

describe('loadConfig', () => {
  it('uses schema defaults when nothing is given', () => {
    const r = loadConfig({ env: {}, cwd: dir });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.filePath).toBeNull();
    expect(r.value.config.port).toBe(4318);
    expect(r.value.config.host).toBe('127.0.0.1');
    expect(r.value.config.ingest.queueMaxEvents).toBe(200_000);
    expect(r.value.config.adminToken).toBeUndefined();
  });

  it('applies flags over env over file over defaults', () => {
    const file = write(
      'reskpoints.yaml',
      'port: 1111\nhost: 0.0.0.0\nretentionDays: 30\ningest:\n  queueMaxEvents: 500\n  maxBatchEvents: 50\n',
    );
    const r = loadConfig({
      cwd: dir,
      filePath: file,
      env: { RESKPOINTS_PORT: '2222', RESKPOINTS_RETENTION_DAYS: '14', RESKPOINTS_INGEST__QUEUE_MAX_EVENTS: '900' },
      flags: { port: '3333' },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = r.value.config;
    expect(c.port).toBe(3333); // flag beats env and file
    expect(c.retentionDays).toBe(14); // env beats file
    expect(c.ingest.queueMaxEvents).toBe(900); // nested env beats file
    expect(c.ingest.maxBatchEvents).toBe(50); // file beats default
    expect(c.host).toBe('0.0.0.0');
    expect(c.ingest.flushIntervalMs).toBe(2); // default fills the rest of the group
    expect(r.value.sources.port).toEqual({ kind: 'flag', name: '--port' });
    expect(r.value.sources.retentionDays).toEqual({ kind: 'env', name: 'RESKPOINTS_RETENTION_DAYS' });
    expect(r.value.sources['ingest.maxBatchEvents']).toEqual({ kind: 'file', path: file });
  });

  it('reads JSON files and finds reskpoints.json in cwd', () => {
    write('reskpoints.json', JSON.stringify({ dataDir: '/var/lib/rp', clickhouse: { url: 'http://127.0.0.1:8123' } }));
    const r = loadConfig({ cwd: dir, env: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.filePath).toBe(join(dir, 'reskpoints.json'));
    expect(r.value.config.dataDir).toBe('/var/lib/rp');
    expect(r.value.config.clickhouse.url).toBe('http://127.0.0.1:8123');
    expect(r.value.config.clickhouse.database).toBe('reskpoints');
  });

  it('takes the file path from RESKPOINTS_CONFIG', () => {
    const file = write('custom.yml', 'logLevel: debug\n');
    const r = loadConfig({ cwd: dir, env: { RESKPOINTS_CONFIG: file } });
    expect(r.ok && r.value.config.logLevel).toBe('debug');
  });

  it('maps nested env names generically and coerces by schema type', () => {
    const r = loadConfig({
      cwd: dir,
      env: {
        RESKPOINTS_CLICKHOUSE__URL: 'http://ch:8123',
        RESKPOINTS_INGEST__FLUSH_INTERVAL_MS: '10',
        RESKPOINTS_DATA_DIR: '/data',
        RESKPOINTS_ROLE: 'worker',
        RESKPOINTS_ADMIN_TOKEN: 'a'.repeat(32),
        RESKPOINTS_NATS__STREAM: '12345', // a string key keeps digits as a string
        RESKPOINTS_LOG_LEVEL: '', // empty means unset
      },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.config.clickhouse.url).toBe('http://ch:8123');
    expect(r.value.config.ingest.flushIntervalMs).toBe(10);
    expect(r.value.config.dataDir).toBe('/data');
    expect(r.value.config.role).toBe('worker');
    expect(r.value.config.adminToken).toBe('a'.repeat(32));
    expect(r.value.config.nats.stream).toBe('12345');
    expect(r.value.config.logLevel).toBe('info');
  });

  it('warns about unknown RESKPOINTS_* variables, suggesting the right name', () => {
    const r = loadConfig({ cwd: dir, env: { RESKPOINTS_CLICKHOUSE_URL: 'http://ch:8123', RESKPOINTS_URL: 'x' } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.warnings).toEqual([
      'ignoring RESKPOINTS_CLICKHOUSE_URL: not a configuration setting (did you mean RESKPOINTS_CLICKHOUSE__URL?)',
    ]);
  });

  it('reports every problem at once, each with its key and source', () => {
    const file = write(
      'reskpoints.yaml',
      ['role: leader', 'ingest:', '  queueMaxEvents: 0', '  flushIntervalMs: soon', 'clickhouse:', '  url: nope'].join(
        '\n',
      ),
    );
    const r = loadConfig({
      cwd: dir,
      filePath: file,
      env: { RESKPOINTS_PORT: '70000', RESKPOINTS_RETENTION_DAYS: 'forever', RESKPOINTS_ADMIN_TOKEN: 'short' },
      flags: { host: '' },
    });
    const list = problems(r);
    expect(list).toEqual(
      expect.arrayContaining([
        'port: expected number ≤ 65535, got 70000 (from RESKPOINTS_PORT)',
        `role: expected one of all|ingest|worker|api, got "leader" (from ${file})`,
        `ingest.queueMaxEvents: expected number ≥ 1, got 0 (from ${file})`,
        `ingest.flushIntervalMs: expected number, got "soon" (from ${file})`,
        `clickhouse.url: expected a URL, got "nope" (from ${file})`,
        'retentionDays: expected number, got "forever" (from RESKPOINTS_RETENTION_DAYS)',
        'adminToken: expected at least 16 characters, got (hidden) (from RESKPOINTS_ADMIN_TOKEN)',
        'host: expected at least 1 character, got "" (from --host)',
      ]),
    );
    expect(list).toHaveLength(8);
    if (!r.ok) {
      expect(r.error.code).toBe('RP_CONFIG_INVALID');
      expect(r.error.message).toContain('8 problems');
      expect(r.error.message).toContain('port: expected number ≤ 65535');
    }
  });

  it('rejects non-integers for integer keys', () => {
    expect(problems(loadConfig({ cwd: dir, env: { RESKPOINTS_PORT: '80.5' } }))).toEqual([
      'port: expected integer, got 80.5 (from RESKPOINTS_PORT)',
    ]);
  });

  it('reports unknown keys in the file, at any depth, with a suggestion', () => {
    const file = write('c.yaml', 'prot: 80\ningest:\n  queueMaxEvent: 5\n  bogus: 1\nmystery:\n  a: 1\n');
    expect(problems(loadConfig({ cwd: dir, filePath: file, env: {} }))).toEqual([
      `prot: unknown key (did you mean port?) (from ${file})`,
      `ingest.queueMaxEvent: unknown key (did you mean ingest.queueMaxEvents?) (from ${file})`,
      `ingest.bogus: unknown key (from ${file})`,
      `mystery: unknown key (from ${file})`,
    ]);
  });

  it('reports a group given as a scalar', () => {
    const file = write('c.json', '{"ingest": 5}');
    expect(problems(loadConfig({ cwd: dir, filePath: file, env: {} }))).toEqual([
      `ingest: expected object, got 5 (from ${file})`,
    ]);
  });

  it('names the path of a missing or unreadable file, and still reports the other problems', () => {
    const missing = join(dir, 'nope.yaml');
    expect(problems(loadConfig({ cwd: dir, filePath: missing, env: { RESKPOINTS_PORT: 'x' } }))).toEqual([
      `config: cannot read config file ${missing}: file not found`,
      'port: expected number, got "x" (from RESKPOINTS_PORT)',
    ]);
    expect(problems(loadConfig({ cwd: dir, filePath: dir, env: {} }))[0]).toContain(`cannot read config file ${dir}`);
  });

  it('reports malformed YAML and JSON and unsupported extensions', () => {
    const yamlFile = write('bad.yaml', 'port: [1, 2\nhost: x\n');
    expect(problems(loadConfig({ cwd: dir, filePath: yamlFile, env: {} }))[0]).toMatch(
      new RegExp(`^config: ${yamlFile} is not valid YAML`),
    );
    const jsonFile = write('bad.json', '{"port": ');
    expect(problems(loadConfig({ cwd: dir, filePath: jsonFile, env: {} }))[0]).toMatch(/is not valid JSON/);
    const tomlFile = write('c.toml', 'port = 1');
    expect(problems(loadConfig({ cwd: dir, filePath: tomlFile, env: {} }))[0]).toContain(
      'unsupported config file type',
    );
    const listFile = write('list.yaml', '- 1\n- 2\n');
    expect(problems(loadConfig({ cwd: dir, filePath: listFile, env: {} }))[0]).toContain('mapping');
  });

  it('treats an empty file as no settings', () => {
    const file = write('empty.yaml', '');
    const r = loadConfig({ cwd: dir, filePath: file, env: {} });
    expect(r.ok && r.value.config.port).toBe(4318);
  });

  it('resolves a relative file path against cwd', () => {
    write('rel.yaml', 'port: 9999\n');
    const r = loadConfig({ cwd: dir, filePath: 'rel.yaml', env: {} });
    expect(r.ok && r.value.config.port).toBe(9999);
  });
});

describe('env names', () => {
  it('round-trip for every key', () => {
    for (const k of CONFIG_KEYS) expect(keyForEnvName(envNameForKey(k.key))).toBe(k.key);
    expect(envNameForKey('ingest.queueMaxEvents')).toBe('RESKPOINTS_INGEST__QUEUE_MAX_EVENTS');
    expect(envNameForKey('dataDir')).toBe('RESKPOINTS_DATA_DIR');
  });
});
