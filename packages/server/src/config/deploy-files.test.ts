/**
 * Keeps deploy/ (compose and Kubernetes manifests) in step with the configuration schema:
 * every RESKPOINTS_* variable they set must be a configuration key, every role must exist,
 * and each node's environment must load into a valid configuration.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { checkRoleConfig } from '../cluster-config.js';
import { CONFIG_KEYS, ENV_PREFIX } from './keys.js';
import { loadConfig } from './loader.js';
import { configSchema } from './schema.js';

const DEPLOY_DIR = fileURLToPath(new URL('../../../../deploy/', import.meta.url));
const ENV_NAMES = new Set(CONFIG_KEYS.map((k) => k.envName));
const ROLES: readonly string[] = configSchema.shape.role.unwrap().options;
// An empty directory, so that loadConfig finds no config file of the developer's.
const emptyCwd = mkdtempSync(join(tmpdir(), 'rp-deploy-'));
afterAll(() => rmSync(emptyCwd, { recursive: true, force: true }));

type Env = Record<string, string>;

/** Compose's `${VAR:-default}` / `${VAR-default}` / `${VAR}` with nothing set in the shell. */
function interpolate(value: string): string {
  return value.replace(
    /\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g,
    (_, fallback: string | undefined) => fallback ?? '',
  );
}

function composeEnv(environment: unknown): Env {
  const env: Env = {};
  if (Array.isArray(environment)) {
    for (const item of environment as string[]) {
      const at = item.indexOf('=');
      env[at < 0 ? item : item.slice(0, at)] = at < 0 ? '' : interpolate(item.slice(at + 1));
    }
  } else if (environment && typeof environment === 'object') {
    for (const [k, v] of Object.entries(environment)) env[k] = interpolate(String(v ?? ''));
  }
  return env;
}

/** Loads a node's environment the way `reskpoints start` does; returns problems and warnings. */
function check(env: Env): {
  problems: string[];
  warnings: string[];
  role: string | undefined;
  port: number | undefined;
} {
  const loaded = loadConfig({ env, cwd: emptyCwd });
  if (!loaded.ok) {
    return {
      problems: (loaded.error.issues ?? []).map((i) => `${i.path}: ${i.message}`),
      warnings: [],
      role: undefined,
      port: undefined,
    };
  }
  // The services each role needs (PostgreSQL, NATS, ClickHouse) must be configured too.
  const roleCheck = checkRoleConfig(loaded.value.config);
  return {
    problems: roleCheck.ok ? [] : (roleCheck.error.issues ?? []).map((i) => `${i.path}: ${i.message}`),
    warnings: loaded.value.warnings,
    role: loaded.value.config.role,
    port: loaded.value.config.port,
  };
}

function unknownVariables(env: Env): string[] {
  return Object.keys(env).filter((k) => k.startsWith(ENV_PREFIX) && !ENV_NAMES.has(k));
}

describe('deploy/compose.yaml', () => {
  const compose = parse(readFileSync(join(DEPLOY_DIR, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, { environment?: unknown; image?: string }>;
  };
  const nodes = Object.entries(compose.services)
    .map(([name, svc]) => ({ name, env: composeEnv(svc.environment) }))
    .filter((n) => Object.keys(n.env).some((k) => k.startsWith(ENV_PREFIX)));

  it('runs two ingest nodes, one worker and one API node next to the backing services', () => {
    const roles = nodes.map((n) => n.env.RESKPOINTS_ROLE).sort();
    expect(roles).toEqual(['api', 'ingest', 'ingest', 'worker']);
    for (const s of ['clickhouse', 'postgres', 'nats', 'redis']) expect(compose.services[s]).toBeDefined();
  });

  it('sets only RESKPOINTS_* variables that are configuration keys, with valid roles', () => {
    for (const n of nodes) {
      expect(unknownVariables(n.env), n.name).toEqual([]);
      expect(ROLES, n.name).toContain(n.env.RESKPOINTS_ROLE);
    }
  });

  it('gives every node a configuration that loads without problems or warnings', () => {
    for (const n of nodes) {
      const r = check(n.env);
      expect(r.problems, n.name).toEqual([]);
      expect(r.warnings, n.name).toEqual([]);
      expect(r.role, n.name).toBe(n.env.RESKPOINTS_ROLE);
    }
  });
});

describe('deploy/k8s', () => {
  interface K8sDoc {
    kind: string;
    metadata: { name: string };
    data?: Record<string, string>;
    stringData?: Record<string, string>;
    spec?: {
      template?: {
        spec: {
          containers: Array<{
            name: string;
            env?: Array<{ name: string; value?: string }>;
            envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
            ports?: Array<{ name?: string; containerPort: number }>;
          }>;
        };
      };
    };
  }
  const docs: K8sDoc[] = readdirSync(join(DEPLOY_DIR, 'k8s'))
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(DEPLOY_DIR, 'k8s', f), 'utf8')).map((d) => {
        expect(d.errors, f).toEqual([]);
        return d.toJS() as K8sDoc;
      }),
    )
    .filter((d) => d != null);
  const configMaps = new Map(docs.filter((d) => d.kind === 'ConfigMap').map((d) => [d.metadata.name, d.data ?? {}]));
  const secrets = new Map(docs.filter((d) => d.kind === 'Secret').map((d) => [d.metadata.name, d.stringData ?? {}]));
  const nodes = docs
    .filter((d) => d.kind === 'Deployment' || d.kind === 'StatefulSet')
    .flatMap((d) =>
      (d.spec?.template?.spec.containers ?? []).map((c) => {
        const env: Env = {};
        for (const from of c.envFrom ?? []) {
          const source = from.configMapRef
            ? configMaps.get(from.configMapRef.name)
            : secrets.get(from.secretRef?.name ?? '');
          expect(source, `${d.metadata.name}: envFrom refers to a missing ConfigMap/Secret`).toBeDefined();
          Object.assign(env, source);
        }
        for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
        return { name: `${d.metadata.name}/${c.name}`, env, ports: c.ports ?? [] };
      }),
    )
    .filter((n) => Object.keys(n.env).some((k) => k.startsWith(ENV_PREFIX)));

  it('has a Deployment for each cluster role', () => {
    expect(nodes.map((n) => n.env.RESKPOINTS_ROLE).sort()).toEqual(['api', 'ingest', 'worker']);
  });

  it('ConfigMaps and Secrets hold only RESKPOINTS_* variables that are configuration keys', () => {
    for (const [name, data] of [...configMaps, ...secrets]) {
      const env = Object.fromEntries(Object.entries(data).filter(([k]) => k.startsWith(ENV_PREFIX)));
      expect(unknownVariables(env), name).toEqual([]);
    }
  });

  it('gives every node a valid role, a loadable configuration and the port its container exposes', () => {
    for (const n of nodes) {
      expect(unknownVariables(n.env), n.name).toEqual([]);
      expect(ROLES, n.name).toContain(n.env.RESKPOINTS_ROLE);
      const r = check(n.env);
      expect(r.problems, n.name).toEqual([]);
      expect(r.warnings, n.name).toEqual([]);
      expect(
        n.ports.map((p) => p.containerPort),
        n.name,
      ).toContain(r.port);
    }
  });
});
