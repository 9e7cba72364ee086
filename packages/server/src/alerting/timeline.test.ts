/**
 * Timeline acceptance tests in the spirit of Alertmanager's: alerts go in at given instants on
 * a fake clock, and exactly these notifications come out at exactly these instants. The
 * pipeline is driven like the module drives it: flush at every instant it asks for.
 */
import { FakeClock } from '@reskpoints/core';
import { describe, expect, it } from 'vitest';
import { Dispatcher, type Notification, type PipelineConfig, type ReceiverPolicy } from './dispatcher.js';
import type { InhibitRule } from './inhibition.js';
import type { Alert, Labels } from './labels.js';
import { parseMatchers } from './matchers.js';
import { MemoryNotificationLog } from './notification-log.js';
import { buildRoute, type RouteSpec } from './routing.js';
import { type RuleAlertState, stepRule } from './rule-state.js';
import type { Silence } from './silences.js';
import { parseTimeInterval, type TimeInterval, type TimeIntervalSpec } from './time-intervals.js';

const S = 1_000;
const M = 60 * S;
const T0 = Date.UTC(2026, 0, 5, 12); // Monday 2026-01-05 12:00 UTC

function m(...texts: string[]) {
  const r = parseMatchers(texts);
  if (!r.ok) throw new Error(r.error.join('; '));
  return r.value;
}

function ti(spec: TimeIntervalSpec): TimeInterval {
  const r = parseTimeInterval(spec);
  if (!r.ok) throw new Error(r.error.join('; '));
  return r.value;
}

interface Harness {
  clock: FakeClock;
  dispatcher: Dispatcher;
  log: MemoryNotificationLog;
  silences: Silence[];
  sent: { at: number; receiver: string; status: string; firing: string[]; resolved: string[] }[];
  push(alerts: Alert[]): void;
  /** Advances the clock to `untilMs`, flushing at every instant the pipeline asks for. */
  runUntil(untilMs: number): void;
}

function harness(
  routeSpec: RouteSpec,
  opts: {
    inhibit?: InhibitRule[];
    receivers?: Record<string, ReceiverPolicy>;
    intervals?: Record<string, TimeInterval[]>;
    log?: MemoryNotificationLog;
    clock?: FakeClock;
  } = {},
): Harness {
  const clock = opts.clock ?? new FakeClock(T0);
  const log = opts.log ?? new MemoryNotificationLog();
  const silences: Silence[] = [];
  const config: PipelineConfig = {
    route: buildRoute(routeSpec),
    inhibitRules: opts.inhibit ?? [],
    timeIntervals: opts.intervals ?? {},
    receivers: opts.receivers ?? {},
  };
  const dispatcher = new Dispatcher(config, { log, silences: () => silences });
  const sent: Harness['sent'] = [];
  const record = (ns: Notification[]) => {
    for (const n of ns)
      sent.push({
        at: (n.atMs - T0) / S,
        receiver: n.receiver,
        status: n.status,
        firing: n.alerts
          .filter((a) => a.status === 'firing')
          .map((a) => a.labels.alertname ?? '')
          .sort(),
        resolved: n.alerts
          .filter((a) => a.status === 'resolved')
          .map((a) => a.labels.alertname ?? '')
          .sort(),
      });
  };
  return {
    clock,
    dispatcher,
    log,
    silences,
    sent,
    push(alerts) {
      dispatcher.put(alerts, clock.nowMs());
      record(dispatcher.flush(clock.nowMs()));
    },
    runUntil(untilMs) {
      for (;;) {
        const next = dispatcher.nextFlushAtMs();
        if (next === undefined || next > untilMs) break;
        clock.set(Math.max(next, clock.nowMs()));
        record(dispatcher.flush(clock.nowMs()));
      }
      clock.set(untilMs);
    },
  };
}

/** A firing alert that started now and is good until `forMs` from now (like Prometheus's resend). */
function firing(labels: Labels, nowMs: number, forMs = 24 * 60 * M): Alert {
  return { labels, annotations: {}, startsAtMs: nowMs, endsAtMs: nowMs + forMs, updatedAtMs: nowMs };
}
function resolved(labels: Labels, startsAtMs: number, nowMs: number): Alert {
  return { labels, annotations: {}, startsAtMs, endsAtMs: nowMs, updatedAtMs: nowMs };
}

describe('grouping', () => {
  it('waits group_wait, batches a group, sends additions at group_interval and repeats at repeat_interval', () => {
    const h = harness({
      receiver: 'team',
      groupBy: ['service'],
      groupWaitMs: 30 * S,
      groupIntervalMs: 5 * M,
      repeatIntervalMs: 60 * M,
    });
    h.push([firing({ alertname: 'A', service: 'api' }, T0)]);
    h.runUntil(T0 + 10 * S);
    h.push([firing({ alertname: 'B', service: 'api' }, T0 + 10 * S)]);
    h.push([firing({ alertname: 'C', service: 'db' }, T0 + 10 * S)]);
    h.runUntil(T0 + 2 * M);
    h.push([firing({ alertname: 'D', service: 'api' }, T0 + 2 * M)]);
    h.runUntil(T0 + 66 * M);
    h.runUntil(T0 + 70 * M);
    expect(h.sent).toEqual([
      { at: 30, receiver: 'team', status: 'firing', firing: ['A', 'B'], resolved: [] },
      { at: 40, receiver: 'team', status: 'firing', firing: ['C'], resolved: [] },
      // D joins the api group; it goes out at the group's next interval, not at once.
      { at: 330, receiver: 'team', status: 'firing', firing: ['A', 'B', 'D'], resolved: [] },
      // Nothing new: nothing until repeat_interval since the last send.
      { at: 3640, receiver: 'team', status: 'firing', firing: ['C'], resolved: [] },
      { at: 3930, receiver: 'team', status: 'firing', firing: ['A', 'B', 'D'], resolved: [] },
    ]);
  });

  it('sends a resolved notification when the last alert resolves, once, and not when send_resolved is off', () => {
    for (const sendResolved of [true, false]) {
      const h = harness(
        { receiver: 'r', groupBy: ['alertname'], groupWaitMs: 0, groupIntervalMs: M, repeatIntervalMs: 60 * M },
        { receivers: { r: { sendResolved } } },
      );
      h.push([firing({ alertname: 'A' }, T0)]);
      h.runUntil(T0 + 3 * M + 10 * S);
      h.push([resolved({ alertname: 'A' }, T0, T0 + 3 * M + 10 * S)]);
      h.runUntil(T0 + 10 * M);
      expect(h.sent).toEqual([
        { at: 0, receiver: 'r', status: 'firing', firing: ['A'], resolved: [] },
        ...(sendResolved ? [{ at: 240, receiver: 'r', status: 'resolved', firing: [], resolved: ['A'] }] : []),
      ]);
      expect(h.dispatcher.nextFlushAtMs()).toBeUndefined();
    }
  });

  it('an alert whose endsAt passes without a refresh resolves by itself', () => {
    const h = harness({ receiver: 'r', groupWaitMs: 0, groupIntervalMs: M, repeatIntervalMs: 60 * M });
    h.push([firing({ alertname: 'A' }, T0, 5 * M)]);
    h.runUntil(T0 + 10 * M);
    expect(h.sent.map((s) => [s.at, s.status])).toEqual([
      [0, 'firing'],
      [300, 'resolved'],
    ]);
  });

  it('routes by matchers with continue, per-route grouping and receivers', () => {
    const h = harness({
      receiver: 'default',
      groupBy: ['alertname'],
      groupWaitMs: 0,
      groupIntervalMs: M,
      routes: [
        { matchers: m('severity="page"'), receiver: 'pager', continue: true, groupBy: ['...'] },
        { matchers: m('team=~"ml|data"'), receiver: 'ml', groupBy: ['team'], groupWaitMs: 10 * S },
        { matchers: m('team!="web"', 'env="prod"'), receiver: 'prod' },
      ],
    });
    h.push([
      firing({ alertname: 'Cost', severity: 'page', team: 'ml' }, T0),
      firing({ alertname: 'Lat', severity: 'page', team: 'ml' }, T0),
      firing({ alertname: 'Err', team: 'data' }, T0),
      firing({ alertname: 'Web', team: 'web', env: 'prod' }, T0),
      firing({ alertname: 'Db', team: 'db', env: 'prod' }, T0),
    ]);
    h.runUntil(T0 + M);
    const by = (r: string) => h.sent.filter((s) => s.receiver === r).map((s) => [s.at, ...s.firing]);
    expect(by('pager')).toEqual([
      [0, 'Cost'],
      [0, 'Lat'],
    ]);
    expect(by('ml')).toEqual([
      [10, 'Cost', 'Lat'],
      [10, 'Err'],
    ]);
    expect(by('prod')).toEqual([[0, 'Db']]);
    expect(by('default')).toEqual([[0, 'Web']]);
  });
});

describe('inhibition', () => {
  it('a firing source mutes targets with equal labels only, and they are notified once it resolves', () => {
    const h = harness(
      {
        receiver: 'r',
        groupBy: ['alertname', 'cluster'],
        groupWaitMs: 0,
        groupIntervalMs: M,
        repeatIntervalMs: 60 * M,
      },
      {
        inhibit: [
          { sourceMatchers: m('severity="critical"'), targetMatchers: m('severity="warning"'), equal: ['cluster'] },
        ],
      },
    );
    h.push([
      firing({ alertname: 'Down', severity: 'critical', cluster: 'a' }, T0),
      firing({ alertname: 'Slow', severity: 'warning', cluster: 'a' }, T0),
      firing({ alertname: 'Slow', severity: 'warning', cluster: 'b' }, T0),
    ]);
    h.runUntil(T0 + 2 * M);
    h.push([resolved({ alertname: 'Down', severity: 'critical', cluster: 'a' }, T0, T0 + 2 * M)]);
    h.runUntil(T0 + 5 * M);
    expect(h.sent.map((s) => [s.at, s.status, ...s.firing, ...s.resolved])).toEqual([
      [0, 'firing', 'Down'],
      [0, 'firing', 'Slow'], // cluster b
      // Both groups flushed at 120 before the resolve arrived; their next flush is at 180.
      [180, 'resolved', 'Down'],
      [180, 'firing', 'Slow'], // cluster a, no longer inhibited
    ]);
  });
});

describe('silences', () => {
  it('mutes matching alerts while active (regex and negative matchers); after expiry they are sent', () => {
    const h = harness({
      receiver: 'r',
      groupBy: ['alertname'],
      groupWaitMs: 0,
      groupIntervalMs: M,
      repeatIntervalMs: 60 * M,
    });
    h.silences.push({
      id: 's1',
      matchers: m('alertname=~"Cost.*"', 'env!="dev"'),
      startsAtMs: T0,
      endsAtMs: T0 + 10 * M,
      createdBy: 'ops',
      comment: 'maintenance',
      updatedAtMs: T0,
    });
    h.push([
      firing({ alertname: 'CostHigh', env: 'prod' }, T0),
      firing({ alertname: 'CostLow', env: 'dev' }, T0),
      firing({ alertname: 'Errors', env: 'prod' }, T0),
    ]);
    h.runUntil(T0 + 12 * M);
    expect(h.sent.map((s) => [s.at, ...s.firing])).toEqual([
      [0, 'CostLow'],
      [0, 'Errors'],
      [600, 'CostHigh'],
    ]);
  });

  it('a recurring silence (02:00–04:00 daily, Europe/Berlin) mutes only inside its window', () => {
    const start = Date.UTC(2026, 0, 5, 0, 30); // 01:30 in Berlin (UTC+1 in winter)
    const h = harness(
      { receiver: 'r', groupBy: ['alertname'], groupWaitMs: 0, groupIntervalMs: M, repeatIntervalMs: 30 * M },
      { clock: new FakeClock(start) },
    );
    h.silences.push({
      id: 'nightly',
      matchers: m('alertname="Batch"'),
      startsAtMs: start - 24 * 60 * M,
      endsAtMs: start + 30 * 24 * 60 * M,
      createdBy: 'ops',
      comment: 'nightly batch',
      timeIntervals: [ti({ times: [{ start_time: '02:00', end_time: '04:00' }], location: 'Europe/Berlin' })],
      updatedAtMs: start,
    });
    h.push([firing({ alertname: 'Batch' }, start, 24 * 60 * M)]);
    h.runUntil(start + 4 * 60 * M);
    // 01:30 Berlin sent; 02:00–03:59 Berlin (01:00–02:59 UTC) muted; then the 30-minute repeats.
    expect(h.sent.map((s) => new Date(s.at * S + T0).toISOString())).toEqual([
      '2026-01-05T00:30:00.000Z',
      '2026-01-05T03:00:00.000Z',
      '2026-01-05T03:30:00.000Z',
      '2026-01-05T04:00:00.000Z',
      '2026-01-05T04:30:00.000Z',
    ]);
  });

  it('a route with a weekend mute interval holds notifications until Monday in its zone', () => {
    const saturday = Date.UTC(2026, 0, 10, 9); // Saturday 09:00 UTC
    const h = harness(
      {
        receiver: 'r',
        groupWaitMs: 0,
        groupIntervalMs: 60 * M,
        repeatIntervalMs: 4 * 60 * M,
        muteTimeIntervals: ['weekends'],
      },
      {
        clock: new FakeClock(saturday),
        intervals: { weekends: [ti({ weekdays: ['saturday', 'sunday'], location: 'America/New_York' })] },
      },
    );
    h.push([firing({ alertname: 'A' }, saturday, 7 * 24 * 60 * M)]);
    h.runUntil(saturday + 2 * 24 * 60 * M);
    // Sunday ends in New York at Monday 05:00 UTC; the hourly flush at 05:00 sends, then it repeats.
    expect(h.sent.map((s) => new Date(s.at * S + T0).toISOString())).toEqual([
      '2026-01-12T05:00:00.000Z',
      '2026-01-12T09:00:00.000Z',
    ]);
  });
});

describe('dedup across a restart and rate limits', () => {
  it('a restarted pipeline with the persisted log neither re-sends nor forgets', () => {
    const log = new MemoryNotificationLog();
    const route: RouteSpec = {
      receiver: 'r',
      groupBy: ['alertname'],
      groupWaitMs: 0,
      groupIntervalMs: M,
      repeatIntervalMs: 60 * M,
    };
    const a = firing({ alertname: 'A' }, T0, 120 * M);
    const first = harness(route, { log });
    first.push([a]);
    first.runUntil(T0 + 5 * M);
    expect(first.sent.map((s) => s.at)).toEqual([0]);
    // A new process: same persisted log, alerts re-read from state.
    const second = harness(route, { log: new MemoryNotificationLog(log.all()), clock: new FakeClock(T0 + 5 * M) });
    second.push([a]);
    second.runUntil(T0 + 61 * M);
    expect(second.sent.map((s) => s.at)).toEqual([3600]); // only the repeat
  });

  it('over a receiver rate limit a group waits for its next flush', () => {
    const h = harness(
      { receiver: 'r', groupBy: ['alertname'], groupWaitMs: 0, groupIntervalMs: M, repeatIntervalMs: 60 * M },
      { receivers: { r: { sendResolved: true, rateLimit: { max: 2, windowMs: 5 * M } } } },
    );
    h.push([firing({ alertname: 'A' }, T0), firing({ alertname: 'B' }, T0), firing({ alertname: 'C' }, T0)]);
    h.runUntil(T0 + 6 * M);
    expect(h.sent.map((s) => [s.at, ...s.firing])).toEqual([
      [0, 'A'],
      [0, 'B'],
      [300, 'C'],
    ]);
  });
});

describe('rule state: for and keep_firing_for', () => {
  /** Evaluates every `stepMs`; `active(t)` says whether the condition holds at t. */
  function evaluate(
    active: (tMs: number) => boolean,
    timing: { forMs: number; keepFiringForMs: number },
    untilMs: number,
  ) {
    const h = harness({
      receiver: 'r',
      groupBy: ['alertname'],
      groupWaitMs: 0,
      groupIntervalMs: 10 * S,
      repeatIntervalMs: 60 * M,
    });
    let states: RuleAlertState[] = [];
    const pending: number[] = [];
    for (let t = T0; t <= untilMs; t += 10 * S) {
      h.runUntil(t);
      const r = stepRule(states, active(t) ? [{ labels: { alertname: 'Hot' }, annotations: {}, value: 1 }] : [], t, {
        ...timing,
        staleAfterMs: 4 * 10 * S,
      });
      states = r.states;
      if (states.some((s) => s.status === 'pending')) pending.push((t - T0) / S);
      h.push(r.alerts);
    }
    return { sent: h.sent.map((s) => [s.at, s.status]), pending };
  }

  it('`for` holds an alert pending and a blip shorter than `for` never notifies', () => {
    const r = evaluate(
      (t) => (t >= T0 + 20 * S && t < T0 + 40 * S) || t >= T0 + 60 * S,
      { forMs: 30 * S, keepFiringForMs: 0 },
      T0 + 150 * S,
    );
    expect(r.pending).toEqual([20, 30, 60, 70, 80]);
    expect(r.sent).toEqual([[90, 'firing']]);
  });

  it('`keep_firing_for` bridges a gap, then resolves once it elapses', () => {
    const r = evaluate(
      (t) => (t >= T0 && t < T0 + 30 * S) || (t >= T0 + 50 * S && t < T0 + 60 * S),
      { forMs: 0, keepFiringForMs: 30 * S },
      T0 + 150 * S,
    );
    // Active 0–20 and 50; gap at 30–40 bridged; last active 50 → resolved by the evaluation at
    // 80, notified at the group's next flush (90).
    expect(r.sent).toEqual([
      [0, 'firing'],
      [90, 'resolved'],
    ]);
  });
});

describe('receivers that acknowledge (PagerDuty)', () => {
  it('acknowledges a group once all its announced alerts are silenced, announces resolutions under the silence, and fires again after it', () => {
    const h = harness(
      { receiver: 'pd', groupBy: ['alertname'], groupWaitMs: 0, groupIntervalMs: M, repeatIntervalMs: 60 * M },
      { receivers: { pd: { sendResolved: true, acknowledgeSilenced: true } } },
    );
    const a1 = { alertname: 'A', i: '1' };
    const a2 = { alertname: 'A', i: '2' };
    h.push([firing(a1, T0), firing(a2, T0), firing({ alertname: 'B' }, T0)]);
    h.runUntil(T0 + 90 * S);
    h.silences.push({
      id: 'ack',
      matchers: m('alertname=~"A|B"'),
      startsAtMs: T0 + 90 * S,
      endsAtMs: T0 + 30 * M,
      createdBy: 'oncall',
      comment: 'on it',
      updatedAtMs: T0 + 90 * S,
    });
    h.runUntil(T0 + 5 * M);
    h.push([resolved({ alertname: 'B' }, T0, T0 + 5 * M)]);
    h.runUntil(T0 + 10 * M);
    h.push([resolved(a1, T0, T0 + 10 * M)]);
    h.runUntil(T0 + 40 * M);
    h.push([resolved(a2, T0, T0 + 40 * M)]);
    h.runUntil(T0 + 50 * M);
    expect(h.sent.map((s) => [s.at, s.status, ...s.firing, ...s.resolved.map((r) => `-${r}`)])).toEqual([
      [0, 'firing', 'A', 'A'],
      [0, 'firing', 'B'],
      [120, 'acknowledged', 'A', 'A'],
      [120, 'acknowledged', 'B'],
      [360, 'resolved', '-B'], // B ended under the silence: still announced
      // A1 ended under the silence at 600: recorded, nothing sent while A2 is acknowledged.
      [1800, 'firing', 'A'], // the silence ended with A2 firing
      [2460, 'resolved', '-A'],
    ]);
  });

  it('without acknowledgements a silenced group sends nothing until the silence ends', () => {
    const h = harness(
      { receiver: 'r', groupBy: ['alertname'], groupWaitMs: 0, groupIntervalMs: M, repeatIntervalMs: 60 * M },
      { receivers: { r: { sendResolved: true } } },
    );
    h.push([firing({ alertname: 'A' }, T0)]);
    h.runUntil(T0 + 90 * S);
    h.silences.push({
      id: 's',
      matchers: m('alertname="A"'),
      startsAtMs: T0 + 90 * S,
      endsAtMs: T0 + 30 * M,
      createdBy: 'oncall',
      comment: '',
      updatedAtMs: T0 + 90 * S,
    });
    h.runUntil(T0 + 40 * M);
    expect(h.sent.map((s) => [s.at, s.status])).toEqual([
      [0, 'firing'],
      [1800, 'firing'],
    ]);
  });
});
