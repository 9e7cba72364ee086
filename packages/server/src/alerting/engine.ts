/**
 * The running evaluator on the leader: evaluates due rules (all of them after a commit), feeds
 * their alerts and alerts from other sources to the pipeline, flushes it, and persists rule
 * states, held alerts, notification-log entries and the notifications to send (the outbox) in
 * one fenced transaction — only then delivers. A delivered row is removed and recorded; a
 * failed one is retried with backoff. A crash between commit and delivery leaves the row in
 * the outbox, delivered at the next pass; the log entry written with it keeps the pipeline
 * from deciding to send it a second time.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, SummaryResult } from '@reskpoints/core';
import type { Logger } from 'pino';
import type { PlatformEvents } from '../platform/events.js';
import type { Fence } from '../platform/fencing.js';
import { fencedTransaction } from '../platform/fencing.js';
import type { SignalHub } from '../platform/signals.js';
import type { SqlDatabase } from '../platform/sql.js';
import { backoffMs, type DeliveryOutcome } from './channels/delivery.js';
import { type ChannelKind, channelsFor, channelsOf, sendChannel } from './channels/index.js';
import { webhookPayload } from './channels/webhook.js';
import type { ReceiverConfig } from './config.js';
import { Dispatcher, type PipelineConfig } from './dispatcher.js';
import { evaluateRule, evaluateSignalRule, type Summarize } from './evaluator.js';
import { type Alert, fingerprint, isResolved } from './labels.js';
import { MemoryNotificationLog, type NotificationLogEntry } from './notification-log.js';
import type { AlertingRepo } from './repo.js';
import { type ActiveSeries, type RuleAlertState, stepRule } from './rule-state.js';
import type { Rule } from './rules.js';
import type { Silence } from './silences.js';

/** Rules evaluated at once in a pass. */
const EVALUATION_CONCURRENCY = 4;

/** `fn` over `items`, at most `limit` at a time; results in the items' order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface EngineDeps {
  db: SqlDatabase;
  repo: AlertingRepo;
  clock: Clock;
  logger: Logger;
  summarize: Summarize | null;
  /** The alert input port, for rules of kind `signal`; null to evaluate none. */
  signals?: SignalHub | null;
  /** Where alert changes and notifications are published (topic `alerts`); null for none. */
  events?: PlatformEvents | null;
  rules: () => readonly Rule[];
  pipeline: () => PipelineConfig;
  receivers: () => readonly ReceiverConfig[];
  delivery: () => { maxAttempts: number; initialBackoffMs: number; maxBackoffMs: number; timeoutMs: number };
  externalUrl: () => string;
  random?: () => number;
}

interface QueuedNotification {
  id: string;
  receiver: string;
  channel: string | null;
  groupKey: string;
  status: string;
  alerts: number;
}

export interface RuleTransition {
  rule: string;
  fingerprint: string;
  labels: Record<string, string>;
  from: 'inactive' | 'pending' | 'firing';
  to: 'inactive' | 'pending' | 'firing';
  value: number | null;
}

/** How each series of a rule changed state between two evaluations. */
export function ruleTransitions(
  rule: string,
  before: readonly RuleAlertState[],
  after: readonly RuleAlertState[],
): RuleTransition[] {
  const prev = new Map(before.map((s) => [s.fingerprint, s]));
  const out: RuleTransition[] = [];
  for (const s of after) {
    const from = prev.get(s.fingerprint)?.status ?? 'inactive';
    if (from !== s.status)
      out.push({ rule, fingerprint: s.fingerprint, labels: { ...s.labels }, from, to: s.status, value: s.value });
    prev.delete(s.fingerprint);
  }
  for (const s of prev.values())
    out.push({
      rule,
      fingerprint: s.fingerprint,
      labels: { ...s.labels },
      from: s.status,
      to: 'inactive',
      value: null,
    });
  return out;
}

class TrackingLog extends MemoryNotificationLog {
  dirty: NotificationLogEntry[] = [];
  constructor(initial: Iterable<NotificationLogEntry> = []) {
    super();
    // Loaded entries are already persisted: not dirty.
    for (const e of initial) super.put(e);
  }
  override put(entry: NotificationLogEntry): void {
    super.put(entry);
    this.dirty.push(entry);
  }
}

export class AlertingEngine {
  private loadedFor: string | null = null;
  private dispatcher: Dispatcher | null = null;
  private log = new TrackingLog();
  private silences: Silence[] = [];
  private ruleStates = new Map<string, RuleAlertState[]>();
  private lastEvalMs = new Map<string, number>();
  private persisted = new Map<string, string>();
  /** Rule states as last written (JSON per rule), to skip rewriting unchanged ones. */
  private persistedStates = new Map<string, string>();
  private commitSeen = false;
  private pipelineRef: PipelineConfig | null = null;
  private readonly inbound: Alert[] = [];
  private signalsSeen = new Set<string>();
  /** Status of each alert held at the end of the last pass, to publish changes. */
  private lastStatus = new Map<string, 'firing' | 'resolved'>();

  constructor(private readonly deps: EngineDeps) {}

  /** A commit happened: evaluate every rule at the next pass. */
  noteCommit(): void {
    this.commitSeen = true;
  }

  /** A signal source changed: evaluate its rules at the next pass. */
  noteSignal(sourceName: string): void {
    this.signalsSeen.add(sourceName);
  }

  /** Alerts from outside the rules, in this process only (the API stores them with `repo.putInbound`). */
  submit(alerts: readonly Alert[]): void {
    this.inbound.push(...alerts);
  }

  /** Rule states held now (for the API); empty when this node is not evaluating. */
  currentRuleStates(): ReadonlyMap<string, readonly RuleAlertState[]> {
    return this.ruleStatesView;
  }
  private ruleStatesView = new Map<string, RuleAlertState[]>();

  private async load(fence: Fence): Promise<Dispatcher> {
    const key = `${fence.name}:${fence.token}`;
    if (this.dispatcher && this.loadedFor === key) return this.dispatcher;
    // New leadership (or first run): the state database is the truth.
    const { db, repo } = this.deps;
    const nowMs = this.deps.clock.nowMs();
    this.log = new TrackingLog(await repo.loadLog(db));
    this.ruleStates = await repo.loadRuleStates(db);
    this.persistedStates = new Map([...this.ruleStates].map(([name, states]) => [name, JSON.stringify(states)]));
    this.silences = await repo.loadSilences(db, nowMs);
    this.pipelineRef = this.deps.pipeline();
    const d = new Dispatcher(this.pipelineRef, { log: this.log, silences: () => this.silences });
    const alerts = await repo.loadAlerts(db);
    d.put(alerts, nowMs);
    this.persisted = new Map(alerts.map((a) => [fingerprint(a.labels), JSON.stringify(a)]));
    this.lastEvalMs.clear();
    this.dispatcher = d;
    this.loadedFor = key;
    return d;
  }

  /** One pass: evaluate, flush, persist under the fence, deliver. Never throws for a bad rule or receiver. */
  async pass(fence: Fence, nowMs: number): Promise<void> {
    const d = await this.load(fence);
    const { db, repo } = this.deps;
    const pipeline = this.deps.pipeline();
    if (pipeline !== this.pipelineRef) {
      this.pipelineRef = pipeline;
      d.reconfigure(pipeline, nowMs);
    }
    // Both reads at once (readers run in parallel); alerts that arrive after the peek wait for the next pass.
    const [silences, inbound] = await Promise.all([repo.loadSilences(db, nowMs), repo.peekInbound(db, 5_000)]);
    this.silences = silences;
    const rules = this.deps.rules();
    const evaluated: string[] = [];
    const all = this.commitSeen;
    this.commitSeen = false;
    const signalsSeen = this.signalsSeen;
    this.signalsSeen = new Set();
    const transitions: RuleTransition[] = [];
    // Rules on the same query (filter, grouping, window) share one summary per pass.
    const base = this.deps.summarize;
    const answers = new Map<string, Promise<SummaryResult>>();
    const summarize: Summarize | null = base
      ? (q) => {
          const key = JSON.stringify(q);
          let a = answers.get(key);
          if (!a) {
            a = base(q);
            answers.set(key, a);
          }
          return a;
        }
      : null;
    const due: Rule[] = [];
    for (const rule of rules) {
      const signal = rule.signal;
      if (signal ? !this.deps.signals : !this.deps.summarize) continue;
      const last = this.lastEvalMs.get(rule.name);
      const woken = signal ? signalsSeen.has(signal.source) : all;
      if (!woken && last !== undefined && nowMs - last < rule.interval) continue;
      this.lastEvalMs.set(rule.name, nowMs);
      due.push(rule);
    }
    // Queries run a few at a time (the store answers them in parallel); states step in rule order.
    const results = await mapLimit(due, EVALUATION_CONCURRENCY, (rule) =>
      (rule.signal
        ? evaluateSignalRule(rule, this.deps.signals as SignalHub, nowMs)
        : evaluateRule(rule, summarize as Summarize, nowMs)
      ).then(
        (active) => ({ ok: true as const, active }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    );
    due.forEach((rule, i) => {
      const result = results[i] as { ok: true; active: ActiveSeries[] } | { ok: false; error: unknown };
      if (!result.ok) {
        this.deps.logger.warn({ err: result.error, rule: rule.name }, 'rule evaluation failed');
        return;
      }
      const before = this.ruleStates.get(rule.name) ?? [];
      const r = stepRule(before, result.active, nowMs, {
        forMs: rule.for,
        keepFiringForMs: rule.keepFiringFor,
        staleAfterMs: Math.max(4 * rule.interval, 5 * 60_000),
      });
      transitions.push(...ruleTransitions(rule.name, before, r.states));
      this.ruleStates.set(rule.name, r.states);
      evaluated.push(rule.name);
      d.put(r.alerts, nowMs);
    });
    // Rules removed (from the file, the config or the API) resolve their alerts.
    const names = new Set(rules.map((r) => r.name));
    for (const name of [...this.ruleStates.keys()]) {
      if (names.has(name)) continue;
      const before = this.ruleStates.get(name) ?? [];
      const r = stepRule(before, [], nowMs, { forMs: 0, keepFiringForMs: 0, staleAfterMs: 0 });
      transitions.push(...ruleTransitions(name, before, []));
      d.put(r.alerts, nowMs);
      this.ruleStates.delete(name);
      evaluated.push(name);
    }
    this.ruleStatesView = new Map(this.ruleStates);
    if (this.inbound.length) d.put(this.inbound.splice(0), nowMs);
    // Alerts received by any node (Alertmanager API, webhook) wait in the inbound table.
    if (inbound.length)
      d.put(
        inbound.map((i) => i.alert),
        nowMs,
      );
    const notifications = d.flush(nowMs);
    const held = new Map(d.list(nowMs).map((a) => [a.fingerprint, a.alert]));
    const logEntries = this.log.dirty.splice(0);
    const receivers = new Map(this.deps.receivers().map((r) => [r.name, r]));
    const queued: QueuedNotification[] = [];
    // Only rules whose states changed are written (most rules of a large set stay inactive).
    const changedStates: [string, RuleAlertState[]][] = [];
    const written = new Map<string, string>();
    for (const name of evaluated) {
      const states = this.ruleStates.get(name) ?? [];
      const body = JSON.stringify(states);
      if ((this.persistedStates.get(name) ?? '[]') === body) continue;
      changedStates.push([name, states]);
      written.set(name, body);
    }
    await fencedTransaction(db, fence, nowMs, async (tx) => {
      for (const [name, states] of changedStates) await repo.replaceRuleStates(tx, name, states);
      await repo.putAlerts(
        tx,
        [...held].filter(([fp, alert]) => this.persisted.get(fp) !== JSON.stringify(alert)),
      );
      await repo.deleteAlerts(
        tx,
        [...this.persisted.keys()].filter((fp) => !held.has(fp)),
      );
      for (const e of logEntries) await repo.putLog(tx, e);
      for (const i of inbound) await repo.deleteInbound(tx, i.id);
      for (const n of notifications) {
        const receiver = receivers.get(n.receiver);
        if (!receiver) continue; // the implicit `default` receiver sends nowhere
        const body = JSON.stringify(webhookPayload(n, n.receiver, this.deps.externalUrl()));
        // One row per channel, each delivered and retried on its own; a receiver without
        // channels still gets a row, recorded as failed, so the gap shows in the log.
        const kinds = channelsFor(receiver, n.status);
        if (n.status === 'acknowledged' && kinds.length === 0) continue;
        for (const channel of kinds.length ? kinds : [null]) {
          const id = randomUUID();
          queued.push({
            id,
            receiver: n.receiver,
            channel,
            groupKey: n.groupKey,
            status: n.status,
            alerts: n.alerts.length,
          });
          await repo.enqueue(tx, {
            id,
            receiver: n.receiver,
            channel,
            group_key: n.groupKey,
            status: n.status,
            body,
            created_at_ms: nowMs,
            attempts: 0,
            next_attempt_at_ms: nowMs,
            last_error: null,
          });
        }
      }
    });
    this.persisted = new Map([...held].map(([fp, a]) => [fp, JSON.stringify(a)]));
    for (const [name, body] of written) this.persistedStates.set(name, body);
    this.publishChanges(nowMs, held, transitions, queued);
    await this.deliver(nowMs);
  }

  private publish(atMs: number, data: Record<string, unknown>): void {
    this.deps.events?.publish({ topic: 'alerts', atMs, data });
  }

  /** Live events for `/api/v1/events` (topic `alerts`): rule transitions, alerts firing and resolving, notifications queued. */
  private publishChanges(
    nowMs: number,
    held: ReadonlyMap<string, Alert>,
    transitions: readonly RuleTransition[],
    queued: readonly QueuedNotification[],
  ): void {
    if (!this.deps.events) return;
    for (const t of transitions) this.publish(nowMs, { kind: 'rule', ...t });
    const next = new Map<string, 'firing' | 'resolved'>();
    for (const [fp, alert] of held) {
      const status = isResolved(alert, nowMs) ? 'resolved' : 'firing';
      next.set(fp, status);
      if (this.lastStatus.get(fp) !== status)
        this.publish(nowMs, {
          kind: 'alert',
          fingerprint: fp,
          status,
          labels: alert.labels,
          annotations: alert.annotations,
          startsAtMs: alert.startsAtMs,
          endsAtMs: alert.endsAtMs,
        });
    }
    for (const [fp, status] of this.lastStatus)
      if (!next.has(fp) && status === 'firing')
        this.publish(nowMs, { kind: 'alert', fingerprint: fp, status: 'resolved' });
    this.lastStatus = next;
    for (const q of queued) this.publish(nowMs, { kind: 'notification', outcome: 'queued', ...q });
  }

  /** Delivers due outbox rows. */
  async deliver(nowMs: number): Promise<void> {
    const { db, repo } = this.deps;
    const policy = this.deps.delivery();
    const receivers = new Map(this.deps.receivers().map((r) => [r.name, r]));
    const rows = await repo.dueOutbox(db, nowMs, 100);
    await Promise.all(
      rows.map(async (row) => {
        const receiver = receivers.get(row.receiver);
        // Rows queued before channels had rows were webhook deliveries.
        const channel = (row.channel ?? 'webhook') as ChannelKind;
        let outcome: DeliveryOutcome;
        if (!receiver) outcome = { kind: 'failed', reason: `receiver "${row.receiver}" is no longer configured` };
        else if (!row.channel && channelsOf(receiver).length === 0)
          outcome = { kind: 'failed', reason: `receiver "${row.receiver}" has no channel configured` };
        else
          outcome = await sendChannel(receiver, channel, row.body, { id: row.id, nowMs, timeoutMs: policy.timeoutMs });
        const attempts = row.attempts + 1;
        this.publish(nowMs, {
          kind: 'notification',
          id: row.id,
          receiver: row.receiver,
          channel: row.channel,
          groupKey: row.group_key,
          status: row.status,
          outcome:
            outcome.kind === 'delivered'
              ? 'delivered'
              : outcome.kind === 'failed' || attempts >= policy.maxAttempts
                ? 'failed'
                : 'retrying',
          attempts,
          ...(outcome.kind === 'delivered' ? {} : { reason: outcome.reason }),
        });
        if (outcome.kind === 'delivered') {
          await db.transaction((tx) => repo.finish(tx, row, 'delivered', this.deps.clock.nowMs(), null));
        } else if (outcome.kind === 'failed' || attempts >= policy.maxAttempts) {
          this.deps.logger.warn(
            { receiver: row.receiver, channel: row.channel, reason: outcome.reason, attempts },
            'notification not delivered',
          );
          await db.transaction((tx) => repo.finish(tx, row, 'failed', this.deps.clock.nowMs(), outcome.reason));
        } else {
          const wait = backoffMs(policy, attempts, (this.deps.random ?? Math.random)(), outcome.retryAfterMs);
          await repo.reschedule(db, row.id, attempts, nowMs + Math.round(wait), outcome.reason);
        }
      }),
    );
  }
}
