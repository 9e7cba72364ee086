/**
 * Streaming log-template miner. Browser-safe and dependency-free, so the server and the logging
 * SDK compute the same pattern ids.
 *
 * One message at a time:
 * 1. Tokenise on whitespace and mask variables by default: tokens holding a digit, hex ids,
 *    IPs, UUIDs, paths, URLs, e-mails, durations (`12ms`), and the value of `key=value`.
 * 2. An exact-match cache keyed by the masked message answers most lines with one map lookup.
 * 3. Otherwise the line is compared, Drain-style, with the templates of the same token count
 *    and the same leading constant token; the most similar template above `similarity` takes
 *    it (differing tokens become `<*>`), else a new template starts.
 * 4. Templates that become identical are merged; the older pattern id survives and the newer
 *    one is kept as an alias.
 *
 * Pattern ids are a 64-bit FNV-1a hash of the template a pattern started with, so the same first
 * message gives the same id on every node, and ids survive restarts through `snapshot()`/`restore()`.
 */

export const WILDCARD = '<*>';

export interface LogMinerOptions {
  /** Share of constant tokens that must match for a line to join a template. Default 0.5. */
  similarity?: number;
  /** Templates kept; the least recently matched go first past it. Default 20,000. */
  maxPatterns?: number;
  /** Example messages kept per pattern. Default 3. */
  examplesPerPattern?: number;
  /** Entries of the exact-match cache before it is cleared. Default 200,000. */
  maxCacheEntries?: number;
  /** Distinct words seen at one position before it becomes a wildcard. Default 4. */
  wordValuesToGeneralise?: number;
}

export interface MinedPattern {
  id: string;
  template: string;
  /** Messages matched since the pattern started (or was restored). */
  count: number;
  examples: string[];
  /** Ids merged into this pattern. */
  aliases: string[];
}

export interface MineResult {
  patternId: string;
  template: string;
  /** True when this message started a new pattern. */
  isNew: boolean;
}

interface Cluster {
  id: string;
  tokens: string[];
  /** `tokens` joined by spaces, kept in step with them. */
  template: string;
  /** Set when merged into another pattern or evicted; cache entries pointing here are stale. */
  removed: boolean;
  count: number;
  examples: string[];
  aliases: string[];
  bucketKey: string;
  lastUsed: number;
}

export interface LogMinerSnapshot {
  version: 1;
  patterns: Array<{ id: string; template: string; count: number; examples: string[]; aliases: string[] }>;
}

const DEFAULTS: Required<LogMinerOptions> = {
  similarity: 0.5,
  maxPatterns: 20_000,
  examplesPerPattern: 3,
  maxCacheEntries: 200_000,
  wordValuesToGeneralise: 5,
};

/**
 * A 64-bit hash as 16 hex digits: two 32-bit FNV-1a-style passes (different offset bases and
 * multipliers) over the UTF-16 code units. Stable across processes and platforms.
 */
export function fnv1a64Hex(s: string): string {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x050c5d1f | 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}

export function patternIdOf(template: string): string {
  return `p_${fnv1a64Hex(template)}`;
}

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const ZERO = 48;
const NINE = 57;
const EQ = 61;
const SLASH = 47;
const COLON = 58;
const AT = 64;
const DOT = 46;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR;
}

const CONSTANT = -1;
const VARIABLE = -2;

/** Weekday and month abbreviations (as 3 char codes): in log lines they are parts of timestamps. */
const DATE_WORDS = new Set(
  ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun', 'Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun']
    .concat(['Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'])
    .map((w) => (w.charCodeAt(0) << 16) | (w.charCodeAt(1) << 8) | w.charCodeAt(2)),
);

const UNITS = new Set(
  ['b', 'kb', 'mb', 'gb', 'tb', 'kib', 'mib', 'gib', 'bytes', 'ms', 'us', 's', 'sec', 'secs', 'seconds'].concat([
    'min',
    'mins',
    'minutes',
    'h',
    'hours',
    '%',
  ]),
);

/**
 * Classifies the token `s[start, end)`: CONSTANT, VARIABLE, or (>= 0) the length of a `key=`
 * prefix to keep before a masked value. Works on positions so the hot path slices nothing.
 */
function classify(s: string, start: number, end: number): number {
  let digits = false;
  let eq = -1;
  let slashes = 0;
  let at = -1;
  let dotAfterAt = false;
  let colonSlashSlash = false;
  let keyHasDigit = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= ZERO && c <= NINE) {
      digits = true;
      if (eq < 0) keyHasDigit = true;
    } else if (c === EQ) {
      if (eq < 0) eq = i;
    } else if (c === SLASH) {
      slashes++;
      if (i > start && s.charCodeAt(i - 1) === COLON && i + 1 < end && s.charCodeAt(i + 1) === SLASH)
        colonSlashSlash = true;
    } else if (c === AT) {
      if (at < 0) at = i;
    } else if (c === DOT && at >= 0) dotAfterAt = true;
  }
  // key=value: keep a digit-free key, mask a value that is not empty.
  if (eq > start && !keyHasDigit) return eq === end - 1 ? CONSTANT : eq + 1 - start;
  if (digits || colonSlashSlash) return VARIABLE;
  if (
    end - start === 3 &&
    DATE_WORDS.has((s.charCodeAt(start) << 16) | (s.charCodeAt(start + 1) << 8) | s.charCodeAt(start + 2))
  )
    return VARIABLE;
  if (at > start && dotAfterAt) return VARIABLE; // e-mail
  if (slashes >= 2 && s.charCodeAt(start) === SLASH) return VARIABLE; // absolute path
  return CONSTANT;
}

/** `s[start, end)` is a unit word, ignoring letter case and trailing punctuation (`KB,`). */
function isUnitAt(s: string, start: number, end: number): boolean {
  let e = end;
  while (e > start && ',;.)'.includes(s[e - 1] as string)) e--;
  return e > start && e - start <= 7 && UNITS.has(s.slice(start, e).toLowerCase());
}

/**
 * Masks one token: the token itself when it is constant, `<*>` when it is a variable, or
 * `key=<*>` for a `key=value` token whose key is a plain word.
 */
export function maskToken(tok: string): string {
  const r = classify(tok, 0, tok.length);
  return r === CONSTANT ? tok : r === VARIABLE ? WILDCARD : `${tok.slice(0, r)}${WILDCARD}`;
}

/**
 * A 52-bit hash of the masked token sequence of `message`, computed in one pass without slicing:
 * the exact-match cache's key. Equal masked sequences give equal hashes; a collision between two
 * different ones (about n^2 / 2^53 for n cached shapes) would put a line under the other's pattern.
 */
export function maskedKeyHash(message: string): number {
  // One pass: each token's characters are hashed as they are read, and the state before the
  // token (or after a `key=`) is restored when the token turns out to be a variable.
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x050c5d1f | 0;
  const n = message.length;
  let i = 0;
  let prevVariable = false;
  let first = true;
  while (i < n) {
    let c = message.charCodeAt(i);
    if (c === SPACE || c === TAB || c === LF || c === CR) {
      i++;
      continue;
    }
    if (!first) {
      h1 = Math.imul(h1 ^ 32, 0x01000193);
      h2 = Math.imul(h2 ^ 32, 0x5bd1e995);
    }
    first = false;
    const start = i;
    const s1 = h1;
    const s2 = h2;
    let k1 = 0;
    let k2 = 0;
    let digits = false;
    let eq = -1;
    let keyHasDigit = false;
    let slashes = 0;
    let at = -1;
    let dotAfterAt = false;
    let colonSlashSlash = false;
    for (; i < n; i++) {
      c = message.charCodeAt(i);
      if (c === SPACE || c === TAB || c === LF || c === CR) break;
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      if (c >= ZERO && c <= NINE) {
        digits = true;
        if (eq < 0) keyHasDigit = true;
      } else if (c === EQ) {
        if (eq < 0) {
          eq = i;
          k1 = h1;
          k2 = h2;
        }
      } else if (c === SLASH) {
        slashes++;
        if (i > start && message.charCodeAt(i - 1) === COLON && i + 1 < n && message.charCodeAt(i + 1) === SLASH)
          colonSlashSlash = true;
      } else if (c === AT) {
        if (at < 0) at = i;
      } else if (c === DOT && at >= 0) dotAfterAt = true;
    }
    // Same decisions, in the same order, as classify().
    let variable = false;
    if (eq > start && !keyHasDigit) {
      if (eq !== i - 1) {
        h1 = Math.imul(k1 ^ 0xffff, 0x01000193);
        h2 = Math.imul(k2 ^ 0xffff, 0x5bd1e995);
      }
      prevVariable = false;
      continue;
    }
    if (digits || colonSlashSlash) variable = true;
    else if (
      i - start === 3 &&
      DATE_WORDS.has(
        (message.charCodeAt(start) << 16) | (message.charCodeAt(start + 1) << 8) | message.charCodeAt(start + 2),
      )
    )
      variable = true;
    else if (at > start && dotAfterAt) variable = true;
    else if (slashes >= 2 && message.charCodeAt(start) === SLASH) variable = true;
    else if (prevVariable && isUnitAt(message, start, i)) variable = true;
    if (variable) {
      h1 = Math.imul(s1 ^ 0xffff, 0x01000193);
      h2 = Math.imul(s2 ^ 0xffff, 0x5bd1e995);
    }
    prevVariable = variable;
  }
  return (h2 & 0xfffff) * 0x100000000 + (h1 >>> 0);
}

/** The same hash computed from masked tokens (the slow path's view); kept equal to maskedKeyHash. */
export function hashMaskedTokens(tokens: string[]): number {
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x050c5d1f | 0;
  for (let t = 0; t < tokens.length; t++) {
    if (t > 0) {
      h1 = Math.imul(h1 ^ 32, 0x01000193);
      h2 = Math.imul(h2 ^ 32, 0x5bd1e995);
    }
    const tok = tokens[t] as string;
    const wild = tok.endsWith(WILDCARD);
    const end = wild ? tok.length - WILDCARD.length : tok.length;
    for (let j = 0; j < end; j++) {
      const c = tok.charCodeAt(j);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    if (wild) {
      h1 = Math.imul(h1 ^ 0xffff, 0x01000193);
      h2 = Math.imul(h2 ^ 0xffff, 0x5bd1e995);
    }
  }
  return (h2 & 0xfffff) * 0x100000000 + (h1 >>> 0);
}

/** Splits on whitespace and masks each token. */
export function maskedTokens(message: string): string[] {
  const out: string[] = [];
  const n = message.length;
  let i = 0;
  while (i < n) {
    while (i < n && isSpace(message.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isSpace(message.charCodeAt(i))) i++;
    let r = classify(message, start, i);
    // A unit after a number belongs to the value: `12.3 KB` and `384 B` are one kind of value.
    if (r === CONSTANT && out[out.length - 1] === WILDCARD && isUnitAt(message, start, i)) r = VARIABLE;
    out.push(
      r === CONSTANT
        ? message.slice(start, i)
        : r === VARIABLE
          ? WILDCARD
          : `${message.slice(start, start + r)}${WILDCARD}`,
    );
  }
  return out;
}

export class LogMiner {
  private readonly opts: Required<LogMinerOptions>;
  private readonly clusters = new Map<string, Cluster>();
  private readonly buckets = new Map<string, Cluster[]>();
  private readonly cache = new Map<number, Cluster>();
  private readonly aliasOf = new Map<string, string>();
  private readonly familyValues = new Map<string, Set<string>>();
  private tick = 0;

  constructor(options: LogMinerOptions = {}) {
    this.opts = { ...DEFAULTS, ...options };
  }

  get size(): number {
    return this.clusters.size;
  }

  /** Mines one message. */
  add(message: string): MineResult {
    const key = maskedKeyHash(message);
    this.tick++;
    const hit = this.cache.get(key);
    if (hit && !hit.removed) {
      this.touch(hit, message);
      return { patternId: hit.id, template: hit.template, isNew: false };
    }
    const tokens = maskedTokens(message);
    const bucketKey = bucketKeyOf(tokens);
    const bucket = this.buckets.get(bucketKey);
    let best: Cluster | null = null;
    let bestSim = -1;
    let bestParams = -1;
    if (bucket) {
      for (const c of bucket) {
        const [sim, params] = similarity(c.tokens, tokens);
        if (sim > bestSim || (sim === bestSim && params > bestParams)) {
          best = c;
          bestSim = sim;
          bestParams = params;
        }
      }
    }
    let isNew = false;
    let cluster: Cluster | null = null;
    if (best && bestSim >= this.opts.similarity) {
      const diffs = wordDifferences(best.tokens, tokens);
      if (diffs.length === 0 || this.seenEnoughValues(best, tokens, diffs)) {
        cluster = best;
        if (generalise(cluster.tokens, tokens)) {
          cluster.template = cluster.tokens.join(' ');
          cluster = this.foldSubsumed(cluster);
        }
      }
    }
    if (!cluster) {
      cluster = this.create(tokens, bucketKey);
      isNew = true;
    }
    if (this.cache.size >= this.opts.maxCacheEntries) this.cache.clear();
    this.cache.set(key, cluster);
    this.touch(cluster, message);
    return { patternId: cluster.id, template: cluster.template, isNew };
  }

  /** The pattern a message would match, without changing the miner (null when none would). */
  match(message: string): MinedPattern | null {
    const hit = this.cache.get(maskedKeyHash(message));
    if (hit && !hit.removed) return this.describe(hit);
    const tokens = maskedTokens(message);
    const bucket = this.buckets.get(bucketKeyOf(tokens));
    if (!bucket) return null;
    for (const c of bucket) {
      if (matchesTemplate(c.tokens, tokens)) return this.describe(c);
    }
    return null;
  }

  /** The current id for an id that may have been merged away. */
  resolveId(id: string): string {
    let cur = id;
    for (let i = 0; i < 32; i++) {
      const next = this.aliasOf.get(cur);
      if (!next) return cur;
      cur = next;
    }
    return cur;
  }

  patterns(): MinedPattern[] {
    return [...this.clusters.values()].map((c) => this.describe(c));
  }

  snapshot(): LogMinerSnapshot {
    return {
      version: 1,
      patterns: [...this.clusters.values()].map((c) => ({
        id: c.id,
        template: c.template,
        count: c.count,
        examples: [...c.examples],
        aliases: [...c.aliases],
      })),
    };
  }

  static restore(snapshot: LogMinerSnapshot, options: LogMinerOptions = {}): LogMiner {
    const m = new LogMiner(options);
    for (const p of snapshot.patterns) {
      const tokens = p.template.length ? p.template.split(' ') : [];
      const c = m.create(tokens, bucketKeyOf(tokens), p.id);
      c.count = p.count;
      c.examples = [...p.examples];
      c.aliases = [...p.aliases];
      for (const a of p.aliases) m.aliasOf.set(a, p.id);
    }
    return m;
  }

  private describe(c: Cluster): MinedPattern {
    return {
      id: c.id,
      template: c.template,
      count: c.count,
      examples: [...c.examples],
      aliases: [...c.aliases],
    };
  }

  private touch(c: Cluster, message: string): void {
    c.count++;
    c.lastUsed = this.tick;
    if (c.examples.length < this.opts.examplesPerPattern && !c.examples.includes(message)) c.examples.push(message);
  }

  private create(tokens: string[], bucketKey: string, id?: string): Cluster {
    if (this.clusters.size >= this.opts.maxPatterns) this.evictOldest();
    const c: Cluster = {
      id: id ?? patternIdOf(tokens.join(' ')),
      tokens: [...tokens],
      template: tokens.join(' '),
      removed: false,
      count: 0,
      examples: [],
      aliases: [],
      bucketKey,
      lastUsed: this.tick,
    };
    // Two first messages with one template give one id: reuse the live cluster if so.
    const existing = this.clusters.get(c.id);
    if (existing) return existing;
    this.clusters.set(c.id, c);
    const b = this.buckets.get(bucketKey);
    if (b) b.push(c);
    else this.buckets.set(bucketKey, [c]);
    return c;
  }

  /**
   * Words that differ at a position are kept apart (`GET` and `POST` are different events) until
   * `wordValuesToGeneralise` distinct words were seen there for templates that are otherwise one.
   */
  private seenEnoughValues(c: Cluster, tokens: string[], diffs: number[]): boolean {
    const generalised = c.tokens.slice();
    for (const i of diffs) generalised[i] = WILDCARD;
    const key = generalised.join(' ');
    let values = this.familyValues.get(key);
    if (!values) {
      if (this.familyValues.size >= this.opts.maxPatterns) this.familyValues.clear();
      values = new Set();
      this.familyValues.set(key, values);
    }
    values.add(diffs.map((i) => c.tokens[i]).join(' '));
    values.add(diffs.map((i) => tokens[i]).join(' '));
    return values.size >= this.opts.wordValuesToGeneralise;
  }

  /** After `c` generalised, folds every other cluster of its bucket that `c` now covers (ids become aliases). */
  private foldSubsumed(c: Cluster): Cluster {
    const bucket = this.buckets.get(c.bucketKey);
    if (!bucket) return c;
    for (const other of [...bucket]) {
      if (other === c || !matchesTemplate(c.tokens, other.tokens)) continue;
      c.count += other.count;
      c.aliases.push(other.id, ...other.aliases);
      for (const e of other.examples) if (c.examples.length < this.opts.examplesPerPattern) c.examples.push(e);
      this.aliasOf.set(other.id, c.id);
      for (const a of other.aliases) this.aliasOf.set(a, c.id);
      this.remove(other);
    }
    return c;
  }

  private remove(c: Cluster): void {
    c.removed = true;
    this.clusters.delete(c.id);
    const b = this.buckets.get(c.bucketKey);
    if (b) {
      const i = b.indexOf(c);
      if (i >= 0) b.splice(i, 1);
      if (b.length === 0) this.buckets.delete(c.bucketKey);
    }
  }

  private evictOldest(): void {
    let oldest: Cluster | null = null;
    for (const c of this.clusters.values()) if (!oldest || c.lastUsed < oldest.lastUsed) oldest = c;
    if (oldest) this.remove(oldest);
  }
}

function bucketKeyOf(tokens: string[]): string {
  const first = tokens.length > 0 ? tokens[0] : '';
  return `${tokens.length}\u0000${first === WILDCARD ? '' : first}`;
}

/** Drain's similarity: share of template positions holding the same token; wildcards count as parameters. */
function similarity(template: string[], tokens: string[]): [number, number] {
  let same = 0;
  let params = 0;
  for (let i = 0; i < template.length; i++) {
    const t = template[i] as string;
    if (t === WILDCARD) params++;
    else if (t === tokens[i]) same++;
  }
  const constants = template.length - params;
  return [constants === 0 ? 1 : same / constants, params];
}

/** Turns positions that differ into wildcards; true when the template changed. */
function generalise(template: string[], tokens: string[]): boolean {
  let changed = false;
  for (let i = 0; i < template.length; i++) {
    if (template[i] !== WILDCARD && template[i] !== tokens[i]) {
      template[i] = WILDCARD;
      changed = true;
    }
  }
  return changed;
}

function hasLetter(tok: string): boolean {
  for (let i = 0; i < tok.length; i++) {
    const c = tok.charCodeAt(i) | 32;
    if (c >= 97 && c <= 122) return true;
  }
  return false;
}

/** Positions where template and message hold different constant words. */
function wordDifferences(template: string[], tokens: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < template.length; i++) {
    const t = template[i] as string;
    const m = tokens[i] as string;
    if (t !== m && t !== WILDCARD && m !== WILDCARD && hasLetter(t) && hasLetter(m)) out.push(i);
  }
  return out;
}

function matchesTemplate(template: string[], tokens: string[]): boolean {
  if (template.length !== tokens.length) return false;
  for (let i = 0; i < template.length; i++) if (template[i] !== WILDCARD && template[i] !== tokens[i]) return false;
  return true;
}
