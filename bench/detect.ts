/**
 * Detector throughput and memory.
 *
 *   npm run bench:detect [-- --points 2000000]
 *
 * Prints one line per figure: points per second on one core for each detector and for the
 * default ensemble (a daily-seasonal series with noise, one point per hour), the bytes of state
 * per tracked series (the JSON snapshot, and the retained heap measured over 500 live
 * ensembles), and how many series one core can track in real time at one point per series per
 * minute.
 */
import { parseArgs } from 'node:util';
import { ContextDetector } from '../packages/server/src/detect/context.js';
import { CusumDetector } from '../packages/server/src/detect/cusum.js';
import { EnsembleDetector } from '../packages/server/src/detect/ensemble.js';
import { EwmaDetector } from '../packages/server/src/detect/ewma.js';
import { MadDetector } from '../packages/server/src/detect/mad.js';
import { SeasonalDetector } from '../packages/server/src/detect/seasonal.js';
import { scenario } from '../packages/server/src/detect/synthetic.js';

const { values: args } = parseArgs({ options: { points: { type: 'string' } } });
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
