import type { z } from 'zod';
import { configSchema, HOT_RELOADABLE_KEYS } from './schema.js';

/**
 * A flat catalogue of the configuration keys, read from the one schema so that the loader,
 * the environment mapping, the watcher and the docs cannot drift from it.
 */

export type ConfigValueKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'other';

export interface ConfigKeyInfo {
  /** Dotted path, e.g. `ingest.queueMaxEvents`. */
  key: string;
  path: string[];
  kind: ConfigValueKind;
  /** For `enum` keys. */
  enumValues: string[];
  /** Schema default; undefined for optional keys without one. */
  defaultValue: unknown;
  optional: boolean;
  minValue: number | null;
  maxValue: number | null;
  description: string;
  /** e.g. `RESKPOINTS_INGEST__QUEUE_MAX_EVENTS`. */
  envName: string;
  /** e.g. `--data-dir`; the CLI exposes flags for some top-level keys only. */
  flagName: string;
  hotReloadable: boolean;
}

export const ENV_PREFIX = 'RESKPOINTS_';

/** Variables with the prefix that are not configuration keys (the CLI reads them itself). */
export const NON_CONFIG_ENV_NAMES: ReadonlySet<string> = new Set([
  'RESKPOINTS_CONFIG',
  'RESKPOINTS_URL',
  'RESKPOINTS_TOKEN',
  // Printed by `reskpoints keys create-project --env` for the user's own scripts.
  'RESKPOINTS_INGEST_KEY',
]);

// zod's public types hide the definition tree; the catalogue needs to walk it.
type AnySchema = z.ZodType & {
  def: { type: string; innerType?: AnySchema; defaultValue?: unknown };
  description?: string;
  shape?: Record<string, AnySchema>;
  options?: unknown[];
  isInt?: boolean;
  minValue?: number | null;
  maxValue?: number | null;
};

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch']);

function unwrap(schema: AnySchema): {
  base: AnySchema;
  defaultValue: unknown;
  optional: boolean;
  description: string;
} {
  let s = schema;
  let defaultValue: unknown;
  let optional = false;
  let description = schema.description ?? '';
  while (WRAPPERS.has(s.def.type) && s.def.innerType) {
    if ((s.def.type === 'default' || s.def.type === 'prefault') && defaultValue === undefined) {
      defaultValue = s.def.defaultValue;
    }
    if (s.def.type === 'optional') optional = true;
    s = s.def.innerType;
    if (!description && s.description) description = s.description;
  }
  return { base: s, defaultValue, optional, description };
}

export function camelToScreamingSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function camelToKebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

export function screamingSnakeToCamel(name: string): string {
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `ingest.queueMaxEvents` → `RESKPOINTS_INGEST__QUEUE_MAX_EVENTS`. */
export function envNameForKey(key: string): string {
  return ENV_PREFIX + key.split('.').map(camelToScreamingSnake).join('__');
}

/** `RESKPOINTS_INGEST__QUEUE_MAX_EVENTS` → `ingest.queueMaxEvents` (whether or not such a key exists). */
export function keyForEnvName(envName: string): string {
  return envName.slice(ENV_PREFIX.length).split('__').map(screamingSnakeToCamel).join('.');
}

function buildCatalogue(): { leaves: ConfigKeyInfo[]; groups: string[] } {
  const leaves: ConfigKeyInfo[] = [];
  const groups: string[] = [];
  const hot = new Set<string>(HOT_RELOADABLE_KEYS);
  const visit = (shape: Record<string, AnySchema>, prefix: string[]): void => {
    for (const [name, child] of Object.entries(shape)) {
      const path = [...prefix, name];
      const key = path.join('.');
      const { base, defaultValue, optional, description } = unwrap(child);
      if (base.def.type === 'object' && base.shape) {
        groups.push(key);
        visit(base.shape, path);
        continue;
      }
      let kind: ConfigValueKind = 'other';
      if (base.def.type === 'string') kind = 'string';
      else if (base.def.type === 'boolean') kind = 'boolean';
      else if (base.def.type === 'enum') kind = 'enum';
      else if (base.def.type === 'number') kind = base.isInt ? 'integer' : 'number';
      const isNumber = kind === 'number' || kind === 'integer';
      leaves.push({
        key,
        path,
        kind,
        enumValues: kind === 'enum' ? (base.options ?? []).map(String) : [],
        defaultValue,
        optional,
        minValue: isNumber ? (base.minValue ?? null) : null,
        maxValue: isNumber ? (base.maxValue ?? null) : null,
        description,
        envName: envNameForKey(key),
        flagName: `--${camelToKebab(path.join('-'))}`,
        hotReloadable: hot.has(key),
      });
    }
  };
  visit((configSchema as unknown as AnySchema).shape ?? {}, []);
  return { leaves, groups };
}

const catalogue = buildCatalogue();

/** Every leaf key of the schema, in schema order. */
export const CONFIG_KEYS: readonly ConfigKeyInfo[] = catalogue.leaves;
/** Keys that hold nested objects, e.g. `ingest`. */
export const CONFIG_GROUPS: ReadonlySet<string> = new Set(catalogue.groups);

const byKey = new Map(CONFIG_KEYS.map((k) => [k.key, k]));
export function configKeyInfo(key: string): ConfigKeyInfo | undefined {
  return byKey.get(key);
}

export function getAtPath(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

export function setAtPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const p = path[i] as string;
    const next = cur[p];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[path[path.length - 1] as string] = value;
}

/** Edit distance, for "did you mean" hints on misspelt keys. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** The closest known name, if it is close enough to be a likely typo. */
export function closestName(name: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = Math.max(2, Math.floor(name.length / 3));
  return best !== null && bestDistance <= allowed ? best : null;
}
