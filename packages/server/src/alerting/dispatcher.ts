/**
 * The notification pipeline, as stages over aggregation groups:
 *
 *   route → group (group_by, group_wait, group_interval) → inhibition → silences →
 *   route time intervals → dedup against the notification log (repeat_interval, resolved) →
 *   per-receiver rate limit → notification.
 *
 * Pure and synchronous: `put` takes alerts, `flush(nowMs)` returns the notifications due at
 * that instant and records them in the notification log; the caller delivers them (through the
 * durable outbox) and calls `flush` again at `nextFlushAtMs()`. Time comes only from the
 * arguments, so timelines are tested on a fake clock.
 */
import { type InhibitRule, inhibitedBy } from './inhibition.js';
import { type Alert, fingerprint, groupKeyOf, isResolved, type Labels, mergeAlert } from './labels.js';
import { type NotificationLogPort, needsNotification } from './notification-log.js';
import { matchRoutes, type Route } from './routing.js';
import { type Silence, silencedBy } from './silences.js';
import { inAnyTimeInterval, type TimeInterval } from './time-intervals.js';

export interface ReceiverPolicy {
  sendResolved: boolean;
  /**
   * A group whose announced firing alerts are all silenced sends one `acknowledged`
   * notification (PagerDuty's acknowledge), and the resolution of such an alert is still
   * announced, so an incident opened by the receiver is closed by it.
   */
  acknowledgeSilenced?: boolean;
  /** At most this many notifications per `rateLimitWindowMs`; over it a group waits for its next flush. */
  rateLimit?: { max: number; windowMs: number };
}

export interface PipelineConfig {
  route: Route;
  inhibitRules: readonly InhibitRule[];
  timeIntervals: Readonly<Record<string, readonly TimeInterval[]>>;
  receivers: Readonly<Record<string, ReceiverPolicy>>;
}

export interface NotifiedAlert extends Alert {
  fingerprint: string;
  status: 'firing' | 'resolved';
}

export interface Notification {
  receiver: string;
  /** `<route id>:<group labels>`: stable, the dedup and PagerDuty dedup_key base. */
  groupKey: string;
  groupLabels: Labels;
  /** `acknowledged`: every firing alert the receiver was told about is silenced (see `acknowledgeSilenced`). */
  status: 'firing' | 'resolved' | 'acknowledged';
  alerts: NotifiedAlert[];
  atMs: number;
}

export type MuteReason = { kind: 'silenced'; by: string[] } | { kind: 'inhibited'; by: string[] };

interface Group {
  route: Route;
  key: string;
  labels: Labels;
  alerts: Map<string, Alert>;
  nextFlushMs: number;
  hasFlushed: boolean;
}

export interface DispatcherPorts {
  log: NotificationLogPort;
  silences: () => Iterable<Silence>;
}

export class Dispatcher {
  private readonly alerts = new Map<string, Alert>();
  private readonly groups = new Map<string, Group>();
  private readonly sends = new Map<string, number[]>();

  constructor(
    private config: PipelineConfig,
    private readonly ports: DispatcherPorts,
  ) {}

  /** A new routing tree or policy; groups are rebuilt from the alerts held. */
  reconfigure(config: PipelineConfig, nowMs: number): void {
    this.config = config;
    const alerts = [...this.alerts.values()];
    this.alerts.clear();
    this.groups.clear();
    this.put(alerts, nowMs);
  }

  /** Takes new or updated alerts (firing, or resolved by an `endsAtMs` in the past). */
  put(alerts: readonly Alert[], nowMs: number): void {
    for (const incoming of alerts) {
      const fp = fingerprint(incoming.labels);
      const alert = mergeAlert(this.alerts.get(fp), incoming, nowMs);
      this.alerts.set(fp, alert);
      for (const route of matchRoutes(this.config.route, alert.labels)) {
        const gk = `${route.id}:${groupKeyOf(alert.labels, route.groupBy)}`;
        const id = `${route.receiver}\u0000${gk}`;
        let group = this.groups.get(id);
        if (!group) {
          // A resolved alert never opens a group: there is nothing to announce.
          if (isResolved(alert, nowMs)) continue;
          group = {
            route,
            key: gk,
            labels: groupLabels(alert.labels, route.groupBy),
            alerts: new Map(),
            nextFlushMs: nowMs + route.groupWaitMs,
            hasFlushed: false,
          };
          this.groups.set(id, group);
        }
        group.alerts.set(fp, alert);
      }
    }
  }

  /** Alerts held, with their state now (for the API). */
  list(
    nowMs: number,
  ): { alert: Alert; fingerprint: string; state: 'firing' | 'resolved'; muted?: MuteReason; receivers: string[] }[] {
    return [...this.alerts.entries()].map(([fp, alert]) => ({
      alert,
      fingerprint: fp,
      state: isResolved(alert, nowMs) ? 'resolved' : 'firing',
      muted: this.muteReason(alert.labels, nowMs),
      receivers: [...new Set(matchRoutes(this.config.route, alert.labels).map((r) => r.receiver))],
    }));
  }

  /** Why an alert with these labels is muted now, or undefined. */
  muteReason(labels: Labels, nowMs: number): MuteReason | undefined {
    const inhibitors = inhibitedBy(this.config.inhibitRules, labels, this.alerts.values(), nowMs);
    if (inhibitors.length) return { kind: 'inhibited', by: inhibitors };
    const silences = silencedBy(this.ports.silences(), labels, nowMs);
    if (silences.length) return { kind: 'silenced', by: silences };
    return undefined;
  }

  /** The earliest instant a group is due, or undefined when no group is open. */
  nextFlushAtMs(): number | undefined {
    let next: number | undefined;
    for (const g of this.groups.values()) if (next === undefined || g.nextFlushMs < next) next = g.nextFlushMs;
    return next;
  }

  /** Flushes every group due at `nowMs`; returns the notifications to deliver. */
  flush(nowMs: number): Notification[] {
    const out: Notification[] = [];
    for (const [id, group] of this.groups) {
      if (group.nextFlushMs > nowMs) continue;
      const n = this.flushGroup(group, nowMs);
      if (n) out.push(n);
      if (group.alerts.size === 0) this.groups.delete(id);
      else group.nextFlushMs = nowMs + group.route.groupIntervalMs;
      group.hasFlushed = true;
    }
    // Resolved alerts no group holds any more are forgotten.
    for (const [fp, alert] of this.alerts) {
      if (!isResolved(alert, nowMs)) continue;
      let held = false;
      for (const g of this.groups.values()) if (g.alerts.has(fp)) held = true;
      if (!held) this.alerts.delete(fp);
    }
    return out;
  }

  private routeMuted(route: Route, nowMs: number): boolean {
    const intervals = (names: string[]) => names.flatMap((n) => this.config.timeIntervals[n] ?? []);
    if (route.muteTimeIntervals.length && inAnyTimeInterval(intervals(route.muteTimeIntervals), nowMs)) return true;
    if (route.activeTimeIntervals.length && !inAnyTimeInterval(intervals(route.activeTimeIntervals), nowMs))
      return true;
    return false;
  }

  private flushGroup(group: Group, nowMs: number): Notification | undefined {
    const receiver = group.route.receiver;
    const policy = this.config.receivers[receiver] ?? { sendResolved: true };
    const resolvedHere = [...group.alerts.entries()].filter(([, a]) => isResolved(a, nowMs)).map(([fp]) => fp);
    const dropResolved = () => {
      for (const fp of resolvedHere) group.alerts.delete(fp);
    };
    if (this.routeMuted(group.route, nowMs)) {
      dropResolved();
      return undefined;
    }
    const entry = this.ports.log.get(receiver, group.key);
    const acknowledging = policy.acknowledgeSilenced === true;
    const announced = new Set([...(entry?.firing ?? []), ...(entry?.acknowledged ?? [])]);
    const firing: NotifiedAlert[] = [];
    const resolved: NotifiedAlert[] = [];
    const acknowledged: NotifiedAlert[] = [];
    for (const [fp, alert] of group.alerts) {
      const view = { ...alert, fingerprint: fp };
      const muted = this.muteReason(alert.labels, nowMs);
      if (muted) {
        // Silenced after the receiver heard of it: acknowledged while firing, its end announced.
        if (acknowledging && muted.kind === 'silenced' && announced.has(fp)) {
          if (isResolved(alert, nowMs)) resolved.push({ ...view, status: 'resolved' });
          else acknowledged.push({ ...view, status: 'firing' });
        }
        continue;
      }
      if (isResolved(alert, nowMs)) resolved.push({ ...view, status: 'resolved' });
      else firing.push({ ...view, status: 'firing' });
    }
    // Alerts in a notification in a stable order: by their labels.
    for (const list of [firing, resolved, acknowledged]) list.sort((a, b) => compareLabels(a.labels, b.labels));
    const firingFps = firing.map((a) => a.fingerprint).sort();
    const resolvedFps = resolved.map((a) => a.fingerprint).sort();
    const ackFps = acknowledged.map((a) => a.fingerprint).sort();
    const ackEntry = acknowledging ? { acknowledged: ackFps } : {};
    if (acknowledging && firing.length === 0 && acknowledged.length > 0) {
      // Acknowledged already: an alert resolving under the silence is only recorded; the
      // group's resolution is announced when the last one ends.
      if (entry && entry.firing.length === 0 && ackFps.every((fp) => entry.acknowledged?.includes(fp))) {
        if (!sameSet(entry.acknowledged ?? [], ackFps)) this.ports.log.put({ ...entry, acknowledged: ackFps });
        dropResolved();
        return undefined;
      }
      if (!this.takeRateSlot(receiver, policy, nowMs)) return undefined;
      this.ports.log.put({
        receiver,
        groupKey: group.key,
        firing: [],
        resolved: resolvedFps,
        ...ackEntry,
        sentAtMs: nowMs,
      });
      dropResolved();
      return {
        receiver,
        groupKey: group.key,
        groupLabels: group.labels,
        status: 'acknowledged',
        alerts: policy.sendResolved ? [...acknowledged, ...resolved] : acknowledged,
        atMs: nowMs,
      };
    }
    if (!needsNotification(entry, firingFps, resolvedFps, policy.sendResolved, group.route.repeatIntervalMs, nowMs)) {
      dropResolved();
      return undefined;
    }
    const alerts = policy.sendResolved ? [...firing, ...resolved] : firing;
    if (alerts.length > 0 && !this.takeRateSlot(receiver, policy, nowMs)) {
      // Over the receiver's rate: nothing is logged, so the next flush tries again.
      return undefined;
    }
    this.ports.log.put({
      receiver,
      groupKey: group.key,
      firing: firingFps,
      resolved: resolvedFps,
      ...ackEntry,
      sentAtMs: nowMs,
    });
    dropResolved();
    if (alerts.length === 0) return undefined;
    return {
      receiver,
      groupKey: group.key,
      groupLabels: group.labels,
      status: firing.length > 0 ? 'firing' : 'resolved',
      alerts,
      atMs: nowMs,
    };
  }

  private takeRateSlot(receiver: string, policy: ReceiverPolicy, nowMs: number): boolean {
    const limit = policy.rateLimit;
    if (!limit) return true;
    const recent = (this.sends.get(receiver) ?? []).filter((t) => t > nowMs - limit.windowMs);
    if (recent.length >= limit.max) {
      this.sends.set(receiver, recent);
      return false;
    }
    recent.push(nowMs);
    this.sends.set(receiver, recent);
    return true;
  }
}

/** Orders label sets by their sorted `name=value` pairs. */
function compareLabels(a: Labels, b: Labels): number {
  const key = (l: Labels) =>
    Object.keys(l)
      .sort()
      .map((k) => `${k}\u0000${l[k]}`)
      .join('\u0001');
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function groupLabels(labels: Labels, groupBy: readonly string[] | 'all'): Labels {
  if (groupBy === 'all') return { ...labels };
  const out: Record<string, string> = {};
  for (const n of groupBy) if (labels[n] !== undefined) out[n] = labels[n] as string;
  return out;
}
