/**
 * The alerting state tables, in the common SQL of `platform/sql.ts` (DuckDB and PostgreSQL):
 * rule alert states, the alerts the pipeline holds, the notification log, the durable outbox,
 * the sent-notification history and silences.
 */
import { randomUUID } from 'node:crypto';
import type { SqlDatabase, SqlExecutor } from '../platform/sql.js';
import type { StateMigration } from '../platform/state-migrations.js';
import type { Alert } from './labels.js';
import type { NotificationLogEntry } from './notification-log.js';
import type { RuleAlertState } from './rule-state.js';
import type { Silence } from './silences.js';

export const ALERTING_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    name: 'alert state, notification log, outbox, silences',
    steps: [
      'CREATE TABLE alerting_rule_states (rule TEXT NOT NULL, fingerprint TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (rule, fingerprint))',
      'CREATE TABLE alerting_alerts (fingerprint TEXT PRIMARY KEY, body TEXT NOT NULL)',
      'CREATE TABLE alerting_nflog (receiver TEXT NOT NULL, group_key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (receiver, group_key))',
      'CREATE TABLE alerting_outbox (id TEXT PRIMARY KEY, receiver TEXT NOT NULL, group_key TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL, created_at_ms BIGINT NOT NULL, attempts BIGINT NOT NULL, next_attempt_at_ms BIGINT NOT NULL, last_error TEXT)',
      'CREATE TABLE alerting_sent (id TEXT PRIMARY KEY, receiver TEXT NOT NULL, group_key TEXT NOT NULL, status TEXT NOT NULL, alert_count BIGINT NOT NULL, created_at_ms BIGINT NOT NULL, finished_at_ms BIGINT NOT NULL, outcome TEXT NOT NULL, attempts BIGINT NOT NULL, detail TEXT)',
      'CREATE TABLE alerting_silences (id TEXT PRIMARY KEY, body TEXT NOT NULL, ends_at_ms BIGINT NOT NULL)',
    ],
  },
  {
    version: 2,
    name: 'inbound alerts, rules managed by API',
    steps: [
      'CREATE TABLE alerting_inbound (id TEXT PRIMARY KEY, body TEXT NOT NULL, received_at_ms BIGINT NOT NULL)',
      'CREATE TABLE alerting_api_rules (name TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at_ms BIGINT NOT NULL)',
      'CREATE TABLE alerting_api_rules_rev (id BIGINT PRIMARY KEY, rev BIGINT NOT NULL)',
    ],
  },
  {
    version: 3,
    name: 'one outbox row per receiver channel',
    steps: ['ALTER TABLE alerting_outbox ADD COLUMN channel TEXT', 'ALTER TABLE alerting_sent ADD COLUMN channel TEXT'],
  },
];

/** A rule created through the API, as stored (the spec as given, validated). */
export type ApiRuleRow = {
  name: string;
  body: string;
  updated_at_ms: number;
};

export type OutboxRow = {
  id: string;
  receiver: string;
  /** The receiver's channel (`webhook`, `slack`, …); null in rows queued before channels had rows. */
  channel: string | null;
  group_key: string;
  status: string;
  body: string;
  created_at_ms: number;
  attempts: number;
  next_attempt_at_ms: number;
  last_error: string | null;
};

export type SentRow = {
  id: string;
  receiver: string;
  channel: string | null;
  group_key: string;
  status: string;
  alert_count: number;
  created_at_ms: number;
  finished_at_ms: number;
  outcome: string;
  attempts: number;
  detail: string | null;
};

/** Rows per multi-row statement (PostgreSQL allows 65,535 parameters in one). */
const WRITE_CHUNK = 500;

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

export class AlertingRepo {
  async loadRuleStates(db: SqlExecutor): Promise<Map<string, RuleAlertState[]>> {
    const rows = await db.query<{ rule: string; body: string }>('SELECT rule, body FROM alerting_rule_states');
    const out = new Map<string, RuleAlertState[]>();
    for (const r of rows) {
      const list = out.get(r.rule) ?? [];
      list.push(JSON.parse(r.body) as RuleAlertState);
      out.set(r.rule, list);
    }
    return out;
  }

  async replaceRuleStates(tx: SqlExecutor, rule: string, states: readonly RuleAlertState[]): Promise<void> {
    await tx.exec('DELETE FROM alerting_rule_states WHERE rule = $1', [rule]);
    // One multi-row statement per chunk: a rule with many series costs a few statements, not one each.
    for (const chunk of chunks(states, WRITE_CHUNK)) {
      const values = chunk.map((_, i) => `($1, $${2 * i + 2}, $${2 * i + 3})`).join(', ');
      await tx.exec(`INSERT INTO alerting_rule_states (rule, fingerprint, body) VALUES ${values}`, [
        rule,
        ...chunk.flatMap((s) => [s.fingerprint, JSON.stringify(s)]),
      ]);
    }
  }

  async loadAlerts(db: SqlExecutor): Promise<Alert[]> {
    const rows = await db.query<{ body: string }>('SELECT body FROM alerting_alerts');
    return rows.map((r) => JSON.parse(r.body) as Alert);
  }

  async putAlert(tx: SqlExecutor, fp: string, alert: Alert): Promise<void> {
    await this.putAlerts(tx, [[fp, alert]]);
  }

  /** Inserts or replaces alerts by fingerprint, a chunk per statement. */
  async putAlerts(tx: SqlExecutor, alerts: readonly (readonly [string, Alert])[]): Promise<void> {
    for (const chunk of chunks(alerts, WRITE_CHUNK)) {
      const values = chunk.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ');
      await tx.exec(
        `INSERT INTO alerting_alerts (fingerprint, body) VALUES ${values} ON CONFLICT (fingerprint) DO UPDATE SET body = excluded.body`,
        chunk.flatMap(([fp, a]) => [fp, JSON.stringify(a)]),
      );
    }
  }

  async deleteAlert(tx: SqlExecutor, fp: string): Promise<void> {
    await this.deleteAlerts(tx, [fp]);
  }

  async deleteAlerts(tx: SqlExecutor, fps: readonly string[]): Promise<void> {
    for (const chunk of chunks(fps, WRITE_CHUNK))
      await tx.exec(
        `DELETE FROM alerting_alerts WHERE fingerprint IN (${chunk.map((_, i) => `$${i + 1}`).join(', ')})`,
        chunk,
      );
  }

  async loadLog(db: SqlExecutor): Promise<NotificationLogEntry[]> {
    const rows = await db.query<{ body: string }>('SELECT body FROM alerting_nflog');
    return rows.map((r) => JSON.parse(r.body) as NotificationLogEntry);
  }

  async putLog(tx: SqlExecutor, e: NotificationLogEntry): Promise<void> {
    await tx.exec(
      `INSERT INTO alerting_nflog (receiver, group_key, body) VALUES ($1, $2, $3)
       ON CONFLICT (receiver, group_key) DO UPDATE SET body = excluded.body`,
      [e.receiver, e.groupKey, JSON.stringify(e)],
    );
  }

  async enqueue(tx: SqlExecutor, row: OutboxRow): Promise<void> {
    await tx.exec(
      `INSERT INTO alerting_outbox (id, receiver, group_key, status, body, created_at_ms, attempts, next_attempt_at_ms, last_error, channel)
       VALUES ($1, $2, $3, $4, $5, CAST($6 AS BIGINT), CAST($7 AS BIGINT), CAST($8 AS BIGINT), $9, $10)`,
      [
        row.id,
        row.receiver,
        row.group_key,
        row.status,
        row.body,
        row.created_at_ms,
        row.attempts,
        row.next_attempt_at_ms,
        row.last_error,
        row.channel,
      ],
    );
  }

  async dueOutbox(db: SqlExecutor, nowMs: number, limit: number): Promise<OutboxRow[]> {
    return db.query<OutboxRow>(
      'SELECT * FROM alerting_outbox WHERE next_attempt_at_ms <= CAST($1 AS BIGINT) ORDER BY created_at_ms, id LIMIT CAST($2 AS BIGINT)',
      [nowMs, limit],
    );
  }

  async listOutbox(db: SqlExecutor): Promise<OutboxRow[]> {
    return db.query<OutboxRow>('SELECT * FROM alerting_outbox ORDER BY created_at_ms, id');
  }

  /** Removes a delivered (or finally failed) row and records the outcome, in one transaction. */
  async finish(tx: SqlExecutor, row: OutboxRow, outcome: 'delivered' | 'failed', nowMs: number, detail: string | null) {
    const removed = await tx.exec('DELETE FROM alerting_outbox WHERE id = $1', [row.id]);
    if (removed === 0) return;
    const alertCount = (JSON.parse(row.body) as { alerts?: unknown[] }).alerts?.length ?? 0;
    await tx.exec(
      `INSERT INTO alerting_sent (id, receiver, group_key, status, alert_count, created_at_ms, finished_at_ms, outcome, attempts, detail, channel)
       VALUES ($1, $2, $3, $4, CAST($5 AS BIGINT), CAST($6 AS BIGINT), CAST($7 AS BIGINT), $8, CAST($9 AS BIGINT), $10, $11)
       ON CONFLICT (id) DO NOTHING`,
      [
        row.id,
        row.receiver,
        row.group_key,
        row.status,
        alertCount,
        row.created_at_ms,
        nowMs,
        outcome,
        row.attempts + 1,
        detail,
        row.channel,
      ],
    );
  }

  async reschedule(db: SqlExecutor, id: string, attempts: number, nextAttemptAtMs: number, error: string) {
    await db.exec(
      'UPDATE alerting_outbox SET attempts = CAST($2 AS BIGINT), next_attempt_at_ms = CAST($3 AS BIGINT), last_error = $4 WHERE id = $1',
      [id, attempts, nextAttemptAtMs, error],
    );
  }

  async listSent(db: SqlExecutor, limit: number): Promise<SentRow[]> {
    return db.query<SentRow>('SELECT * FROM alerting_sent ORDER BY finished_at_ms DESC, id LIMIT CAST($1 AS BIGINT)', [
      limit,
    ]);
  }

  /** Stores alerts received from outside (Alertmanager API, webhook) for the evaluator to take. */
  async putInbound(db: SqlDatabase, alerts: readonly Alert[], receivedAtMs: number): Promise<void> {
    if (alerts.length === 0) return;
    await db.transaction(async (tx) => {
      for (const a of alerts)
        await tx.exec('INSERT INTO alerting_inbound (id, body, received_at_ms) VALUES ($1, $2, CAST($3 AS BIGINT))', [
          randomUUID(),
          JSON.stringify(a),
          receivedAtMs,
        ]);
    });
  }

  /** The oldest inbound alerts not yet taken by the evaluator. */
  async peekInbound(db: SqlExecutor, limit: number): Promise<{ id: string; alert: Alert }[]> {
    const rows = await db.query<{ id: string; body: string }>(
      'SELECT id, body FROM alerting_inbound ORDER BY received_at_ms, id LIMIT CAST($1 AS BIGINT)',
      [limit],
    );
    return rows.map((r) => ({ id: r.id, alert: JSON.parse(r.body) as Alert }));
  }

  async deleteInbound(tx: SqlExecutor, id: string): Promise<void> {
    await tx.exec('DELETE FROM alerting_inbound WHERE id = $1', [id]);
  }

  /** Revision of the API-managed rules: bumped by every change, so readers reload only then. */
  async apiRulesRev(db: SqlExecutor): Promise<number> {
    const rows = await db.query<{ rev: number | string | bigint }>(
      'SELECT rev FROM alerting_api_rules_rev WHERE id = CAST(1 AS BIGINT)',
    );
    return rows[0] ? Number(rows[0].rev) : 0;
  }

  async listApiRules(db: SqlExecutor): Promise<ApiRuleRow[]> {
    const rows = await db.query<ApiRuleRow>('SELECT name, body, updated_at_ms FROM alerting_api_rules ORDER BY name');
    return rows.map((r) => ({ ...r, updated_at_ms: Number(r.updated_at_ms) }));
  }

  /** Creates or replaces (`put`) or deletes (`body` null) an API rule; returns whether a row was there. */
  async writeApiRule(db: SqlDatabase, name: string, body: string | null, nowMs: number): Promise<boolean> {
    return db.transaction(async (tx) => {
      const existed = (await tx.query('SELECT name FROM alerting_api_rules WHERE name = $1', [name])).length > 0;
      if (body === null) await tx.exec('DELETE FROM alerting_api_rules WHERE name = $1', [name]);
      else
        await tx.exec(
          `INSERT INTO alerting_api_rules (name, body, updated_at_ms) VALUES ($1, $2, CAST($3 AS BIGINT))
           ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at_ms = excluded.updated_at_ms`,
          [name, body, nowMs],
        );
      await tx.exec(
        `INSERT INTO alerting_api_rules_rev (id, rev) VALUES (CAST(1 AS BIGINT), CAST(1 AS BIGINT))
         ON CONFLICT (id) DO UPDATE SET rev = alerting_api_rules_rev.rev + 1`,
      );
      return existed;
    });
  }

  /** Writes several API rules (name → body) in one transaction and bumps the revision once. */
  async putApiRules(db: SqlDatabase, rules: readonly { name: string; body: string }[], nowMs: number): Promise<void> {
    if (rules.length === 0) return;
    await db.transaction(async (tx) => {
      for (const r of rules)
        await tx.exec(
          `INSERT INTO alerting_api_rules (name, body, updated_at_ms) VALUES ($1, $2, CAST($3 AS BIGINT))
           ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at_ms = excluded.updated_at_ms`,
          [r.name, r.body, nowMs],
        );
      await tx.exec(
        `INSERT INTO alerting_api_rules_rev (id, rev) VALUES (CAST(1 AS BIGINT), CAST(1 AS BIGINT))
         ON CONFLICT (id) DO UPDATE SET rev = alerting_api_rules_rev.rev + 1`,
      );
    });
  }

  async loadSilences(db: SqlExecutor, sinceMs: number): Promise<Silence[]> {
    const rows = await db.query<{ body: string }>(
      'SELECT body FROM alerting_silences WHERE ends_at_ms > CAST($1 AS BIGINT)',
      [sinceMs],
    );
    return rows.map((r) => JSON.parse(r.body) as Silence);
  }

  async getSilence(db: SqlExecutor, id: string): Promise<Silence | undefined> {
    const rows = await db.query<{ body: string }>('SELECT body FROM alerting_silences WHERE id = $1', [id]);
    return rows[0] ? (JSON.parse(rows[0].body) as Silence) : undefined;
  }

  async putSilence(db: SqlExecutor, s: Silence): Promise<void> {
    await db.exec(
      `INSERT INTO alerting_silences (id, body, ends_at_ms) VALUES ($1, $2, CAST($3 AS BIGINT))
       ON CONFLICT (id) DO UPDATE SET body = excluded.body, ends_at_ms = excluded.ends_at_ms`,
      [s.id, JSON.stringify(s), s.endsAtMs],
    );
  }
}
