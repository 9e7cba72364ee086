/**
 * Persisted anomalies (table `detect_anomalies`), shared by the key series and the series users
 * name by API: insert, list, the ones detected recently (the `anomaly` signal source), and their
 * live-event and signal shapes.
 */

import type { Signal } from '../platform/signals.js';
import type { SqlExecutor, SqlValue } from '../platform/sql.js';
import type { EnsembleDetector, Explanation } from './ensemble.js';

export interface Anomaly {
  id: string;
  /** The project the series belongs to ('' for a user series over several projects). */
  projectId: string;
  /** The model of a key series, or of a user series grouped by model ('' otherwise). */
  model: string;
  metric: string;
  /** The series: `metric|project|model` for a key series, the user series' name for one named by API. */
  series: string;
  /** Group values of a user series (dimension → value); empty for key series. */
  group: Record<string, string>;
  bucketStartMs: number;
  value: number;
  expected: number | null;
  lower: number | null;
  upper: number | null;
  score: number;
  explanation: Explanation;
  detectedAtMs: number;
}

type AnomalyRow = {
  id: string;
  project_id: string;
  model: string;
  metric: string;
  series: string | null;
  bucket_start_ms: number;
  value: number;
  expected: number | null;
  lower_bound: number | null;
  upper_bound: number | null;
  score: number;
  explanation: string;
  detected_at_ms: number;
};

/** The anomaly the detector just reported (call right after `update` returned an alert-level score). */
export function anomalyOf(
  detector: EnsembleDetector,
  ids: { series: string; projectId: string; model: string; metric: string; group?: Record<string, string> },
  bucketStartMs: number,
  nowMs: number,
): Anomaly {
  const e = detector.explain();
  return {
    id: `${ids.series}|${bucketStartMs}`,
    projectId: ids.projectId,
    model: ids.model,
    metric: ids.metric,
    series: ids.series,
    group: ids.group ?? {},
    bucketStartMs,
    value: e.value,
    expected: e.expected,
    lower: e.lower,
    upper: e.upper,
    score: e.score,
    explanation: e,
    detectedAtMs: nowMs,
  };
}

/** Stores an anomaly; false when one with the same id (series and bucket) is stored already. */
export async function insertAnomaly(tx: SqlExecutor, a: Anomaly): Promise<boolean> {
  const n = await tx.exec(
    `INSERT INTO detect_anomalies (id, project_id, model, metric, series, bucket_start_ms, value, expected, lower_bound,
       upper_bound, score, explanation, detected_at_ms)
     VALUES ($1, $2, $3, $4, $5, CAST($6 AS BIGINT), $7, $8, $9, $10, $11, $12, CAST($13 AS BIGINT))
     ON CONFLICT (id) DO NOTHING`,
    [
      a.id,
      a.projectId,
      a.model,
      a.metric,
      a.series,
      a.bucketStartMs,
      a.value,
      a.expected,
      a.lower,
      a.upper,
      a.score,
      JSON.stringify({ ...a.explanation, group: a.group }),
      a.detectedAtMs,
    ],
  );
  return n > 0;
}

function fromRow(r: AnomalyRow): Anomaly {
  const { group, ...explanation } = JSON.parse(r.explanation) as Explanation & { group?: Record<string, string> };
  return {
    id: r.id,
    projectId: r.project_id,
    model: r.model,
    metric: r.metric,
    series: r.series ?? `${r.metric}|${r.project_id}|${r.model}`,
    group: group ?? {},
    bucketStartMs: r.bucket_start_ms,
    value: r.value,
    expected: r.expected,
    lower: r.lower_bound,
    upper: r.upper_bound,
    score: r.score,
    explanation,
    detectedAtMs: r.detected_at_ms,
  };
}

export interface AnomalyFilter {
  projectId?: string;
  metric?: string;
  series?: string;
  model?: string;
  /** Buckets starting at or after this. */
  fromMs?: number;
  /** Buckets starting before this. */
  toMs?: number;
  /** Detected at or after this. */
  detectedSinceMs?: number;
  limit: number;
}

/** Newest bucket first. */
export async function listAnomalies(db: SqlExecutor, q: AnomalyFilter): Promise<Anomaly[]> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const add = (sql: string, v: SqlValue) => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (q.projectId !== undefined) add('project_id = ?', q.projectId);
  if (q.metric !== undefined) add('metric = ?', q.metric);
  if (q.series !== undefined) add('series = ?', q.series);
  if (q.model !== undefined) add('model = ?', q.model);
  if (q.fromMs !== undefined) add('bucket_start_ms >= CAST(? AS BIGINT)', q.fromMs);
  if (q.toMs !== undefined) add('bucket_start_ms < CAST(? AS BIGINT)', q.toMs);
  if (q.detectedSinceMs !== undefined) add('detected_at_ms >= CAST(? AS BIGINT)', q.detectedSinceMs);
  params.push(q.limit);
  const rows = await db.query<AnomalyRow>(
    `SELECT * FROM detect_anomalies ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY bucket_start_ms DESC, id LIMIT CAST($${params.length} AS BIGINT)`,
    params,
  );
  return rows.map(fromRow);
}

/** One anomaly by id, or null. */
export async function getAnomaly(db: SqlExecutor, id: string): Promise<Anomaly | null> {
  const rows = await db.query<AnomalyRow>('SELECT * FROM detect_anomalies WHERE id = $1', [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** The JSON an API, CLI or WebSocket client gets for an anomaly. */
export function anomalyDto(a: Anomaly) {
  return { ...a };
}

const fmt = (x: number | null) => (x === null ? 'n/a' : Number(x.toPrecision(4)).toString());

/** An anomaly as an alert input (`anomaly` signal source). */
export function anomalySignal(a: Anomaly): Signal {
  const labels: Record<string, string> = { series: a.series, metric: a.metric };
  if (a.projectId !== '') labels['project'] = a.projectId;
  if (a.model !== '') labels['model'] = a.model;
  for (const [k, v] of Object.entries(a.group)) if (!(k in labels)) labels[k] = v;
  const where = [a.projectId, a.model].filter((x) => x !== '').join('/');
  return {
    key: a.id,
    labels,
    value: a.score,
    startsAtMs: a.explanation.sinceMs ?? a.bucketStartMs,
    projectId: a.projectId === '' ? null : a.projectId,
    annotations: {
      summary: `${a.metric} anomaly${where ? ` on ${where}` : ''}: ${fmt(a.value)} against ${fmt(a.expected)} expected`,
      description: `Series ${a.series}, bucket starting ${new Date(a.bucketStartMs).toISOString()}: value ${fmt(a.value)}, expected ${fmt(a.expected)} (band ${fmt(a.lower)}..${fmt(a.upper)}), score ${a.score.toFixed(3)}; fired: ${a.explanation.fired.map((f) => f.detector).join(', ') || 'none'}`,
      expected: fmt(a.expected),
      value: fmt(a.value),
    },
  };
}
