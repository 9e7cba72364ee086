/**
 * Detector throughput and memory.
 *
 *   npm run bench:detect [-- --points 2000000 --projects 200]
 *
 * Prints one line per figure: points per second on one core for each detector and for the
 * default ensemble (a daily-seasonal series with noise, one point per hour), the bytes of state
 * per tracked series (the JSON snapshot, and the retained heap measured over 500 live
 * ensembles), and how many series one core can track in real time at one point per series per
 * minute: by detector CPU alone, with the JSON state round trip the server does per bucket, and
 * through the key-series processor on the embedded DuckDB state database.
 */
import { parseArgs } from 'node:util';
import type { LlmCall } from '@reskpoints/core';
import { ContextDetector } from '../packages/server/src/detect/context.js';
import { CusumDetector } from '../packages/server/src/detect/cusum.js';
import { EnsembleDetector, type EnsembleState } from '../packages/server/src/detect/ensemble.js';
import { EwmaDetector } from '../packages/server/src/detect/ewma.js';
import { KeySeriesProcessor } from '../packages/server/src/detect/key-series-processor.js';
import { MadDetector } from '../packages/server/src/detect/mad.js';
import { detectConfig, detectModule } from '../packages/server/src/detect/module.js';
import { SeasonalDetector } from '../packages/server/src/detect/seasonal.js';
import { scenario } from '../packages/server/src/detect/synthetic.js';
import { migrateForTest } from '../packages/server/src/platform/testing/state-sql.js';
import { makeLlmCall } from '../packages/server/src/store/contract/fixtures.js';
import { DuckDbDatabase } from '../packages/server/src/store/duckdb/duckdb-database.js';
import { DuckDbSqlDatabase } from '../packages/server/src/store/duckdb/duckdb-sql.js';

const { values: args } = parseArgs({ options: { points: { type: 'string' }, projects: { type: 'string' } } });
const points = Number(args.points ?? 2_000_000);

const base = scenario('clean', { points: 20_000, dailyAmplitude: 5, seed: 11 });
const ts = Float64Array.from(base.timestampsMs);
const vs = Float64Array.from(base.values);
const span = ts[ts.length - 1]! - ts[0]! + 3_600_000;

function throughput(make: () => { update(t: number, v: number): number }, n: number): number {
  const d = make();
  let sink = 0;
  // Warm up the JIT, then time.
  for (let i = 0; i < 20_000; i++) sink += d.update(ts[i]!, vs[i]!);
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const k = i % ts.length;
    sink += d.update(ts[k]! + Math.floor(i / ts.length + 1) * span, vs[k]!);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (sink === -1) console.log(sink);
  return n / seconds;
}

const detectors: [string, () => { update(t: number, v: number): number }, number][] = [
  ['ewma', () => new EwmaDetector(), points],
  ['cusum', () => new CusumDetector(), points],
  ['seasonal (hour of week)', () => new SeasonalDetector({ season: 'hourOfWeek' }), points],
  ['mad (64-point window)', () => new MadDetector(), points],
  ['context', () => new ContextDetector(), Math.ceil(points / 4)],
  ['ensemble (default)', () => new EnsembleDetector(), Math.ceil(points / 4)],
];
let ensembleRate = 0;
for (const [name, make, n] of detectors) {
  const rate = throughput(make, n);
  if (name.startsWith('ensemble')) ensembleRate = rate;
  console.log(`detect throughput ${name}: ${Math.round(rate).toLocaleString('en-US')} points/s on one core`);
}

// State per series: a trained ensemble's JSON snapshot, and the live heap of many of them.
const trained = () => {
  const d = new EnsembleDetector();
  for (let i = 0; i < 5_000; i++) d.update(ts[i]!, vs[i]!);
  return d;
};
const snapshotBytes = Buffer.byteLength(JSON.stringify(trained().snapshot()));
console.log(
  `detect state per series (ensemble JSON snapshot after 5,000 points): ${snapshotBytes.toLocaleString('en-US')} bytes`,
);

const gc = (globalThis as { gc?: () => void }).gc;
if (gc !== undefined) {
  gc();
  const before = process.memoryUsage().heapUsed;
  const many = Array.from({ length: 500 }, trained);
  gc();
  const perSeries = (process.memoryUsage().heapUsed - before) / many.length;
  console.log(`detect heap per series (500 live ensembles): ${Math.round(perSeries).toLocaleString('en-US')} bytes`);
  console.log(
    `detect capacity by memory: ${Math.round(2 ** 30 / perSeries).toLocaleString('en-US')} series per GiB of heap`,
  );
} else {
  console.log('detect heap per series: run with node --expose-gc to measure (npm run bench:detect does)');
}

const perMinute = ensembleRate * 60;
console.log(
  `detect capacity at 1 point per series per minute: ${Math.round(perMinute).toLocaleString('en-US')} series per core (ensemble CPU only)`,
);

// What the server does per series and bucket: restore the ensemble from its stored JSON, score
// the point, and serialise the new snapshot (a trained ensemble's, as above).
{
  const trainedJson = JSON.stringify(trained().snapshot());
  const n = 2_000;
  let sink = 0;
  const started = process.hrtime.bigint();
  let json = trainedJson;
  for (let i = 0; i < n; i++) {
    const d = new EnsembleDetector({}, JSON.parse(json) as EnsembleState);
    sink += d.update(ts[5_000 + (i % 10_000)]!, vs[5_000 + (i % 10_000)]!);
    json = JSON.stringify(d.snapshot());
  }
  const rate = n / (Number(process.hrtime.bigint() - started) / 1e9);
  if (sink === -1) console.log(sink);
  console.log(
    `detect restore + score + snapshot (JSON, trained ensemble): ${Math.round(rate).toLocaleString('en-US')} series-points/s on one core`,
  );
  console.log(
    `detect capacity at 1 point per series per minute, with the state round trip: ${Math.round(rate * 60).toLocaleString('en-US')} series per core`,
  );
}

// The whole path on an embedded node: the key-series processor on the DuckDB state database,
// `projects` projects with one model each (5 key series each, trained snapshots stored), one
// call per project per minute; each pass closes one bucket for every series.
{
  const projects = Number(args.projects ?? 200);
  const raw = await DuckDbDatabase.open({ path: ':memory:', readers: 2 });
  const db = new DuckDbSqlDatabase(raw);
  await migrateForTest(db, [{ name: detectModule.name, stateMigrations: detectModule.stateMigrations ?? [] }]);
  const stateJson = JSON.stringify(trained().snapshot());
  const T0 = Date.UTC(2026, 10, 30);
  const MIN = 60_000;
  for (let p = 0; p < projects; p++)
    for (const metric of ['costUsd', 'totalTokens', 'requests', 'errorRate', 'latencyP95Ms'])
      await db.exec(
        `INSERT INTO detect_series (series_key, project_id, model, metric, last_bucket_ms, state, updated_at_ms)
         VALUES ($1, $2, 'gpt-4o', $3, CAST($4 AS BIGINT), $5, 0)`,
        [`${metric}|p${p}|gpt-4o`, `p${p}`, metric, T0 - MIN, stateJson],
      );
  const processor = new KeySeriesProcessor(() => detectConfig.parse({}));
  const minuteOfCalls = (m: number): LlmCall[] =>
    Array.from({ length: projects }, (_, p) => {
      const base = makeLlmCall({ id: `p${p}-${m}` });
      return {
        ...base,
        projectId: `p${p}`,
        model: 'gpt-4o',
        startTimeMs: T0 + m * MIN + 1000,
        latencyMs: 400 + (p % 7) * 10,
        cost: { ...base.cost, totalUsd: 0.01 },
      };
    });
  // Minutes 0 and 1 open buckets; from minute 2 on every pass closes one bucket per series.
  for (let m = 0; m < 2; m++) await db.transaction((tx) => processor.process(minuteOfCalls(m), tx, T0));
  const passes = 5;
  const started = performance.now();
  for (let m = 2; m < 2 + passes; m++) await db.transaction((tx) => processor.process(minuteOfCalls(m), tx, T0));
  const seconds = (performance.now() - started) / 1000;
  const updatesPerSecond = (passes * projects * 5) / seconds;
  console.log(
    `detect key-series processor on DuckDB state (${projects * 5} trained series, one bucket each per pass): ${Math.round(updatesPerSecond).toLocaleString('en-US')} series-points/s`,
  );
  console.log(
    `detect capacity of one embedded node at 1 point per series per minute: ${Math.round(updatesPerSecond * 60).toLocaleString('en-US')} series (state database writes included)`,
  );
  await raw.close();
}
