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
import type { Clock } from '@reskpoints/core';
import type { Logger } from 'pino';
import type { Fence } from '../platform/fencing.js';
import { fencedTransaction } from '../platform/fencing.js';
import type { SqlDatabase } from '../platform/sql.js';
import { backoffMs, type DeliveryOutcome } from './channels/delivery.js';
import { sendWebhook, webhookPayload } from './channels/webhook.js';
import type { ReceiverConfig } from './config.js';
import { Dispatcher, type PipelineConfig } from './dispatcher.js';
import { evaluateRule, type Summarize } from './evaluator.js';
import { type Alert, fingerprint } from './labels.js';
import { MemoryNotificationLog, type NotificationLogEntry } from './notification-log.js';
import type { AlertingRepo } from './repo.js';
import { type RuleAlertState, stepRule } from './rule-state.js';
import type { Rule } from './rules.js';
import type { Silence } from './silences.js';

export interface EngineDeps {
  db: SqlDatabase;
  repo: AlertingRepo;
  clock: Clock;
  logger: Logger;
  summarize: Summarize | null;
  rules: () => readonly Rule[];
  pipeline: () => PipelineConfig;
  receivers: () => readonly ReceiverConfig[];
  delivery: () => { maxAttempts: number; initialBackoffMs: number; maxBackoffMs: number; timeoutMs: number };
  externalUrl: () => string;
  random?: () => number;
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
  private commitSeen = false;
  private pipelineRef: PipelineConfig | null = null;
  private readonly inbound: Alert[] = [];

  constructor(private readonly deps: EngineDeps) {}

  /** A commit happened: evaluate every rule at the next pass. */
  noteCommit(): void {
    this.commitSeen = true;
  }

  /** Alerts from outside the rules (Alertmanager API, other modules); taken at the next pass. */
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
    this.silences = await repo.loadSilences(db, nowMs);
    const rules = this.deps.rules();
    const evaluated: string[] = [];
    const all = this.commitSeen;
    this.commitSeen = false;
    if (this.deps.summarize) {
      for (const rule of rules) {
        const last = this.lastEvalMs.get(rule.name);
        if (!all && last !== undefined && nowMs - last < rule.interval) continue;
        this.lastEvalMs.set(rule.name, nowMs);
        try {
          const active = await evaluateRule(rule, this.deps.summarize, nowMs);
          const r = stepRule(this.ruleStates.get(rule.name) ?? [], active, nowMs, {
            forMs: rule.for,
            keepFiringForMs: rule.keepFiringFor,
            staleAfterMs: Math.max(4 * rule.interval, 5 * 60_000),
          });
          this.ruleStates.set(rule.name, r.states);
          evaluated.push(rule.name);
          d.put(r.alerts, nowMs);
        } catch (e) {
          this.deps.logger.warn({ err: e, rule: rule.name }, 'rule evaluation failed');
        }
      }
      // Rules removed from the file resolve their alerts.
      for (const name of [...this.ruleStates.keys()]) {
        if (rules.some((r) => r.name === name)) continue;
        const r = stepRule(this.ruleStates.get(name) ?? [], [], nowMs, {
          forMs: 0,
          keepFiringForMs: 0,
          staleAfterMs: 0,
        });
        d.put(r.alerts, nowMs);
        this.ruleStates.delete(name);
        evaluated.push(name);
      }
    }
    this.ruleStatesView = new Map(this.ruleStates);
    if (this.inbound.length) d.put(this.inbound.splice(0), nowMs);
    const notifications = d.flush(nowMs);
    const held = new Map(d.list(nowMs).map((a) => [a.fingerprint, a.alert]));
    const logEntries = this.log.dirty.splice(0);
    const receivers = new Map(this.deps.receivers().map((r) => [r.name, r]));
    await fencedTransaction(db, fence, nowMs, async (tx) => {
      for (const name of evaluated) await repo.replaceRuleStates(tx, name, this.ruleStates.get(name) ?? []);
      for (const [fp, alert] of held) {
        const body = JSON.stringify(alert);
        if (this.persisted.get(fp) !== body) await repo.putAlert(tx, fp, alert);
      }
      for (const fp of this.persisted.keys()) if (!held.has(fp)) await repo.deleteAlert(tx, fp);
      for (const e of logEntries) await repo.putLog(tx, e);
      for (const n of notifications) {
        if (!receivers.has(n.receiver)) continue; // the implicit `default` receiver sends nowhere
        await repo.enqueue(tx, {
          id: randomUUID(),
          receiver: n.receiver,
          group_key: n.groupKey,
          status: n.status,
          body: JSON.stringify(webhookPayload(n, n.receiver, this.deps.externalUrl())),
          created_at_ms: nowMs,
          attempts: 0,
          next_attempt_at_ms: nowMs,
          last_error: null,
        });
      }
    });
    this.persisted = new Map([...held].map(([fp, a]) => [fp, JSON.stringify(a)]));
    await this.deliver(nowMs);
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
        let outcome: DeliveryOutcome;
        if (!receiver?.webhook)
          outcome = { kind: 'failed', reason: `receiver "${row.receiver}" has no channel configured` };
        else outcome = await sendWebhook(receiver.webhook, row.body, nowMs, policy.timeoutMs);
        const attempts = row.attempts + 1;
        if (outcome.kind === 'delivered') {
          await db.transaction((tx) => repo.finish(tx, row, 'delivered', this.deps.clock.nowMs(), null));
        } else if (outcome.kind === 'failed' || attempts >= policy.maxAttempts) {
          this.deps.logger.warn(
            { receiver: row.receiver, reason: outcome.reason, attempts },
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
