/**
 * Series a user names by API: a telemetry summary query (metric, filters, group-by, interval)
 * plus a detector configuration. The detect module's `user-series` leader job evaluates every
 * one on schedule: it summarises the buckets closed since the last pass (one series per group
 * value), feeds them to that series' ensemble, and stores detector state, anomalies and the next
 * bucket to evaluate in one fenced transaction, so a restart or a new leader continues where the
 * last pass committed.
 */
import { SUMMARY_DIMENSIONS, type SummaryQuery, type SummaryResult, type SummaryRow } from '@reskpoints/core';
import { z } from 'zod';
import { duration } from '../alerting/rules.js';
import type { SqlExecutor } from '../platform/sql.js';
import { type Anomaly, anomalyOf, insertAnomaly } from './anomaly-repo.js';
import { CONTEXT_DEFAULTS } from './context.js';
import { CUSUM_DEFAULTS } from './cusum.js';
import {
  ENSEMBLE_DEFAULTS,
  type EnsembleConfig,
  EnsembleDetector,
  type EnsembleState,
  type MemberConfig,
} from './ensemble.js';
import { EWMA_DEFAULTS } from './ewma.js';
import { MAD_DEFAULTS } from './mad.js';
import { SEASONAL_DEFAULTS } from './seasonal.js';

export const USER_SERIES_METRICS = [
  'costUsd',
  'requests',
  'errors',
  'errorRate',
  'totalTokens',
  'inputTokens',
  'outputTokens',
  'latencyP50Ms',
  'latencyP95Ms',
  'latencyP99Ms',
  'ttftP95Ms',
] as const;
export type UserSeriesMetric = (typeof USER_SERIES_METRICS)[number];

/** Sums: a bucket without calls is a 0 for them, not a gap. */
const ADDITIVE: ReadonlySet<UserSeriesMetric> = new Set([
  'costUsd',
  'requests',
  'errors',
  'totalTokens',
  'inputTokens',
  'outputTokens',
]);

const MEMBER_DEFAULTS: Record<MemberConfig['kind'], Record<string, unknown>> = {
  ewma: { ...EWMA_DEFAULTS },
  mad: { ...MAD_DEFAULTS },
  seasonal: { ...SEASONAL_DEFAULTS },
  cusum: { ...CUSUM_DEFAULTS },
  context: { ...CONTEXT_DEFAULTS, binOffset: 0, rangeMin: 0, rangeMax: 0 },
};

const member = z
  .object({
    kind: z.enum(['ewma', 'mad', 'seasonal', 'cusum', 'context']),
    weight: z.number().min(0).max(10).default(1),
    config: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
  })
  .strict()
  .superRefine((m, ctx) => {
    const known = MEMBER_DEFAULTS[m.kind];
    for (const [k, v] of Object.entries(m.config)) {
      if (!(k in known)) {
        ctx.addIssue({
          code: 'custom',
          path: ['config', k],
          message: `${m.kind} has no setting "${k}" (settings: ${Object.keys(known).join(', ')})`,
        });
      } else if (typeof v !== typeof known[k]) {
        ctx.addIssue({ code: 'custom', path: ['config', k], message: `must be a ${typeof known[k]}` });
      }
    }
  });

/** The detector configuration of a user series: the ensemble's settings, all optional. */
export const detectorSettings = z
  .object({
    members: z.array(member).min(1).max(8).optional(),
    alertLevel: z.number().gt(0).max(1).optional(),
    restPoints: z.number().int().min(0).max(100_000).optional(),
    recordRatio: z.number().gt(0.5).max(1).optional(),
    recordDecay: z.number().gt(0).max(1).optional(),
    absoluteBands: z.number().min(0).max(100).optional(),
    contextFullScore: z.number().gt(0).max(1).optional(),
    contextWitnessBands: z.number().min(0).max(100).optional(),
    contextGrade: z.number().min(0).max(0.089).optional(),
    fireLevel: z.number().gt(0).max(1).optional(),
  })
  .strict();
export type DetectorSettings = z.infer<typeof detectorSettings>;

const filter = z
  .object({
    projectIds: z.array(z.string().max(128)).max(100).optional(),
    environments: z.array(z.string().max(128)).max(100).optional(),
    providers: z.array(z.string().max(128)).max(100).optional(),
    models: z.array(z.string().max(256)).max(100).optional(),
    operations: z.array(z.string().max(128)).max(100).optional(),
    statuses: z.array(z.enum(['ok', 'error'])).optional(),
    services: z.array(z.string().max(256)).max(100).optional(),
    userIds: z.array(z.string().max(256)).max(100).optional(),
    tags: z.array(z.string().max(256)).max(100).optional(),
  })
  .strict();

export const userSeriesBody = z
  .object({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/,
        'series names are letters, digits, _ . : - (max 64, not starting with a symbol)',
      ),
    metric: z.enum(USER_SERIES_METRICS),
    filter: filter.default({}),
    groupBy: z.array(z.enum(SUMMARY_DIMENSIONS)).max(3).default([]),
    interval: duration
      .default(60_000)
      .refine((ms) => ms >= 10_000 && ms <= 86_400_000, 'interval must be between 10s and 1d'),
    /** Evaluate the buckets of this long before creation too (default 0: from now on). */
    backfill: duration.default(0).refine((ms) => ms <= 7 * 86_400_000, 'backfill must be at most 7d'),
    detector: detectorSettings.default({}),
  })
  .strict();
export type UserSeriesBody = z.infer<typeof userSeriesBody>;

export interface UserSeries {
  name: string;
  metric: UserSeriesMetric;
  filter: z.infer<typeof filter>;
  groupBy: (typeof SUMMARY_DIMENSIONS)[number][];
  intervalMs: number;
  detector: DetectorSettings;
  createdAtMs: number;
  /** Start of the first bucket not evaluated yet. */
  nextBucketMs: number;
}

type UserSeriesRow = { name: string; definition: string; next_bucket_ms: number; created_at_ms: number };

function fromRow(r: UserSeriesRow): UserSeries {
  const d = JSON.parse(r.definition) as Omit<UserSeries, 'createdAtMs' | 'nextBucketMs'>;
  return { ...d, createdAtMs: r.created_at_ms, nextBucketMs: r.next_bucket_ms };
}

/** Stores a new series; false when the name is taken. */
export async function createUserSeries(
  db: SqlExecutor,
  body: UserSeriesBody,
  nowMs: number,
): Promise<UserSeries | null> {
  const intervalMs = body.interval;
  const s: UserSeries = {
    name: body.name,
    metric: body.metric,
    filter: body.filter,
    groupBy: body.groupBy,
    intervalMs,
    detector: body.detector,
    createdAtMs: nowMs,
    nextBucketMs: Math.floor((nowMs - body.backfill) / intervalMs) * intervalMs,
  };
  const { createdAtMs, nextBucketMs, ...definition } = s;
  const n = await db.exec(
    `INSERT INTO detect_user_series (name, definition, next_bucket_ms, created_at_ms)
     VALUES ($1, $2, CAST($3 AS BIGINT), CAST($4 AS BIGINT)) ON CONFLICT (name) DO NOTHING`,
    [s.name, JSON.stringify(definition), nextBucketMs, createdAtMs],
  );
  return n > 0 ? s : null;
}

export async function listUserSeries(db: SqlExecutor): Promise<UserSeries[]> {
  const rows = await db.query<UserSeriesRow>('SELECT * FROM detect_user_series ORDER BY name');
  return rows.map(fromRow);
}

/** The series-state key prefix of a user series (its groups' detector states in `detect_series`). */
export function userSeriesStateMetric(name: string): string {
  return `user:${name}`;
}

/** Deletes a series with its detector states (its anomalies stay); false when there was none. */
export async function deleteUserSeries(db: SqlExecutor, name: string): Promise<boolean> {
  const n = await db.exec('DELETE FROM detect_user_series WHERE name = $1', [name]);
  await db.exec('DELETE FROM detect_series WHERE metric = $1', [userSeriesStateMetric(name)]);
  return n > 0;
}

export async function countGroups(db: SqlExecutor, name: string): Promise<number> {
  const [row] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM detect_series WHERE metric = $1', [
    userSeriesStateMetric(name),
  ]);
  return row?.n ?? 0;
}

export function ensembleConfig(settings: DetectorSettings): Partial<EnsembleConfig> {
  const { members, ...rest } = settings;
  const out: Partial<EnsembleConfig> = { ...rest };
  if (members !== undefined) out.members = members as MemberConfig[];
  return out;
}

function value(row: SummaryRow, metric: UserSeriesMetric): number | null {
  return row[metric];
}

export interface EvaluateOptions {
  nowMs: number;
  /** A bucket is evaluated once it ended this long ago (late calls have arrived). */
  closeAfterMs: number;
  maxSeries: number;
  /** Most buckets evaluated per series per pass (a long backfill takes several passes). */
  maxBucketsPerPass: number;
}

export type Summarize = (q: SummaryQuery) => Promise<SummaryResult>;

/**
 * The buckets of one series ready now, summarised (outside any transaction), or null when none
 * is due.
 */
export async function summariseDue(
  s: UserSeries,
  summarize: Summarize,
  o: EvaluateOptions,
): Promise<{ toMs: number; rows: SummaryRow[] } | null> {
  const closedEnd = Math.floor((o.nowMs - o.closeAfterMs) / s.intervalMs) * s.intervalMs;
  const toMs = Math.min(closedEnd, s.nextBucketMs + o.maxBucketsPerPass * s.intervalMs);
  if (toMs <= s.nextBucketMs) return null;
  const result = await summarize({
    fromMs: s.nextBucketMs,
    toMs,
    filter: s.filter,
    groupBy: s.groupBy,
    intervalMs: s.intervalMs,
  });
  return { toMs, rows: result.rows };
}

type StateRow = { series_key: string; model: string; state: string; last_bucket_ms: number };

/**
 * Feeds the summarised buckets to each group's detector and stores states, anomalies and the
 * next bucket (inside the caller's transaction). Returns the anomalies stored and how many new
 * groups were refused by the series bound.
 */
export async function applyDue(
  tx: SqlExecutor,
  s: UserSeries,
  due: { toMs: number; rows: SummaryRow[] },
  o: EvaluateOptions,
): Promise<{ anomalies: Anomaly[]; refusedGroups: number }> {
  const stateMetric = userSeriesStateMetric(s.name);
  // The series may have been deleted or evaluated by another pass meanwhile.
  const moved = await tx.exec(
    `UPDATE detect_user_series SET next_bucket_ms = CAST($1 AS BIGINT)
     WHERE name = $2 AND next_bucket_ms = CAST($3 AS BIGINT)`,
    [due.toMs, s.name, s.nextBucketMs],
  );
  if (moved === 0) return { anomalies: [], refusedGroups: 0 };

  const groups = new Map<string, { group: Record<string, string>; byBucket: Map<number, SummaryRow> }>();
  for (const row of due.rows) {
    const group: Record<string, string> = {};
    for (const d of s.groupBy) group[d] = row.group[d] ?? '';
    const key = JSON.stringify(s.groupBy.map((d) => group[d]));
    let g = groups.get(key);
    if (g === undefined) {
      g = { group, byBucket: new Map() };
      groups.set(key, g);
    }
    g.byBucket.set(row.bucketStartMs, row);
  }
  // Groups tracked already but silent in this range still get their zeros (sums).
  const existing = await tx.query<StateRow>(
    'SELECT series_key, model, state, last_bucket_ms FROM detect_series WHERE metric = $1',
    [stateMetric],
  );
  const states = new Map(existing.map((r) => [r.model, r]));
  for (const r of existing) {
    if (!groups.has(r.model)) {
      const values = JSON.parse(r.model) as string[];
      groups.set(r.model, {
        group: Object.fromEntries(s.groupBy.map((d, i) => [d, values[i] ?? ''])),
        byBucket: new Map(),
      });
    }
  }
  let tracked = (await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM detect_series'))[0]?.n ?? 0;
  const anomalies: Anomaly[] = [];
  let refusedGroups = 0;
  const config = ensembleConfig(s.detector);
  const alertLevel = s.detector.alertLevel ?? ENSEMBLE_DEFAULTS.alertLevel;
  for (const [key, g] of groups) {
    const prior = states.get(key);
    if (prior === undefined && tracked >= o.maxSeries) {
      refusedGroups++;
      continue;
    }
    const detector =
      prior === undefined
        ? new EnsembleDetector(config)
        : new EnsembleDetector({}, JSON.parse(prior.state) as EnsembleState);
    const projectId = g.group['project'] ?? (s.filter.projectIds?.length === 1 ? s.filter.projectIds[0]! : '');
    const model = g.group['model'] ?? (s.filter.models?.length === 1 ? s.filter.models[0]! : '');
    let last = prior?.last_bucket_ms ?? Number.NaN;
    let fed = false;
    for (let t = s.nextBucketMs; t < due.toMs; t += s.intervalMs) {
      const row = g.byBucket.get(t);
      let v: number | null = row === undefined ? null : value(row, s.metric);
      if (v === null && ADDITIVE.has(s.metric) && (prior !== undefined || fed)) v = 0;
      if (v === null) continue;
      fed = true;
      last = t;
      const score = detector.update(t, v);
      if (score >= alertLevel) {
        const a = anomalyOf(
          detector,
          { series: s.name, projectId, model, metric: s.metric, group: g.group },
          t,
          o.nowMs,
        );
        if (await insertAnomaly(tx, a)) anomalies.push(a);
      }
    }
    if (!fed) continue;
    if (prior === undefined) tracked++;
    await tx.exec(
      `INSERT INTO detect_series (series_key, project_id, model, metric, last_bucket_ms, state, updated_at_ms)
       VALUES ($1, $2, $3, $4, CAST($5 AS BIGINT), $6, CAST($7 AS BIGINT))
       ON CONFLICT (series_key) DO UPDATE SET last_bucket_ms = excluded.last_bucket_ms, state = excluded.state,
         updated_at_ms = excluded.updated_at_ms`,
      [`${stateMetric}|${key}`, projectId, key, stateMetric, last, JSON.stringify(detector.snapshot()), o.nowMs],
    );
  }
  return { anomalies, refusedGroups };
}
