import { readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { type AppError, appError, err, type FieldIssue, ok, type Result } from '@reskpoints/core';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import {
  CONFIG_GROUPS,
  CONFIG_KEYS,
  type ConfigKeyInfo,
  closestName,
  configKeyInfo,
  ENV_PREFIX,
  keyForEnvName,
  NON_CONFIG_ENV_NAMES,
  setAtPath,
} from './keys.js';
import { type Config, configSchema } from './schema.js';

/** Where a setting came from; named in every problem report. */
export type ConfigSource =
  | { kind: 'default' }
  | { kind: 'file'; path: string }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; name: string };

export interface LoadConfigOptions {
  /**
   * Values from command-line flags, keyed by dotted config key (`port`, `dataDir`,
   * `ingest.queueMaxEvents`). Strings are coerced by the key's schema type; undefined
   * values are ignored.
   */
  flags?: Record<string, unknown>;
  /** The environment to read `RESKPOINTS_*` variables from (pass `process.env`). */
  env?: Record<string, string | undefined>;
  /**
   * Config file (YAML by `.yaml`/`.yml`, JSON by `.json`). When absent, `RESKPOINTS_CONFIG`
   * is used, then `reskpoints.yaml`, `reskpoints.yml` or `reskpoints.json` in `cwd` if one
   * exists. An explicitly named file that cannot be read is an error.
   */
  filePath?: string;
  /** Base for relative file paths and for the default file lookup. Default: process.cwd(). */
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file that was read, or null when none was. */
  filePath: string | null;
  /** Where each leaf key's value came from (keys not listed came from defaults). */
  sources: Record<string, ConfigSource>;
  /** Problems that do not stop the start, e.g. an unknown RESKPOINTS_* variable. */
  warnings: string[];
}

export const DEFAULT_CONFIG_FILE_NAMES = ['reskpoints.yaml', 'reskpoints.yml', 'reskpoints.json'] as const;

export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return source.path;
    case 'env':
      return source.name;
    case 'flag':
      return source.name;
  }
}

interface Entry {
  value: unknown;
  source: ConfigSource;
}

const SECRET_KEY = /token|password|secret/i;

function showValue(key: string, value: unknown): string {
  if (SECRET_KEY.test(key)) return '(hidden)';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Converts a string from the environment or a flag to the key's schema type when it parses as one. */
export function coerceForKey(info: ConfigKeyInfo, raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  const text = raw.trim();
  switch (info.kind) {
    case 'number':
    case 'integer':
      return /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : raw;
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      return raw;
    }
    case 'other':
      try {
        return JSON.parse(text);
      } catch {
        return raw;
      }
    default:
      return raw;
  }
}

const chars = (n: number): string => `${n} character${n === 1 ? '' : 's'}`;

function issueText(issue: z.core.$ZodIssue, key: string): string {
  const input = (issue as { input?: unknown }).input;
  const got = input === undefined ? '' : `, got ${showValue(key, input)}`;
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined) return 'required';
      const expected = issue.expected === 'int' ? 'integer' : issue.expected;
      return `expected ${expected}${got}`;
    }
    case 'too_big': {
      const op = issue.inclusive === false ? '<' : '≤';
      if (issue.origin === 'string') return `expected at most ${chars(Number(issue.maximum))}${got}`;
      return `expected ${issue.origin} ${op} ${issue.maximum}${got}`;
    }
    case 'too_small': {
      const op = issue.inclusive === false ? '>' : '≥';
      if (issue.origin === 'string') return `expected at least ${chars(Number(issue.minimum))}${got}`;
      return `expected ${issue.origin} ${op} ${issue.minimum}${got}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join('|')}${got}`;
    case 'invalid_format':
      return `expected a ${issue.format === 'url' ? 'URL' : issue.format}${got}`;
    default:
      return issue.message;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

interface FileRead {
  values: Record<string, unknown> | null;
  problems: FieldIssue[];
}

function readConfigFile(absPath: string, shownPath: string): FileRead {
  let text: string;
  try {
    text = readFileSync(absPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : (code ?? String(e));
    return { values: null, problems: [{ path: 'config', message: `cannot read config file ${shownPath}: ${why}` }] };
  }
  const ext = extname(absPath).toLowerCase();
  let parsed: unknown;
  if (ext === '.json') {
    try {
      parsed = text.trim() === '' ? {} : JSON.parse(text);
    } catch (e) {
      return {
        values: null,
        problems: [{ path: 'config', message: `${shownPath} is not valid JSON: ${(e as Error).message}` }],
      };
    }
  } else if (ext === '.yaml' || ext === '.yml') {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      return {
        values: null,
        problems: doc.errors.map((e) => ({
          path: 'config',
          message: `${shownPath} is not valid YAML: ${e.message.split('\n')[0]}`,
        })),
      };
    }
    parsed = doc.toJS() ?? {};
  } else {
    return {
      values: null,
      problems: [
        { path: 'config', message: `${shownPath}: unsupported config file type "${ext}" (use .yaml, .yml or .json)` },
      ],
    };
  }
  if (!isPlainObject(parsed)) {
    return {
      values: null,
      problems: [{ path: 'config', message: `${shownPath} must hold a mapping of settings at the top level` }],
    };
  }
  return { values: parsed, problems: [] };
}

/** Walks the file's object, keeping known keys and reporting every unknown one. */
function collectFileEntries(
  values: Record<string, unknown>,
  source: ConfigSource,
  into: Map<string, Entry>,
  problems: FieldIssue[],
): void {
  const leafKeys = CONFIG_KEYS.map((k) => k.key);
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [name, value] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${name}` : name;
      if (CONFIG_GROUPS.has(key)) {
        if (isPlainObject(value)) walk(value, key);
        else if (value !== null && value !== undefined) into.set(key, { value, source });
        continue;
      }
      if (configKeyInfo(key)) {
        if (value !== null && value !== undefined) into.set(key, { value, source });
        continue;
      }
      const siblings = [...leafKeys, ...CONFIG_GROUPS].filter((k) =>
        prefix ? k.startsWith(`${prefix}.`) && !k.slice(prefix.length + 1).includes('.') : !k.includes('.'),
      );
      const hint = closestName(key, siblings);
      problems.push({
        path: key,
        message: `unknown key${hint ? ` (did you mean ${hint}?)` : ''} (from ${describeSource(source)})`,
      });
    }
  };
  walk(values, '');
}

function findDefaultFile(cwd: string): string | null {
  for (const name of DEFAULT_CONFIG_FILE_NAMES) {
    const p = resolve(cwd, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // absent: try the next name
    }
  }
  return null;
}

/**
 * Builds the configuration from flags > RESKPOINTS_* environment > config file > schema
 * defaults and validates it with the one schema. Every problem is reported at once, each
 * naming its key and where the value came from.
 */
export function loadConfig(options: LoadConfigOptions = {}): Result<LoadedConfig, AppError> {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const problems: FieldIssue[] = [];
  const warnings: string[] = [];
  const entries = new Map<string, Entry>();

  const explicitPath = options.filePath ?? (env.RESKPOINTS_CONFIG?.trim() ? env.RESKPOINTS_CONFIG : undefined);
  const filePath = explicitPath !== undefined ? resolve(cwd, explicitPath) : findDefaultFile(cwd);
  if (filePath !== null) {
    const shown = explicitPath ?? filePath;
    const read = readConfigFile(filePath, shown);
    problems.push(...read.problems);
    if (read.values) collectFileEntries(read.values, { kind: 'file', path: shown }, entries, problems);
  }

  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || NON_CONFIG_ENV_NAMES.has(name)) continue;
    // An empty variable is how shells and compose files spell "not set".
    if (raw === undefined || raw === '') continue;
    const key = keyForEnvName(name);
    const info = configKeyInfo(key);
    if (!info) {
      const hint = closestName(
        name,
        CONFIG_KEYS.map((k) => k.envName),
      );
      warnings.push(`ignoring ${name}: not a configuration setting${hint ? ` (did you mean ${hint}?)` : ''}`);
      continue;
    }
    entries.set(key, { value: coerceForKey(info, raw), source: { kind: 'env', name } });
  }

  for (const [key, raw] of Object.entries(options.flags ?? {})) {
    if (raw === undefined) continue;
    const info = configKeyInfo(key);
    if (!info) {
      problems.push({ path: key, message: 'unknown setting (from a command-line flag)' });
      continue;
    }
    entries.set(key, { value: coerceForKey(info, raw), source: { kind: 'flag', name: info.flagName } });
  }

  const input: Record<string, unknown> = {};
  for (const [key, entry] of entries) setAtPath(input, key.split('.'), entry.value);

  const parsed = configSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.map(String).join('.');
      const source = entries.get(key)?.source ?? { kind: 'default' };
      problems.push({ path: key || '(root)', message: `${issueText(issue, key)} (from ${describeSource(source)})` });
    }
  }

  if (problems.length > 0) {
    const lines = problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n');
    return err(
      appError(
        'RP_CONFIG_INVALID',
        `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines}`,
        { issues: problems },
      ),
    );
  }

  const sources: Record<string, ConfigSource> = {};
  for (const [key, entry] of entries) sources[key] = entry.source;
  return ok({ config: parsed.data as Config, filePath, sources, warnings });
}

/** One line per problem, `key: message (from SOURCE)`, for printing. */
export function formatConfigProblems(error: AppError): string[] {
  return (error.issues ?? [{ path: '(root)', message: error.message }]).map((i) => `${i.path}: ${i.message}`);
}
