/**
 * Label matchers in Alertmanager's syntax: `name="value"`, `name!="value"`, `name=~"regex"`,
 * `name!~"regex"`. Regexes are anchored at both ends, as in Prometheus. A missing label
 * matches as the empty string.
 */
import { err, ok, type Result } from '@reskpoints/core';
import type { Labels } from './labels.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

interface CompiledMatcher extends Matcher {
  regex?: RegExp;
}

const cache = new Map<string, RegExp>();

function anchored(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`, 'u');
    if (cache.size > 10_000) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

/** Checks a matcher (a regex must compile); the message names the problem. */
export function validateMatcher(m: Matcher): Result<Matcher, string> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(m.name)) return err(`invalid label name "${m.name}"`);
  if (m.op === '=~' || m.op === '!~') {
    try {
      anchored(m.value);
    } catch (e) {
      return err(`invalid regex for ${m.name}: ${(e as Error).message}`);
    }
  }
  return ok(m);
}

export function matches(m: Matcher, labels: Labels): boolean {
  const value = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return anchored(m.value).test(value);
    case '!~':
      return !anchored(m.value).test(value);
  }
}

export function matchesAll(ms: readonly Matcher[], labels: Labels): boolean {
  for (const m of ms as CompiledMatcher[]) if (!matches(m, labels)) return false;
  return true;
}

const MATCHER_RE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

/** Parses `name=value`, `name!~"re.*"` (value optionally double-quoted, with `\"` escapes). */
export function parseMatcher(text: string): Result<Matcher, string> {
  const m = MATCHER_RE.exec(text);
  if (!m) return err(`cannot parse matcher "${text}" (expected name=value, name!=value, name=~regex or name!~regex)`);
  let value = m[3] ?? '';
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1).replace(/\\(["\\])/g, '$1');
  }
  return validateMatcher({ name: m[1] as string, op: m[2] as MatchOp, value });
}

/** Parses a list of matcher strings, reporting every problem. */
export function parseMatchers(texts: readonly string[]): Result<Matcher[], string[]> {
  const out: Matcher[] = [];
  const problems: string[] = [];
  for (const t of texts) {
    const r = parseMatcher(t);
    if (r.ok) out.push(r.value);
    else problems.push(r.error);
  }
  return problems.length ? err(problems) : ok(out);
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}
