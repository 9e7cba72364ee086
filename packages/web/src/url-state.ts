/**
 * The dashboard's state in the URL, so a link shows what its sender saw: a time range
 * (relative such as `24h`, or absolute `from`/`to`) and filters. Pure functions.
 */

export const FILTER_KEYS = [
  'project',
  'environment',
  'provider',
  'model',
  'operation',
  'status',
  'user',
  'session',
  'service',
  'tag',
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string[]>>;

/** Relative ranges offered in the picker, newest data at the right edge. */
export const RELATIVE_RANGES = [
  { key: '15m', label: 'Last 15 min', ms: 15 * 60_000 },
  { key: '1h', label: 'Last hour', ms: 3_600_000 },
  { key: '6h', label: 'Last 6 h', ms: 6 * 3_600_000 },
  { key: '24h', label: 'Last 24 h', ms: 24 * 3_600_000 },
  { key: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { key: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
  { key: '90d', label: 'Last 90 days', ms: 90 * 86_400_000 },
] as const;

export type TimeRange =
  | { kind: 'relative'; key: string; ms: number }
  | { kind: 'absolute'; fromMs: number; toMs: number };

export const DEFAULT_RANGE: TimeRange = { kind: 'relative', key: '24h', ms: 24 * 3_600_000 };

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `90m`, `24h`, `7d`, `2w` → ms, or null. */
export function parseRelative(key: string): number | null {
  const m = /^(\d{1,4})([mhdw])$/.exec(key);
  if (!m) return null;
  const n = Number(m[1]);
  return n > 0 ? n * UNIT_MS[m[2]!]! : null;
}

function parseInstant(v: string | null): number | null {
  if (!v) return null;
  if (/^\d{10,15}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

export function readRange(params: URLSearchParams): TimeRange {
  const from = parseInstant(params.get('from'));
  const to = parseInstant(params.get('to'));
  if (from !== null && to !== null && to > from) return { kind: 'absolute', fromMs: from, toMs: to };
  const key = params.get('range');
  const ms = key ? parseRelative(key) : null;
  if (key && ms !== null) return { kind: 'relative', key, ms };
  return DEFAULT_RANGE;
}

export function writeRange(params: URLSearchParams, range: TimeRange): void {
  params.delete('range');
  params.delete('from');
  params.delete('to');
  if (range.kind === 'relative') {
    params.set('range', range.key);
  } else {
    params.set('from', new Date(range.fromMs).toISOString());
    params.set('to', new Date(range.toMs).toISOString());
  }
}

/** The concrete [from, to) of a range at `nowMs`; relative ranges end now. */
export function resolveRange(range: TimeRange, nowMs: number): { fromMs: number; toMs: number } {
  return range.kind === 'relative'
    ? { fromMs: nowMs - range.ms, toMs: nowMs }
    : { fromMs: range.fromMs, toMs: range.toMs };
}

export function rangeLabel(range: TimeRange): string {
  if (range.kind === 'relative') {
    const known = RELATIVE_RANGES.find((r) => r.key === range.key);
    if (known) return known.label;
    return `Last ${range.key}`;
  }
  return 'Custom range';
}

export function readFilters(params: URLSearchParams): Filters {
  const out: Filters = {};
  for (const k of FILTER_KEYS) {
    const values = params
      .getAll(k)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean);
    if (values.length > 0) out[k] = [...new Set(values)];
  }
  return out;
}

export function writeFilters(params: URLSearchParams, filters: Filters): void {
  for (const k of FILTER_KEYS) {
    params.delete(k);
    const v = filters[k];
    if (v && v.length > 0) params.set(k, v.join(','));
  }
}

/** Query parameters for the REST API: from/to as epoch ms plus the filters. */
export function apiParams(
  range: { fromMs: number; toMs: number },
  filters: Filters,
  extra: Record<string, string | number | undefined> = {},
): URLSearchParams {
  const p = new URLSearchParams();
  p.set('from', String(Math.floor(range.fromMs)));
  p.set('to', String(Math.ceil(range.toMs)));
  for (const k of FILTER_KEYS) {
    const v = filters[k];
    if (v && v.length > 0) p.set(k, v.join(','));
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') p.set(k, String(v));
  return p;
}

const NICE_INTERVALS_MS = [
  60_000,
  5 * 60_000,
  15 * 60_000,
  3_600_000,
  3 * 3_600_000,
  6 * 3_600_000,
  86_400_000,
  7 * 86_400_000,
];

/** A bucket width giving at most `maxBuckets` buckets over the range, as an API duration (`5m`, `1h`, `1d`). */
export function pickInterval(spanMs: number, maxBuckets = 120): { ms: number; param: string } {
  const ms =
    NICE_INTERVALS_MS.find((i) => spanMs / i <= maxBuckets) ?? NICE_INTERVALS_MS[NICE_INTERVALS_MS.length - 1]!;
  const param =
    ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 60_000}m`;
  return { ms, param };
}

/** The period just before `range`, of the same length, for comparisons. */
export function previousPeriod(range: { fromMs: number; toMs: number }): { fromMs: number; toMs: number } {
  const len = range.toMs - range.fromMs;
  return { fromMs: range.fromMs - len, toMs: range.fromMs };
}

/** Trailing moving average over `window` points; points with fewer predecessors average what exists. */
export function rollingAverage(values: Array<number | null>, window: number): Array<number | null> {
  const out: Array<number | null> = [];
  for (let i = 0; i < values.length; i++) {
    let sum = 0;
    let n = 0;
    for (let j = Math.max(0, i - window + 1); j <= i; j++) {
      const v = values[j];
      if (v !== null && v !== undefined) {
        sum += v;
        n++;
      }
    }
    out.push(n === 0 ? null : sum / n);
  }
  return out;
}

/** CSV with a header row; cells quoted when they need it (RFC 4180). */
export function toCsv(header: string[], rows: Array<Array<string | number | null>>): string {
  const cell = (v: string | number | null) => {
    if (v === null) return '';
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
