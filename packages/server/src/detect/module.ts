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
 *
 * Users name further series by API (`/api/v1/anomalies/series`: a summary query and a detector
 * configuration); the `user-series` leader job evaluates them on schedule (see user-series.ts).
 * Every anomaly stored is published on the `anomalies` live-event topic once committed, and the
 * `anomaly` signal source offers the recent ones to alert rules of kind `signal`.
 */
import { appError } from '@reskpoints/core';
import { Gauge } from 'prom-client';
import { z } from 'zod';
import { fencedTransaction } from '../platform/fencing.js';
import { defineModule } from '../platform/module.js';
import type { SqlExecutor } from '../platform/sql.js';
import { type Anomaly, anomalyDto, anomalySignal, getAnomaly, listAnomalies } from './anomaly-repo.js';
import { anomalySeries } from './anomaly-series.js';
import {
  applyDue,
  countGroups,
  createUserSeries,
  deleteUserSeries,
  listUserSeries,
  summariseDue,
  type UserSeries,
  userSeriesBody,
} from './user-series.js';

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
  userSeriesEveryMs: z
    .number()
    .int()
    .min(1000)
    .max(3_600_000)
    .default(15_000)
    .describe('How often the series named by API are evaluated (their closed buckets since the last pass), ms'),
  maxUserSeries: z
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(100)
    .describe('Most series users may name by API (each may track several groups, counted in maxSeries)'),
  signalActiveMinutes: z
    .number()
    .int()
    .min(1)
    .max(10_080)
    .default(15)
    .describe('An anomaly is an active `anomaly` signal for alert rules this long after it was detected, minutes'),
});
export type DetectConfig = z.infer<typeof detectConfig>;

const anomalyQuery = z.object({
  projectId: z.string().max(128).optional(),
  model: z.string().max(256).optional(),
  metric: z.string().max(64).optional(),
  series: z
    .string()
    .max(256)
    .optional()
    .describe('A series: `metric|project|model` of a key series, or a user series name'),
  fromMs: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Only anomalies of buckets starting at or after this, epoch ms'),
  toMs: z.coerce.number().int().min(0).optional().describe('Only anomalies of buckets starting before this, epoch ms'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const contextQuery = z.object({
  id: z.string().min(1).max(1024).describe('The anomaly id (as listed by GET /api/v1/anomalies)'),
  before: z.coerce.number().int().min(0).max(1440).default(60).describe('Buckets before the anomaly'),
  after: z.coerce.number().int().min(0).max(1440).default(15).describe('Buckets after the anomaly'),
});

const seriesParams = z.object({ name: z.string().min(1).max(64) });

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
    {
      version: 2,
      name: 'series named by API; anomalies name their series',
      steps: [
        `CREATE TABLE detect_user_series (
          name TEXT NOT NULL PRIMARY KEY,
          definition TEXT NOT NULL,
          next_bucket_ms BIGINT NOT NULL,
          created_at_ms BIGINT NOT NULL
        )`,
        'ALTER TABLE detect_anomalies ADD COLUMN series TEXT',
        'CREATE INDEX detect_anomalies_detected ON detect_anomalies (detected_at_ms)',
        'CREATE INDEX detect_series_metric ON detect_series (metric)',
      ],
    },
  ],
  async create(ctx) {
    const { KeySeriesProcessor } = await import('./key-series-processor.js');
    const processor = new KeySeriesProcessor(() => ctx.config());
    const telemetry = ctx.telemetry;

    /** After a commit: live events for screens, and a wake-up for alert rules. */
    const announce = (anomalies: readonly Anomaly[]) => {
      if (anomalies.length === 0) return;
      for (const a of anomalies) {
        ctx.events.publish({
          topic: 'anomalies',
          projectId: a.projectId === '' ? null : a.projectId,
          atMs: a.detectedAtMs,
          data: anomalyDto(a),
        });
      }
      ctx.signals.changed('anomaly');
    };

    const trackedSeries = async () =>
      (await ctx.state.query<{ n: number }>('SELECT COUNT(*) AS n FROM detect_series'))[0]?.n ?? 0;

    new Gauge({
      name: 'reskpoints_detect_tracked_series',
      help: 'Series the detectors track (key series and the groups of series named by API), from the state database',
      registers: [ctx.metrics],
      async collect() {
        this.set(await trackedSeries());
      },
    });
    new Gauge({
      name: 'reskpoints_detect_max_series',
      help: 'Bound on tracked series (detect.maxSeries); data for new series beyond it is not scored',
      registers: [ctx.metrics],
      collect() {
        this.set(ctx.config().maxSeries);
      },
    });

    const evaluateUserSeries = async (nowMs: number, fence: Parameters<typeof fencedTransaction>[1]) => {
      if (!telemetry) return;
      const c = ctx.config();
      const options = { nowMs, closeAfterMs: c.closeAfterMs, maxSeries: c.maxSeries, maxBucketsPerPass: 1440 };
      for (const s of await listUserSeries(ctx.state)) {
        const due = await summariseDue(s, (q) => telemetry.summarize(q), options);
        if (due === null) continue;
        const result = await fencedTransaction(ctx.state, fence, nowMs, async (tx) => {
          const r = await applyDue(tx, s, due, options);
          if (r.refusedGroups > 0) {
            await tx.exec(
              `INSERT INTO detect_meta (name, value) VALUES ('refused_groups', CAST($1 AS BIGINT))
               ON CONFLICT (name) DO UPDATE SET value = detect_meta.value + excluded.value`,
              [r.refusedGroups],
            );
          }
          return r;
        });
        announce(result.anomalies);
      }
    };

    const seriesDto = async (s: UserSeries) => ({
      name: s.name,
      metric: s.metric,
      filter: s.filter,
      groupBy: s.groupBy,
      intervalMs: s.intervalMs,
      detector: s.detector,
      createdAtMs: s.createdAtMs,
      nextBucketMs: s.nextBucketMs,
      trackedGroups: await countGroups(ctx.state, s.name),
    });

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
                afterCommit: () => announce(processor.takePending()),
              },
            ]
          : [],
      jobs:
        telemetry && ctx.config().enabled
          ? [
              {
                name: 'user-series',
                scope: 'leader',
                everyMs: ctx.config().userSeriesEveryMs,
                async run({ nowMs, fence }) {
                  if (fence) await evaluateUserSeries(nowMs, fence);
                },
              },
            ]
          : [],
      signalSources: [
        {
          name: 'anomaly',
          description:
            'Anomalies detected in the last detect.signalActiveMinutes minutes, labelled project, model, series and metric (and a user series group); value = anomaly score in [0, 1]',
          async active(nowMs: number) {
            const since = nowMs - ctx.config().signalActiveMinutes * 60_000;
            const found = await listAnomalies(ctx.state, { detectedSinceMs: since, limit: 1000 });
            return found.map(anomalySignal);
          },
        },
      ],
      routes(api, helpers) {
        api.get(
          '/api/v1/anomalies',
          {
            schema: {
              tags: ['detection'],
              summary:
                'Anomalies found on the key series (cost, tokens, requests, error rate, latency and time-to-first-token p95 per project and model) and on the series named by API, newest first',
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
            const found = await listAnomalies(ctx.state, {
              projectId,
              metric: q.metric,
              series: q.series,
              model: q.model,
              fromMs: q.fromMs,
              toMs: q.toMs,
              limit: q.limit,
            });
            return { anomalies: found.map(anomalyDto) };
          },
        );
        api.get(
          '/api/v1/anomalies/context',
          {
            schema: {
              tags: ['detection'],
              summary:
                "One anomaly and its series around it (the buckets before and after the anomaly's, summarised from the telemetry store), for a chart; series is null when a series named by API was deleted since",
              querystring: contextQuery,
            },
          },
          async (req) => {
            const principal = await helpers.authenticate(req, 'any');
            const q = contextQuery.parse(req.query);
            const a = await getAnomaly(ctx.state, q.id);
            if (a === null || (principal.kind === 'project' && a.projectId !== principal.projectId)) {
              return helpers.fail(appError('RP_NOT_FOUND', `no anomaly with id "${q.id}"`));
            }
            if (!telemetry) return { anomaly: anomalyDto(a), series: null };
            const series = await anomalySeries(a, {
              keyBucketMs: ctx.config().bucketMs,
              userSeries: await listUserSeries(ctx.state),
              summarize: (sq) => telemetry.summarize(sq),
              before: q.before,
              after: q.after,
              nowMs: ctx.clock.nowMs(),
            });
            return { anomaly: anomalyDto(a), series };
          },
        );
        api.get(
          '/api/v1/anomalies/series',
          {
            schema: {
              tags: ['detection'],
              summary:
                'The series named by API, how many series are tracked in all (key series and user series groups), the bound, and data not scored (late calls, calls and groups beyond the bound)',
            },
          },
          async (req) => {
            await helpers.authenticate(req, 'admin');
            const meta = await ctx.state.query<{ name: string; value: number }>('SELECT name, value FROM detect_meta');
            const get = (name: string) => meta.find((m) => m.name === name)?.value ?? 0;
            const series = await Promise.all((await listUserSeries(ctx.state)).map(seriesDto));
            return {
              series,
              trackedSeries: await trackedSeries(),
              maxSeries: ctx.config().maxSeries,
              lateCalls: get('late_calls'),
              refusedCalls: get('refused_calls'),
              refusedGroups: get('refused_groups'),
              watermarkMs: get('watermark_ms') || null,
            };
          },
        );
        api.post(
          '/api/v1/anomalies/series',
          {
            schema: {
              tags: ['detection'],
              summary:
                'Names a series to watch: a summary query (metric, filter, groupBy, interval) and a detector configuration; one detector per group value',
              body: userSeriesBody,
            },
          },
          async (req, reply) => {
            await helpers.authenticate(req, 'admin');
            const body = userSeriesBody.parse(req.body);
            const [{ n } = { n: 0 }] = await ctx.state.query<{ n: number }>(
              'SELECT COUNT(*) AS n FROM detect_user_series',
            );
            if (n >= ctx.config().maxUserSeries) {
              helpers.fail(
                appError(
                  'RP_CONFLICT',
                  `at most ${ctx.config().maxUserSeries} series may be named (detect.maxUserSeries)`,
                ),
              );
            }
            const created = await createUserSeries(ctx.state, body, ctx.clock.nowMs());
            if (created === null)
              return helpers.fail(appError('RP_CONFLICT', `a series named "${body.name}" exists already`));
            ctx.wake('user-series');
            reply.code(201);
            return { series: await seriesDto(created) };
          },
        );
        api.get(
          '/api/v1/anomalies/series/:name',
          { schema: { tags: ['detection'], summary: 'One series named by API', params: seriesParams } },
          async (req) => {
            await helpers.authenticate(req, 'admin');
            const { name } = seriesParams.parse(req.params);
            const s = (await listUserSeries(ctx.state)).find((x) => x.name === name);
            if (s === undefined) return helpers.fail(appError('RP_NOT_FOUND', `no series named "${name}"`));
            return { series: await seriesDto(s) };
          },
        );
        api.delete(
          '/api/v1/anomalies/series/:name',
          {
            schema: {
              tags: ['detection'],
              summary: 'Stops watching a series named by API and drops its detector state (its anomalies stay)',
              params: seriesParams,
            },
          },
          async (req, reply) => {
            await helpers.authenticate(req, 'admin');
            const { name } = seriesParams.parse(req.params);
            const deleted = await ctx.state.transaction((tx) => deleteUserSeries(tx, name));
            if (!deleted) return helpers.fail(appError('RP_NOT_FOUND', `no series named "${name}"`));
            reply.code(204);
            return null;
          },
        );
      },
    };
  },
});
