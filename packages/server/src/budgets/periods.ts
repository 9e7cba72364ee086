/**
 * Budget periods in a time zone: daily, weekly (Monday to Monday), monthly, or custom (a start
 * and a length, repeating). Pure functions over IANA time-zone names (through `Intl`), no clock.
 *
 * A local day starts at local midnight; where a time-zone change skips midnight, the day starts at
 * its first instant, and where midnight happens twice, at the first of them. Day-based lengths
 * follow the calendar (a monthly period in America/New_York is 30 or 31 local days, with a
 * 23- or 25-hour day in it on a daylight-saving change); hour-based custom lengths are exact.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export type PeriodSpec =
  | { kind: 'daily' | 'weekly' | 'monthly' }
  | {
      kind: 'custom';
      /** Local date (`2026-01-05`) or local date-time (`2026-01-05T09:00`) the first period starts at. */
      start: string;
      /** Length of each period: a number of hours, days or weeks, e.g. `14d`, `12h`, `2w`. */
      length: string;
    };

export interface Period {
  /** Inclusive, epoch ms. */
  startMs: number;
  /** Exclusive, epoch ms. */
  endMs: number;
}

interface LocalParts {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `Intl` knows the zone name (e.g. `UTC`, `Europe/Berlin`, `America/New_York`). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function localParts(ms: number, timeZone: string): LocalParts {
  const out: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return {
    year: out['year'] as number,
    month: out['month'] as number,
    day: out['day'] as number,
    hour: (out['hour'] as number) % 24,
    minute: out['minute'] as number,
    second: out['second'] as number,
  };
}

/** Offset of the zone from UTC at that instant, ms (New York in winter: -5 h). */
export function offsetMs(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The first instant at which the local clock shows this date and time (or, when that time is
 * skipped by a change of offset, the instant the clock jumps past it).
 */
export function zonedTime(year: number, month: number, day: number, timeZone: string, hour = 0, minute = 0): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const t1 = wall - offsetMs(wall, timeZone);
  const t2 = wall - offsetMs(t1, timeZone);
  const target = Date.UTC(year, month - 1, day, hour, minute);
  const shows = (t: number) => {
    const p = localParts(t, timeZone);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  };
  const candidates = [t1, t2, t1 - HOUR_MS, t2 - HOUR_MS].filter((t) => shows(t) === target);
  if (candidates.length > 0) return Math.min(...candidates);
  // Skipped (a gap): the instant the clock jumps, the first one showing a later time.
  const lo = Math.min(t1, t2);
  return shows(lo) > target ? lo : Math.max(t1, t2);
}

/** Start of the local day `days` after the local date of `ms`. */
function localDayStart(ms: number, timeZone: string, days = 0): number {
  const p = localParts(ms, timeZone);
  const d = new Date(Date.UTC(p.year, p.month - 1, p.day + days));
  return zonedTime(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), timeZone);
}

const LENGTH = /^(\d{1,4})(h|d|w)$/;
const START = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/;

/** A custom length as hours, or calendar days; null when not of the form `<n>h|d|w` with n ≥ 1. */
export function parseLength(length: string): { hours: number } | { days: number } | null {
  const m = LENGTH.exec(length.trim());
  if (!m) return null;
  const n = Number(m[1]);
  if (n < 1) return null;
  if (m[2] === 'h') return { hours: n };
  return { days: m[2] === 'w' ? n * 7 : n };
}

/** A custom start as local date and time; null when not `YYYY-MM-DD` or `YYYY-MM-DDTHH:mm`, or not a real date. */
export function parseStart(
  start: string,
): { year: number; month: number; day: number; hour: number; minute: number } | null {
  const m = START.exec(start.trim());
  if (!m) return null;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  if (hour > 23 || minute > 59 || year < 2000 || year > 2100) return null;
  return { year, month, day, hour, minute };
}

/**
 * The period containing `nowMs`; null for a custom period that has not started yet. Assumes a
 * valid spec (`parseStart`, `parseLength`, `isTimeZone`).
 */
export function periodAt(spec: PeriodSpec, timeZone: string, nowMs: number): Period | null {
  if (spec.kind === 'daily') {
    const startMs = localDayStart(nowMs, timeZone);
    return { startMs, endMs: localDayStart(nowMs, timeZone, 1) };
  }
  if (spec.kind === 'weekly') {
    const p = localParts(nowMs, timeZone);
    const weekday = new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay(); // 0 = Sunday
    const back = (weekday + 6) % 7;
    return { startMs: localDayStart(nowMs, timeZone, -back), endMs: localDayStart(nowMs, timeZone, 7 - back) };
  }
  if (spec.kind === 'monthly') {
    const p = localParts(nowMs, timeZone);
    const next = new Date(Date.UTC(p.year, p.month, 1));
    return {
      startMs: zonedTime(p.year, p.month, 1, timeZone),
      endMs: zonedTime(next.getUTCFullYear(), next.getUTCMonth() + 1, 1, timeZone),
    };
  }
  if (spec.kind !== 'custom') return null;
  const s = parseStart(spec.start);
  const len = parseLength(spec.length);
  if (!s || !len) return null;
  const firstMs = zonedTime(s.year, s.month, s.day, timeZone, s.hour, s.minute);
  if (nowMs < firstMs) return null;
  if ('hours' in len) {
    const lengthMs = len.hours * HOUR_MS;
    const k = Math.floor((nowMs - firstMs) / lengthMs);
    return { startMs: firstMs + k * lengthMs, endMs: firstMs + (k + 1) * lengthMs };
  }
  // Calendar days from the start date at the start's local time of day.
  const at = (k: number) => {
    const d = new Date(Date.UTC(s.year, s.month - 1, s.day + k * len.days));
    return zonedTime(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), timeZone, s.hour, s.minute);
  };
  let k = Math.floor((nowMs - firstMs) / (len.days * DAY_MS));
  while (k > 0 && at(k) > nowMs) k--;
  while (at(k + 1) <= nowMs) k++;
  return { startMs: at(k), endMs: at(k + 1) };
}

/**
 * The local days overlapping [fromMs, toMs), each with its bounds (23, 24 or 25 hours long).
 */
export function localDays(fromMs: number, toMs: number, timeZone: string): Period[] {
  const out: Period[] = [];
  let start = localDayStart(fromMs, timeZone);
  while (start < toMs) {
    const end = localDayStart(start + HOUR_MS * 2, timeZone, 1);
    out.push({ startMs: start, endMs: end });
    start = end;
  }
  return out;
}

/** `YYYY-MM-DD` of an instant in the zone. */
export function localDate(ms: number, timeZone: string): string {
  const p = localParts(ms, timeZone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/**
 * The bucket width (ms) whose epoch-aligned buckets never straddle a local day boundary of the
 * zone over the range: an hour for whole-hour offsets, else 15 minutes.
 */
export function dayAlignedBucketMs(fromMs: number, toMs: number, timeZone: string): number {
  for (const t of [fromMs, toMs, (fromMs + toMs) / 2]) if (offsetMs(t, timeZone) % HOUR_MS !== 0) return 900_000;
  return HOUR_MS;
}
