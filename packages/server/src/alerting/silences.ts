/**
 * Silences: matchers plus an active period. A silence may also name recurring time intervals
 * (weekends, 02:00–04:00 daily in a zone); it then mutes only inside them, within its period.
 */
import type { Labels } from './labels.js';
import { type Matcher, matchesAll } from './matchers.js';
import { inAnyTimeInterval, type TimeInterval } from './time-intervals.js';

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
  /** When given, the silence mutes only while one of these intervals holds. */
  timeIntervals?: TimeInterval[];
  updatedAtMs: number;
}

export type SilenceState = 'pending' | 'active' | 'expired';

export function silenceState(s: Silence, nowMs: number): SilenceState {
  if (nowMs < s.startsAtMs) return 'pending';
  if (nowMs >= s.endsAtMs) return 'expired';
  return 'active';
}

export function silenceMutes(s: Silence, labels: Labels, nowMs: number): boolean {
  if (silenceState(s, nowMs) !== 'active') return false;
  if (s.timeIntervals?.length && !inAnyTimeInterval(s.timeIntervals, nowMs)) return false;
  return matchesAll(s.matchers, labels);
}

/** Ids of the silences muting `labels` now (empty when none). */
export function silencedBy(silences: Iterable<Silence>, labels: Labels, nowMs: number): string[] {
  const ids: string[] = [];
  for (const s of silences) if (silenceMutes(s, labels, nowMs)) ids.push(s.id);
  return ids;
}
