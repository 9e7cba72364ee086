/**
 * The logs module's state: miner snapshots per (project, service), sampling policies with their
 * versions, and pattern statistics reported by SDKs. Common SQL (platform/sql.ts), DuckDB and
 * PostgreSQL alike.
 */
import type { LogMinerSnapshot, SamplingPolicy } from '@reskpoints/core';
import type { SqlDatabase } from '../platform/sql.js';
import type { StateMigration } from '../platform/state-migrations.js';
import type { GenAiPart } from './genai-events.js';

export const LOG_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    name: 'miner snapshots, sampling policies with versions, reported pattern statistics',
    steps: [
      `CREATE TABLE logs_miner_state (
        project_id TEXT NOT NULL,
        service TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        PRIMARY KEY (project_id, service)
      )`,
      // One row per version; a deleted policy gets a tombstone version (policy '').
      `CREATE TABLE logs_policy_versions (
        project_id TEXT NOT NULL,
        service TEXT NOT NULL,
        version BIGINT NOT NULL,
        deleted BOOLEAN NOT NULL,
        policy TEXT NOT NULL,
        generated_by TEXT NOT NULL,
        note TEXT,
        created_at_ms BIGINT NOT NULL,
        created_by TEXT,
        PRIMARY KEY (project_id, service, version)
      )`,
      `CREATE TABLE logs_reported_stats (
        project_id TEXT NOT NULL,
        service TEXT NOT NULL,
        pattern_id TEXT NOT NULL,
        template TEXT NOT NULL,
        window_start_ms BIGINT NOT NULL,
        window_end_ms BIGINT NOT NULL,
        lines BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        kept_lines BIGINT NOT NULL,
        kept_bytes BIGINT NOT NULL,
        severities TEXT NOT NULL,
        reported_at_ms BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'GenAI event content waiting for its LLM call',
    steps: [
      `CREATE TABLE logs_genai_pending (
        project_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        log_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        time_ms BIGINT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        PRIMARY KEY (project_id, log_id, seq)
      )`,
      'CREATE INDEX logs_genai_pending_span ON logs_genai_pending (project_id, trace_id, span_id)',
    ],
  },
];

export interface PolicyVersion {
  projectId: string;
  service: string;
  version: number;
  deleted: boolean;
  policy: SamplingPolicy | null;
  generatedBy: 'manual' | 'deterministic' | 'llm';
  note: string | null;
  createdAtMs: number;
  createdBy: string | null;
}

export interface ReportedPatternStats {
  patternId: string;
  template: string;
  windowStartMs: number;
  windowEndMs: number;
  lines: number;
  bytes: number;
  keptLines: number;
  keptBytes: number;
  severities: Record<string, number>;
}

type Row = Record<string, unknown>;

function toVersion(r: Row): PolicyVersion {
  const deleted = Boolean(r['deleted']);
  return {
    projectId: String(r['project_id']),
    service: String(r['service']),
    version: Number(r['version']),
    deleted,
    policy: deleted ? null : (JSON.parse(String(r['policy'])) as SamplingPolicy),
    generatedBy: String(r['generated_by']) as PolicyVersion['generatedBy'],
    note: r['note'] == null ? null : String(r['note']),
    createdAtMs: Number(r['created_at_ms']),
    createdBy: r['created_by'] == null ? null : String(r['created_by']),
  };
}

export class LogRepo {
  constructor(private readonly db: SqlDatabase) {}

  async saveMinerSnapshot(
    projectId: string,
    service: string,
    snapshot: LogMinerSnapshot,
    nowMs: number,
  ): Promise<void> {
    await this.db.exec(
      `INSERT INTO logs_miner_state (project_id, service, snapshot, updated_at_ms) VALUES ($1, $2, $3, CAST($4 AS BIGINT))
       ON CONFLICT (project_id, service) DO UPDATE SET snapshot = excluded.snapshot, updated_at_ms = excluded.updated_at_ms`,
      [projectId, service, JSON.stringify(snapshot), nowMs],
    );
  }

  async loadMinerSnapshots(): Promise<Array<{ projectId: string; service: string; snapshot: LogMinerSnapshot }>> {
    const rows = await this.db.query<Row>('SELECT project_id, service, snapshot FROM logs_miner_state');
    return rows.map((r) => ({
      projectId: String(r['project_id']),
      service: String(r['service']),
      snapshot: JSON.parse(String(r['snapshot'])) as LogMinerSnapshot,
    }));
  }

  /** Adds the next version of a service's policy (or a tombstone when `policy` is null); returns it. */
  async addPolicyVersion(v: Omit<PolicyVersion, 'version' | 'deleted'>): Promise<PolicyVersion> {
    return this.db.transaction(async (tx) => {
      // Two writers of one service's policy take turns, so versions stay 1, 2, 3, … (PostgreSQL; DuckDB has one writer).
      const lock = tx.dialect.transactionLock(`logs-policy/${v.projectId}/${v.service}`);
      if (lock) await tx.query(lock.sql, lock.params);
      const [row] = await tx.query<Row>(
        'SELECT max(version) AS v FROM logs_policy_versions WHERE project_id = $1 AND service = $2',
        [v.projectId, v.service],
      );
      const version = Number(row?.['v'] ?? 0) + 1;
      await tx.exec(
        `INSERT INTO logs_policy_versions (project_id, service, version, deleted, policy, generated_by, note, created_at_ms, created_by)
         VALUES ($1, $2, CAST($3 AS BIGINT), $4, $5, $6, $7, CAST($8 AS BIGINT), $9)`,
        [
          v.projectId,
          v.service,
          version,
          v.policy === null,
          v.policy === null ? '' : JSON.stringify(v.policy),
          v.generatedBy,
          v.note,
          v.createdAtMs,
          v.createdBy,
        ],
      );
      return { ...v, version, deleted: v.policy === null };
    });
  }

  /** The newest version of a service's policy; null when there is none or it was deleted. */
  async currentPolicy(projectId: string, service: string): Promise<PolicyVersion | null> {
    const [row] = await this.db.query<Row>(
      `SELECT * FROM logs_policy_versions WHERE project_id = $1 AND service = $2 ORDER BY version DESC LIMIT 1`,
      [projectId, service],
    );
    if (!row) return null;
    const v = toVersion(row);
    return v.deleted ? null : v;
  }

  async policyVersion(projectId: string, service: string, version: number): Promise<PolicyVersion | null> {
    const [row] = await this.db.query<Row>(
      'SELECT * FROM logs_policy_versions WHERE project_id = $1 AND service = $2 AND version = CAST($3 AS BIGINT)',
      [projectId, service, version],
    );
    return row ? toVersion(row) : null;
  }

  /** Every version, newest first. */
  async policyHistory(projectId: string, service: string): Promise<PolicyVersion[]> {
    const rows = await this.db.query<Row>(
      'SELECT * FROM logs_policy_versions WHERE project_id = $1 AND service = $2 ORDER BY version DESC',
      [projectId, service],
    );
    return rows.map(toVersion);
  }

  /** Services of the project with a live policy, and their newest version. */
  async listPolicies(projectId: string): Promise<PolicyVersion[]> {
    const rows = await this.db.query<Row>(
      `SELECT p.* FROM logs_policy_versions p
       JOIN (SELECT service, max(version) AS v FROM logs_policy_versions WHERE project_id = $1 GROUP BY service) m
         ON m.service = p.service AND m.v = p.version
       WHERE p.project_id = $1 AND p.deleted = FALSE ORDER BY p.service`,
      [projectId],
    );
    return rows.map(toVersion);
  }

  async addReportedStats(
    projectId: string,
    service: string,
    stats: readonly ReportedPatternStats[],
    nowMs: number,
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const s of stats)
        await tx.exec(
          `INSERT INTO logs_reported_stats (project_id, service, pattern_id, template, window_start_ms, window_end_ms,
             lines, bytes, kept_lines, kept_bytes, severities, reported_at_ms)
           VALUES ($1, $2, $3, $4, CAST($5 AS BIGINT), CAST($6 AS BIGINT), CAST($7 AS BIGINT), CAST($8 AS BIGINT),
             CAST($9 AS BIGINT), CAST($10 AS BIGINT), $11, CAST($12 AS BIGINT))`,
          [
            projectId,
            service,
            s.patternId,
            s.template,
            s.windowStartMs,
            s.windowEndMs,
            s.lines,
            s.bytes,
            s.keptLines,
            s.keptBytes,
            JSON.stringify(s.severities),
            nowMs,
          ],
        );
    });
  }

  /** Reported statistics summed per pattern over windows that end in [fromMs, toMs). */
  async reportedStats(
    projectId: string,
    service: string,
    fromMs: number,
    toMs: number,
  ): Promise<ReportedPatternStats[]> {
    const rows = await this.db.query<Row>(
      `SELECT pattern_id, template, window_start_ms, window_end_ms, lines, bytes, kept_lines, kept_bytes, severities
       FROM logs_reported_stats
       WHERE project_id = $1 AND service = $2 AND window_end_ms >= CAST($3 AS BIGINT) AND window_end_ms < CAST($4 AS BIGINT)`,
      [projectId, service, fromMs, toMs],
    );
    const by = new Map<string, ReportedPatternStats>();
    for (const r of rows) {
      const id = String(r['pattern_id']);
      const sev = JSON.parse(String(r['severities'])) as Record<string, number>;
      const cur = by.get(id);
      if (!cur) {
        by.set(id, {
          patternId: id,
          template: String(r['template']),
          windowStartMs: Number(r['window_start_ms']),
          windowEndMs: Number(r['window_end_ms']),
          lines: Number(r['lines']),
          bytes: Number(r['bytes']),
          keptLines: Number(r['kept_lines']),
          keptBytes: Number(r['kept_bytes']),
          severities: sev,
        });
        continue;
      }
      cur.windowStartMs = Math.min(cur.windowStartMs, Number(r['window_start_ms']));
      cur.windowEndMs = Math.max(cur.windowEndMs, Number(r['window_end_ms']));
      cur.lines += Number(r['lines']);
      cur.bytes += Number(r['bytes']);
      cur.keptLines += Number(r['kept_lines']);
      cur.keptBytes += Number(r['kept_bytes']);
      cur.template = String(r['template']);
      for (const [k, n] of Object.entries(sev)) cur.severities[k] = (cur.severities[k] ?? 0) + n;
    }
    return [...by.values()];
  }

  /**
   * Keeps GenAI event parts until their call is stored; each text cut to `maxChars` + 1 (one
   * more than an excerpt keeps, so a cut still shows). The same record sent again is kept once.
   */
  async addGenAiParts(parts: readonly GenAiPart[], maxChars: number, nowMs: number): Promise<void> {
    if (parts.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const p of parts)
        await tx.exec(
          `INSERT INTO logs_genai_pending (project_id, trace_id, span_id, log_id, seq, time_ms, kind, text, created_at_ms)
           VALUES ($1, $2, $3, $4, CAST($5 AS BIGINT), CAST($6 AS BIGINT), $7, $8, CAST($9 AS BIGINT))
           ON CONFLICT (project_id, log_id, seq) DO NOTHING`,
          [p.projectId, p.traceId, p.spanId, p.logId, p.seq, p.timeMs, p.kind, p.text.slice(0, maxChars + 1), nowMs],
        );
    });
  }

  /** Waiting parts, oldest first, at most `limit`, each with when it was kept. */
  async pendingGenAiParts(limit: number): Promise<Array<GenAiPart & { createdAtMs: number }>> {
    const rows = await this.db.query<Row>(
      `SELECT project_id, trace_id, span_id, log_id, seq, time_ms, kind, text, created_at_ms FROM logs_genai_pending
       ORDER BY created_at_ms, project_id, log_id, seq LIMIT ${Math.max(1, Math.floor(limit))}`,
    );
    return rows.map((r) => ({
      projectId: String(r['project_id']),
      traceId: String(r['trace_id']),
      spanId: String(r['span_id']),
      logId: String(r['log_id']),
      seq: Number(r['seq']),
      timeMs: Number(r['time_ms']),
      kind: String(r['kind']) as GenAiPart['kind'],
      text: String(r['text']),
      createdAtMs: Number(r['created_at_ms']),
    }));
  }

  /** Removes a span's waiting parts (its call got them, or they expired). */
  async deleteGenAiSpan(projectId: string, traceId: string, spanId: string): Promise<void> {
    await this.db.exec('DELETE FROM logs_genai_pending WHERE project_id = $1 AND trace_id = $2 AND span_id = $3', [
      projectId,
      traceId,
      spanId,
    ]);
  }
}
