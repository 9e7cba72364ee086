import { describe, expect, it } from 'vitest';
import { checkRoleConfig } from './cluster-config.js';
import { configSchema } from './config/schema.js';

const cluster = {
  postgres: { url: 'postgres://postgres@127.0.0.1:5432/rp' },
  nats: { url: 'nats://127.0.0.1:4222' },
  clickhouse: { url: 'http://127.0.0.1:8123' },
};

describe('checkRoleConfig', () => {
  it('needs nothing for the embedded role', () => {
    expect(checkRoleConfig(configSchema.parse({})).ok).toBe(true);
  });

  it.each([
    ['ingest', ['postgres.url', 'nats.url']],
    ['worker', ['postgres.url', 'nats.url', 'clickhouse.url']],
    ['api', ['postgres.url', 'clickhouse.url']],
  ] as const)('names every service role %s is missing', (role, missing) => {
    const r = checkRoleConfig(configSchema.parse({ role }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('RP_CONFIG_INVALID');
      expect((r.error.issues ?? []).map((i) => i.path).sort()).toEqual([...missing].sort());
      expect(r.error.message).toContain(`required for role ${role}`);
    }
    expect(checkRoleConfig(configSchema.parse({ role, ...cluster })).ok).toBe(true);
  });
});
