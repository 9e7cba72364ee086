/**
 * The derived processor behind the detect module (see module.ts): buckets committed calls,
 * closes buckets behind the event-time watermark and runs each key series' ensemble.
 */
import type { LlmCall } from '@reskpoints/core';
import type { SqlExecutor } from '../platform/sql.js';
import { type Anomaly, anomalyOf, insertAnomaly } from './anomaly-repo.js';
import { EnsembleDetector, type EnsembleState } from './ensemble.js';
import {
  ADDITIVE_METRICS,
  addCall,
  type BucketAggregate,
  emptyAggregate,
  KEY_METRICS,
  type KeyMetric,
  metricValue,
  seriesKey,
} from './key-series.js';
import type { DetectConfig } from './module.js';

type SeriesRow = {
  series_key: string;
  last_bucket_ms: number;
  state: string;
};

export class KeySeriesProcessor {
  private pending: Anomaly[] = [];

  constructor(private readonly config: () => DetectConfig) {}

  private async meta(tx: SqlExecutor, name: string): Promise<number> {
    const rows = await tx.query<{ value: number }>('SELECT value FROM detect_meta WHERE name = $1', [name]);
    return rows[0]?.value ?? 0;
  }

  private async setMeta(tx: SqlExecutor, name: string, value: number): Promise<void> {
    await tx.exec(
      `INSERT INTO detect_meta (name, value) VALUES ($1, CAST($2 AS BIGINT))
       ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      [name, value],
    );
  }

  async process(calls: readonly LlmCall[], tx: SqlExecutor, nowMs: number): Promise<void> {
    const c = this.config();
    this.pending = []; // a rolled-back pass's anomalies were never stored
    const bucketMs = c.bucketMs;
    let watermarkMs = await this.meta(tx, 'watermark_ms');

    // Last closed bucket per (project, model): later calls for it or before it are late.
    const closedUpTo = new Map<string, number>();
    const pairs = new Set(calls.map((x) => `${x.projectId}\u0000${x.model}`));
    for (const pair of pairs) {
      const [projectId, model] = pair.split('\u0000') as [string, string];
      const rows = await tx.query<{ last: number | null }>(
        'SELECT MAX(last_bucket_ms) AS last FROM detect_series WHERE project_id = $1 AND model = $2',
        [projectId, model],
      );
      closedUpTo.set(pair, rows[0]?.last ?? Number.NEGATIVE_INFINITY);
    }

    const open = new Map<string, { projectId: string; model: string; startMs: number; agg: BucketAggregate }>();
    let late = 0;
    for (const call of calls) {
      const pair = `${call.projectId}\u0000${call.model}`;
      const startMs = Math.floor(call.startTimeMs / bucketMs) * bucketMs;
      if (call.startTimeMs > watermarkMs) watermarkMs = call.startTimeMs;
      if (startMs <= (closedUpTo.get(pair) ?? Number.NEGATIVE_INFINITY)) {
        late++;
        continue;
      }
      const key = `${pair}\u0000${startMs}`;
      let bucket = open.get(key);
      if (bucket === undefined) {
        const rows = await tx.query<{ aggregate: string }>(
          'SELECT aggregate FROM detect_open_buckets WHERE project_id = $1 AND model = $2 AND bucket_start_ms = CAST($3 AS BIGINT)',
          [call.projectId, call.model, startMs],
        );
        const agg = rows[0] ? (JSON.parse(rows[0].aggregate) as BucketAggregate) : emptyAggregate();
        bucket = { projectId: call.projectId, model: call.model, startMs, agg };
        open.set(key, bucket);
      }
      addCall(bucket.agg, call);
    }
    for (const b of open.values()) {
      await tx.exec(
        `INSERT INTO detect_open_buckets (project_id, model, bucket_start_ms, aggregate) VALUES ($1, $2, CAST($3 AS BIGINT), $4)
         ON CONFLICT (project_id, model, bucket_start_ms) DO UPDATE SET aggregate = excluded.aggregate`,
        [b.projectId, b.model, b.startMs, JSON.stringify(b.agg)],
      );
    }
    if (late > 0) await this.setMeta(tx, 'late_calls', (await this.meta(tx, 'late_calls')) + late);
    await this.setMeta(tx, 'watermark_ms', watermarkMs);

    // Close every bucket whose end is closeAfterMs behind the watermark, oldest first.
    const due = await tx.query<{ project_id: string; model: string; bucket_start_ms: number; aggregate: string }>(
      `SELECT project_id, model, bucket_start_ms, aggregate FROM detect_open_buckets
       WHERE bucket_start_ms <= CAST($1 AS BIGINT) ORDER BY project_id, model, bucket_start_ms`,
      [watermarkMs - c.closeAfterMs - bucketMs],
    );
    let refused = 0;
    const byPair = new Map<string, typeof due>();
    for (const row of due) {
      const pair = `${row.project_id}\u0000${row.model}`;
      const list = byPair.get(pair) ?? [];
      list.push(row);
      byPair.set(pair, list);
    }
    let tracked = (await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM detect_series'))[0]?.n ?? 0;
    for (const rows of byPair.values()) {
      const { project_id: projectId, model } = rows[0]!;
      for (const metric of KEY_METRICS) {
        const key = seriesKey(metric, projectId, model);
        const [existing] = await tx.query<SeriesRow>(
          'SELECT series_key, last_bucket_ms, state FROM detect_series WHERE series_key = $1',
          [key],
        );
        if (existing === undefined && tracked >= c.maxSeries) {
          refused += rows.reduce((n, r) => n + (JSON.parse(r.aggregate) as BucketAggregate).requests, 0);
          continue;
        }
        const detector =
          existing === undefined
            ? new EnsembleDetector()
            : new EnsembleDetector({}, JSON.parse(existing.state) as EnsembleState);
        let last = existing?.last_bucket_ms ?? Number.NEGATIVE_INFINITY;
        let fed = false;
        for (const row of rows) {
          const agg = JSON.parse(row.aggregate) as BucketAggregate;
          if (ADDITIVE_METRICS.has(metric) && Number.isFinite(last)) {
            // Quiet buckets between two active ones are zeros for sums.
            const gap = Math.min((row.bucket_start_ms - last) / c.bucketMs - 1, c.maxGapBuckets);
            for (let i = gap; i >= 1; i--) detector.update(row.bucket_start_ms - i * c.bucketMs, 0);
          }
          last = row.bucket_start_ms;
          const value = metricValue(agg, metric);
          if (value === null) continue;
          fed = true;
          const score = detector.update(row.bucket_start_ms, value);
          if (score >= detector.config.alertLevel) {
            await this.recordAnomaly(tx, projectId, model, metric, row.bucket_start_ms, detector, nowMs);
          }
        }
        if (!fed && existing === undefined) continue;
        if (existing === undefined) tracked++;
        await tx.exec(
          `INSERT INTO detect_series (series_key, project_id, model, metric, last_bucket_ms, state, updated_at_ms)
           VALUES ($1, $2, $3, $4, CAST($5 AS BIGINT), $6, CAST($7 AS BIGINT))
           ON CONFLICT (series_key) DO UPDATE SET last_bucket_ms = excluded.last_bucket_ms, state = excluded.state,
             updated_at_ms = excluded.updated_at_ms`,
          [key, projectId, model, metric, last, JSON.stringify(detector.snapshot()), nowMs],
        );
      }
      for (const row of rows) {
        await tx.exec(
          'DELETE FROM detect_open_buckets WHERE project_id = $1 AND model = $2 AND bucket_start_ms = CAST($3 AS BIGINT)',
          [projectId, model, row.bucket_start_ms],
        );
      }
    }
    if (refused > 0) await this.setMeta(tx, 'refused_calls', (await this.meta(tx, 'refused_calls')) + refused);
  }

  private async recordAnomaly(
    tx: SqlExecutor,
    projectId: string,
    model: string,
    metric: KeyMetric,
    bucketStartMs: number,
    detector: EnsembleDetector,
    nowMs: number,
  ): Promise<void> {
    const a = anomalyOf(
      detector,
      { series: seriesKey(metric, projectId, model), projectId, model, metric },
      bucketStartMs,
      nowMs,
    );
    if (await insertAnomaly(tx, a)) this.pending.push(a);
  }

  /** Anomalies stored by the last `process` call (committed once its transaction is). */
  takePending(): Anomaly[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}
