/**
 * The notification log: for each receiver and group, which alerts were firing and which were
 * resolved in the last notification sent, and when. The dedup stage compares a group's
 * current alerts with it, so a notification is not sent twice, also after a restart (the
 * module persists the entries; the pipeline reads them through this port).
 */
export interface NotificationLogEntry {
  receiver: string;
  groupKey: string;
  firing: string[];
  resolved: string[];
  /** Firing alerts announced before and silenced since (receivers that acknowledge). */
  acknowledged?: string[];
  sentAtMs: number;
}

export interface NotificationLogPort {
  get(receiver: string, groupKey: string): NotificationLogEntry | undefined;
  put(entry: NotificationLogEntry): void;
}

export class MemoryNotificationLog implements NotificationLogPort {
  private readonly entries = new Map<string, NotificationLogEntry>();
  constructor(initial: Iterable<NotificationLogEntry> = []) {
    for (const e of initial) this.put(e);
  }
  get(receiver: string, groupKey: string): NotificationLogEntry | undefined {
    return this.entries.get(`${receiver}\u0000${groupKey}`);
  }
  put(entry: NotificationLogEntry): void {
    this.entries.set(`${entry.receiver}\u0000${entry.groupKey}`, entry);
  }
  all(): NotificationLogEntry[] {
    return [...this.entries.values()];
  }
}

const isSubset = (sub: readonly string[], of: readonly string[]) => {
  const set = new Set(of);
  return sub.every((x) => set.has(x));
};

/**
 * Whether a group with these firing and resolved alerts needs a notification now, given the
 * last one logged (Alertmanager's dedup rules): a new firing alert, all resolved after some
 * fired, a newly resolved alert when resolved notifications are sent, or the repeat interval
 * elapsed.
 */
export function needsNotification(
  entry: NotificationLogEntry | undefined,
  firing: readonly string[],
  resolved: readonly string[],
  sendResolved: boolean,
  repeatIntervalMs: number,
  nowMs: number,
): boolean {
  if (!entry) return firing.length > 0;
  if (!isSubset(firing, entry.firing)) return true;
  if (firing.length === 0) return entry.firing.length > 0 || (entry.acknowledged?.length ?? 0) > 0;
  if (sendResolved && !isSubset(resolved, entry.resolved)) return true;
  return entry.sentAtMs + repeatIntervalMs <= nowMs;
}
