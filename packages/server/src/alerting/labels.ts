/**
 * Alerts as the notification pipeline sees them: a label set that identifies the alert (its
 * fingerprint), annotations that describe it, and the interval it is active in. An alert whose
 * `endsAtMs` is at or before now is resolved. Pure: no I/O, time comes from the caller.
 */
import { createHash } from 'node:crypto';

export type Labels = Readonly<Record<string, string>>;

export interface Alert {
  labels: Labels;
  annotations: Labels;
  startsAtMs: number;
  /** When the alert stops (or stopped) being active; resolved once `endsAtMs <= now`. */
  endsAtMs: number;
  /** Last time a source reported the alert; newer reports replace older ones. */
  updatedAtMs: number;
  generatorUrl?: string;
}

/**
 * Stable identity of a label set: sha256 of the labels sorted by name, first 16 hex digits.
 * Names and values are length-prefixed so that `a="b,c"` and `a="b", c=""` differ.
 */
export function fingerprint(labels: Labels): string {
  const h = createHash('sha256');
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name] ?? '';
    h.update(`${name.length}:${name}${value.length}:${value}`);
  }
  return h.digest('hex').slice(0, 16);
}

export function isResolved(alert: Alert, nowMs: number): boolean {
  return alert.endsAtMs <= nowMs;
}

/** The subset of `labels` named in `names` (missing names are left out), as a stable key. */
export function groupKeyOf(labels: Labels, groupBy: readonly string[] | 'all'): string {
  if (groupBy === 'all') return fingerprint(labels);
  const picked: Record<string, string> = {};
  for (const name of [...groupBy].sort()) {
    const value = labels[name];
    if (value !== undefined) picked[name] = value;
  }
  return JSON.stringify(picked);
}

/**
 * Merges a newer report of the same alert into the stored one, as Alertmanager does: the
 * earliest start wins while the alert stays active, the newest report decides the end.
 */
export function mergeAlert(previous: Alert | undefined, next: Alert, nowMs: number): Alert {
  if (!previous) return next;
  if (next.updatedAtMs < previous.updatedAtMs) return previous;
  // A report after the previous one resolved starts a new episode.
  if (isResolved(previous, nowMs)) return next;
  return { ...next, startsAtMs: Math.min(previous.startsAtMs, next.startsAtMs) };
}
