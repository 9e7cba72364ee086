/**
 * The detect module's state contract, run on DuckDB (`state.test.ts`) and PostgreSQL
 * (`state.cluster.test.ts`) by `describeStateSql`: the key-series processor's passes, per-series
 * detector state across a restart (a new processor continuing from the database alone), the
 * series bound, series named by API, and the recent anomalies behind the `anomaly` signal source.
 */
import type { LlmCall, SummaryRow } from '@reskpoints/core';
import { expect, it } from 'vitest';
import type { SqlDatabase } from '../platform/sql.js';
import { makeLlmCall } from '../store/contract/fixtures.js';
import { anomalySignal, listAnomalies } from './anomaly-repo.js';
import { KeySeriesProcessor } from './key-series-processor.js';
import { type DetectConfig, detectConfig, detectModule } from './module.js';
import { gaussian, seededRandom } from './synthetic.js';
import { applyDue, createUserSeries, deleteUserSeries, listUserSeries, userSeriesBody } from './user-series.js';

/** What the state test databases are migrated with. */
export const DETECT_STATE_MODULE = { name: detectModule.name, stateMigrations: detectModule.stateMigrations ?? [] };

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 30, 8);

/** Three calls a minute for `project`, about $0.01 each; 20 times that in the `spike` minutes. */
function calls(project: string, from: number, to: number, spikes: readonly number[] = [], seed = 1): LlmCall[] {
  const noise = gaussian(seededRandom(seed + from));
  const out: LlmCall[] = [];
  for (let m = from; m < to; m++) {
    for (let k = 0; k < 3; k++) {
      const base = makeLlmCall({ id: `${project}-${m}-${k}` });
      const usd = Math.max(0.001, 0.01 + 0.002 * noise()) * (spikes.includes(m) ? 20 : 1);
      out.push({
        ...base,
        projectId: project,
        model: 'gpt-4o',
        startTimeMs: T0 + m * MINUTE + k * 15_000,
        ingestedAtMs: T0 + m * MINUTE + k * 15_000 + 500,
        latencyMs: Math.round(500 + 40 * noise()),
        cost: { ...base.cost, totalUsd: usd },
      });
    }
  }
  return out;
}

const config = (over: Partial<DetectConfig> = {}): DetectConfig => ({ ...detectConfig.parse({}), ...over });

async function pass(db: SqlDatabase, p: KeySeriesProcessor, batch: readonly LlmCall[], nowMs: number) {
  await db.transaction((tx) => p.process(batch, tx, nowMs));
  return p.takePending();
}

async function stateOf(db: SqlDatabase, key: string): Promise<string | undefined> {
  return (await db.query<{ state: string }>('SELECT state FROM detect_series WHERE series_key = $1', [key]))[0]?.state;
}

export function detectStateContract(db: () => SqlDatabase): void {
  it('scores key series in passes, stores one anomaly, and processors restarted between passes continue from the database', async () => {
    // Every other pass runs on a fresh processor (a restart: all it knows comes from the
    // database); the detectors must continue as if nothing happened.
    const continuous = new KeySeriesProcessor(() => config());
    const found: string[] = [];
    for (let m = 0; m < 215; m += 5) {
      const batch = [...calls('prj_a', m, m + 5, [200], 1), ...calls('prj_b', m, m + 5, [], 2)];
      const restarted = new KeySeriesProcessor(() => config());
      const pending = await pass(db(), m % 2 === 0 ? continuous : restarted, batch, T0 + (m + 5) * MINUTE);
      found.push(...pending.map((a) => `${a.metric}|${a.projectId}|${(a.bucketStartMs - T0) / MINUTE}`));
    }
    expect(found).toEqual(['costUsd|prj_a|200']);
    const stored = await listAnomalies(db(), { limit: 10 });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      projectId: 'prj_a',
      model: 'gpt-4o',
      metric: 'costUsd',
      series: 'costUsd|prj_a|gpt-4o',
    });
    expect(stored[0]!.value).toBeGreaterThan(0.1);
    expect(stored[0]!.expected).toBeLessThan(0.03);
    expect(stored[0]!.explanation.fired.length).toBeGreaterThan(0);

    const tracked = await db().query<{ series_key: string }>(
      'SELECT series_key FROM detect_series ORDER BY series_key',
    );
    // cost, tokens, requests, error rate, latency p95 per project (no time to first token).
    expect(tracked.map((r) => r.series_key)).toEqual([
      'costUsd|prj_a|gpt-4o',
      'costUsd|prj_b|gpt-4o',
      'errorRate|prj_a|gpt-4o',
      'errorRate|prj_b|gpt-4o',
      'latencyP95Ms|prj_a|gpt-4o',
      'latencyP95Ms|prj_b|gpt-4o',
      'requests|prj_a|gpt-4o',
      'requests|prj_b|gpt-4o',
      'totalTokens|prj_a|gpt-4o',
      'totalTokens|prj_b|gpt-4o',
    ]);
    const state = JSON.parse((await stateOf(db(), 'costUsd|prj_b|gpt-4o'))!) as { count: number };
    // Buckets up to minute 213 closed (the watermark is in minute 214, a minute's grace).
    expect(state.count).toBe(213);

    // The recent anomalies are the signal source's: labelled project, model, series, metric.
    const recent = await listAnomalies(db(), { detectedSinceMs: T0 + 200 * MINUTE, limit: 10 });
    expect(recent.map(anomalySignal)).toMatchObject([
      {
        key: 'costUsd|prj_a|gpt-4o|' + (T0 + 200 * MINUTE),
        labels: { project: 'prj_a', model: 'gpt-4o', series: 'costUsd|prj_a|gpt-4o', metric: 'costUsd' },
        projectId: 'prj_a',
      },
    ]);
    expect(await listAnomalies(db(), { detectedSinceMs: T0 + 300 * MINUTE, limit: 10 })).toEqual([]);
  });

  it('a late call is counted, not scored; new series beyond the bound are refused and counted', async () => {
    const p = new KeySeriesProcessor(() => config({ maxSeries: 5 }));
    await pass(db(), p, calls('prj_a', 0, 5), T0);
    // Minute 0 closed (watermark past minute 2); a call for it now is late.
    await pass(
      db(),
      p,
      calls('prj_a', 0, 1).map((c) => ({ ...c, id: `${c.id}-late` })),
      T0,
    );
    await pass(db(), p, calls('prj_b', 0, 5), T0);
    const meta = await db().query<{ name: string; value: number }>('SELECT name, value FROM detect_meta ORDER BY name');
    const get = (n: string) => meta.find((m) => m.name === n)?.value;
    expect(get('late_calls')).toBe(3);
    expect(get('refused_calls')).toBeGreaterThan(0);
    const [{ n } = { n: -1 }] = await db().query<{ n: number }>('SELECT COUNT(*) AS n FROM detect_series');
    expect(n).toBe(5);
  });

  it('stores a series named by API, evaluates its groups once per bucket, and deletes it', async () => {
    const body = userSeriesBody.parse({
      name: 'cost-by-project',
      metric: 'costUsd',
      groupBy: ['project'],
      interval: '1m',
      backfill: '10m',
    });
    const created = await createUserSeries(db(), body, T0 + 10 * MINUTE);
    expect(created).toMatchObject({ name: 'cost-by-project', nextBucketMs: T0, intervalMs: MINUTE });
    expect(await createUserSeries(db(), body, T0)).toBeNull();

    const row = (m: number, project: string, costUsd: number): SummaryRow =>
      ({ bucketStartMs: T0 + m * MINUTE, group: { project }, costUsd, requests: 3 }) as unknown as SummaryRow;
    const options = { nowMs: T0 + 12 * MINUTE, closeAfterMs: MINUTE, maxSeries: 100, maxBucketsPerPass: 1440 };
    const rows: SummaryRow[] = [];
    for (let m = 0; m < 10; m++) rows.push(row(m, 'prj_a', 0.03), ...(m < 5 ? [row(m, 'prj_b', 0.02)] : []));
    const [series] = await listUserSeries(db());
    await db().transaction((tx) => applyDue(tx, series!, { toMs: T0 + 10 * MINUTE, rows }, options));
    // A second pass with the same starting point (another leader, a stale read) does nothing.
    const again = await db().transaction((tx) => applyDue(tx, series!, { toMs: T0 + 10 * MINUTE, rows }, options));
    expect(again.anomalies).toEqual([]);
    const states = await db().query<{ series_key: string; state: string; last_bucket_ms: number }>(
      "SELECT series_key, state, last_bucket_ms FROM detect_series WHERE metric = 'user:cost-by-project' ORDER BY series_key",
    );
    expect(states.map((s) => s.series_key)).toEqual([
      'user:cost-by-project|["prj_a"]',
      'user:cost-by-project|["prj_b"]',
    ]);
    // prj_b went quiet after minute 4: its sum series got zeros up to minute 9, once each.
    expect(states.map((s) => (JSON.parse(s.state) as { count: number }).count)).toEqual([10, 10]);
    expect((await listUserSeries(db()))[0]!.nextBucketMs).toBe(T0 + 10 * MINUTE);

    expect(await deleteUserSeries(db(), 'cost-by-project')).toBe(true);
    expect(await deleteUserSeries(db(), 'cost-by-project')).toBe(false);
    expect(await db().query("SELECT * FROM detect_series WHERE metric = 'user:cost-by-project'")).toEqual([]);
  });
}
