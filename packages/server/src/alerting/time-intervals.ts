/**
 * Recurring time intervals in Alertmanager's shape (`times`, `weekdays`, `days_of_month`,
 * `months`, `years`, `location`), e.g. weekends, or 02:00–04:00 daily in Europe/Berlin. An
 * instant is inside an interval when every field that is given contains it; a list of
 * intervals contains it when any one does. Local time comes from `Intl` with the IANA zone.
 */
import { err, ok, type Result } from '@reskpoints/core';

export interface TimeIntervalSpec {
  times?: { start_time: string; end_time: string }[];
  weekdays?: string[];
  days_of_month?: string[];
  months?: string[];
  years?: string[];
  location?: string;
}

interface Range {
  from: number;
  to: number;
}

export interface TimeInterval {
  /** Minutes of the day, end exclusive. */
  times?: Range[];
  /** 0 = Sunday … 6 = Saturday. */
  weekdays?: Range[];
  /** 1…31, or negative from the end of the month (-1 = last day). */
  daysOfMonth?: Range[];
  /** 1…12. */
  months?: Range[];
  years?: Range[];
  location: string;
}

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

function parseClock(text: string, what: string): Result<number, string> {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  if (!m) return err(`${what} "${text}" is not HH:MM`);
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  if (Number(m[2]) > 59 || minutes > 24 * 60) return err(`${what} "${text}" is out of range`);
  return ok(minutes);
}

function parseRanges(
  items: readonly string[],
  what: string,
  word: (s: string) => number | undefined,
  min: number,
  max: number,
  problems: string[],
): Range[] {
  const out: Range[] = [];
  for (const item of items) {
    const [a, b] = item.toLowerCase().split(':');
    const from = word(a ?? '');
    const to = b === undefined ? from : word(b);
    if (from === undefined || to === undefined || from < min || to > max || (from > to && from < 0 === to < 0)) {
      problems.push(`${what} "${item}" is not a valid value or range`);
      continue;
    }
    out.push({ from, to });
  }
  return out;
}

function intOrName(names: readonly string[], base: number) {
  return (s: string): number | undefined => {
    const i = names.indexOf(s);
    if (i >= 0) return i + base;
    return /^-?\d+$/.test(s) ? Number(s) : undefined;
  };
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Validates and compiles an interval, reporting every problem. */
export function parseTimeInterval(spec: TimeIntervalSpec): Result<TimeInterval, string[]> {
  const problems: string[] = [];
  const location = spec.location ?? 'UTC';
  if (!isValidTimeZone(location)) problems.push(`location "${location}" is not an IANA time zone`);
  const out: TimeInterval = { location };
  if (spec.times) {
    out.times = [];
    for (const t of spec.times) {
      const s = parseClock(t.start_time, 'start_time');
      const e = parseClock(t.end_time, 'end_time');
      if (!s.ok) problems.push(s.error);
      if (!e.ok) problems.push(e.error);
      if (s.ok && e.ok) {
        if (s.value >= e.value) problems.push(`start_time ${t.start_time} is not before end_time ${t.end_time}`);
        else out.times.push({ from: s.value, to: e.value });
      }
    }
  }
  if (spec.weekdays)
    out.weekdays = parseRanges(
      spec.weekdays,
      'weekday',
      (s) => {
        const i = WEEKDAYS.indexOf(s);
        return i >= 0 ? i : undefined;
      },
      0,
      6,
      problems,
    );
  if (spec.days_of_month)
    out.daysOfMonth = parseRanges(spec.days_of_month, 'day of month', intOrName([], 1), -31, 31, problems);
  if (spec.months) out.months = parseRanges(spec.months, 'month', intOrName(MONTHS, 1), 1, 12, problems);
  if (spec.years) out.years = parseRanges(spec.years, 'year', intOrName([], 0), 0, 9999, problems);
  return problems.length ? err(problems) : ok(out);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

interface LocalTime {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minuteOfDay: number;
  daysInMonth: number;
}

export function localTime(nowMs: number, zone: string): LocalTime {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'long',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(zone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(nowMs))) parts[p.type] = p.value;
  const year = Number(parts.year);
  const month = Number(parts.month);
  return {
    year,
    month,
    day: Number(parts.day),
    weekday: WEEKDAYS.indexOf((parts.weekday ?? '').toLowerCase()),
    minuteOfDay: Number(parts.hour) * 60 + Number(parts.minute),
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

const inRanges = (rs: Range[] | undefined, v: number) => !rs || rs.some((r) => v >= r.from && v <= r.to);

export function inTimeInterval(interval: TimeInterval, nowMs: number): boolean {
  const t = localTime(nowMs, interval.location);
  if (interval.times && !interval.times.some((r) => t.minuteOfDay >= r.from && t.minuteOfDay < r.to)) return false;
  if (!inRanges(interval.weekdays, t.weekday)) return false;
  if (interval.daysOfMonth) {
    const hit = interval.daysOfMonth.some((r) => {
      const from = r.from < 0 ? t.daysInMonth + r.from + 1 : r.from;
      const to = r.to < 0 ? t.daysInMonth + r.to + 1 : r.to;
      return t.day >= from && t.day <= to;
    });
    if (!hit) return false;
  }
  if (!inRanges(interval.months, t.month)) return false;
  if (!inRanges(interval.years, t.year)) return false;
  return true;
}

export function inAnyTimeInterval(intervals: readonly TimeInterval[], nowMs: number): boolean {
  return intervals.some((i) => inTimeInterval(i, nowMs));
}
