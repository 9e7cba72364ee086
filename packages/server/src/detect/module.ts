/**
 * Detection as a module: a derived processor reads committed LLM calls behind its cursor,
 * aggregates them per project and model into event-time buckets (`bucketMs`, default one
 * minute), and when a bucket closes feeds each key series (cost, tokens, requests, error rate,
 * latency p95, time to first token p95) to that series' detector ensemble. Anomalies are stored
 * with score, expected value, band and explanation and served by `GET /api/v1/anomalies`.
 *
 * Everything lives in the state database and changes in the processor's transaction, together
 * with its cursor: open buckets, each series' detector snapshot, the event-time watermark and
 * the anomalies. A restart, or a new leader, continues exactly where the last pass committed.
 *
 * A bucket closes once a call at least `closeAfterMs` past its end has been committed (the
 * watermark: the latest event time seen). Calls for a bucket that has already closed are late
 * and counted, not scored. The number of tracked series is bounded by `maxSeries`; calls for new
 * series beyond it are counted as refused.
 */
import { appError } from '@reskpoints/core';
import { z } from 'zod';
import { defineModule } from '../platform/module.js';
import type { SqlExecutor, SqlValue } from '../platform/sql.js';

export const detectConfig = z.object({
  enabled: z.boolean().default(true).describe('Run the detectors on the key series of committed LLM calls'),
  bucketMs: z
    .number()
    .int()
    .min(1000)
    .max(86_400_000)
    .default(60_000)
    .describe('Width of the event-time buckets the key series are built from, ms'),
  closeAfterMs: z
    .number()
    .int()
    .min(0)
    .max(86_400_000)
    .default(60_000)
    .describe('A bucket is scored once a call this long after its end was committed, ms'),
  maxSeries: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .default(10_000)
    .describe('Most key series tracked (project × model × metric); calls for new series beyond it are not scored'),
  maxGapBuckets: z
    .number()
    .int()
    .min(0)
    .max(100_000)
    .default(1440)
    .describe('Empty buckets fed as zeros to cost, token and request series between two active ones, at most'),
});
export type DetectConfig = z.infer<typeof detectConfig>;

const anomalyQuery = z.object({
  projectId: z.string().max(128).optional(),
  metric: z.string().max(64).optional(),
  fromMs: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Only anomalies of buckets starting at or after this, epoch ms'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

type AnomalyRow = {
  id: string;
  project_id: string;
  model: string;
  metric: string;
  bucket_start_ms: number;
  value: number;
  expected: number | null;
  lower_bound: number | null;
  upper_bound: number | null;
  score: number;
  explanation: string;
  detected_at_ms: number;
};

export const detectModule = defineModule({
  name: 'detect',
  config: { schema: detectConfig },
  stateMigrations: [
    {
      version: 1,
      name: 'key series, open buckets and anomalies',
      steps: [
        `CREATE TABLE detect_series (
          series_key TEXT NOT NULL PRIMARY KEY,
          project_id TEXT NOT NULL,
          model TEXT NOT NULL,
          metric TEXT NOT NULL,
          last_bucket_ms BIGINT NOT NULL,
          state TEXT NOT NULL,
          updated_at_ms BIGINT NOT NULL
        )`,
        `CREATE TABLE detect_open_buckets (
          project_id TEXT NOT NULL,
          model TEXT NOT NULL,
          bucket_start_ms BIGINT NOT NULL,
          aggregate TEXT NOT NULL,
          PRIMARY KEY (project_id, model, bucket_start_ms)
        )`,
        `CREATE TABLE detect_anomalies (
          id TEXT NOT NULL PRIMARY KEY,
          project_id TEXT NOT NULL,
          model TEXT NOT NULL,
          metric TEXT NOT NULL,
          bucket_start_ms BIGINT NOT NULL,
          value DOUBLE PRECISION NOT NULL,
          expected DOUBLE PRECISION,
          lower_bound DOUBLE PRECISION,
          upper_bound DOUBLE PRECISION,
          score DOUBLE PRECISION NOT NULL,
          explanation TEXT NOT NULL,
          detected_at_ms BIGINT NOT NULL
        )`,
        `CREATE TABLE detect_meta (
          name TEXT NOT NULL PRIMARY KEY,
          value BIGINT NOT NULL
        )`,
      ],
    },
  ],
  async create(ctx) {
    const { KeySeriesProcessor } = await import('./key-series-processor.js');
    const processor = new KeySeriesProcessor(() => ctx.config());
    const telemetry = ctx.telemetry;
    return {
      derivedProcessors:
        telemetry && ctx.config().enabled
          ? [
              {
                name: 'key-series',
                startFrom: 'now',
                batchSize: 5000,
                pollIntervalMs: 5000,
                process: (calls, tx: SqlExecutor, { nowMs }) => processor.process(calls, tx, nowMs),
              },
            ]
          : [],
      routes(api, helpers) {
        api.get(
          '/api/v1/anomalies',
          {
            schema: {
              tags: ['detection'],
              summary:
                'Anomalies found on the key series (cost, tokens, requests, error rate, latency and time-to-first-token p95 per project and model), newest first',
              querystring: anomalyQuery,
            },
          },
          async (req) => {
            const principal = await helpers.authenticate(req, 'any');
            const q = anomalyQuery.parse(req.query);
            let projectId = q.projectId;
            if (principal.kind === 'project') {
              if (projectId !== undefined && projectId !== principal.projectId) {
                helpers.fail(appError('RP_FORBIDDEN', 'a project key reads only its own project'));
              }
              projectId = principal.projectId;
            }
            const where: string[] = [];
            const params: SqlValue[] = [];
            if (projectId !== undefined) {
              params.push(projectId);
              where.push(`project_id = $${params.length}`);
            }
            if (q.metric !== undefined) {
              params.push(q.metric);
              where.push(`metric = $${params.length}`);
            }
            if (q.fromMs !== undefined) {
              params.push(q.fromMs);
              where.push(`bucket_start_ms >= CAST($${params.length} AS BIGINT)`);
            }
            params.push(q.limit);
            const rows = await ctx.state.query<AnomalyRow>(
              `SELECT * FROM detect_anomalies ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
               ORDER BY bucket_start_ms DESC, id LIMIT CAST($${params.length} AS BIGINT)`,
              params,
            );
            return {
              anomalies: rows.map((r) => ({
                id: r.id,
                projectId: r.project_id,
                model: r.model,
                metric: r.metric,
                bucketStartMs: r.bucket_start_ms,
                value: r.value,
                expected: r.expected,
                lower: r.lower_bound,
                upper: r.upper_bound,
                score: r.score,
                explanation: JSON.parse(r.explanation) as unknown,
                detectedAtMs: r.detected_at_ms,
              })),
            };
          },
        );
        api.get(
          '/api/v1/anomalies/series',
          {
            schema: {
              tags: ['detection'],
              summary: 'How many key series are tracked, the bound, and calls not scored (late, or beyond the bound)',
            },
          },
          async (req) => {
            await helpers.authenticate(req, 'admin');
            const [row] = await ctx.state.query<{ n: number }>('SELECT COUNT(*) AS n FROM detect_series');
            const meta = await ctx.state.query<{ name: string; value: number }>('SELECT name, value FROM detect_meta');
            const get = (name: string) => meta.find((m) => m.name === name)?.value ?? 0;
            return {
              trackedSeries: row?.n ?? 0,
              maxSeries: ctx.config().maxSeries,
              lateCalls: get('late_calls'),
              refusedCalls: get('refused_calls'),
              watermarkMs: get('watermark_ms') || null,
            };
          },
        );
      },
    };
  },
});
