/**
 * Log-template mining benchmark (`npm run bench:logs`).
 *
 * Accuracy: mines the `Content` column of every `<System>_2k.log_structured.csv` under
 * `../shared/bench-data/loghub` with the default configuration (one configuration for every
 * system) and prints GA (logparser's evaluator, ICSE'19 labels) beside Drain's published GA,
 * and loghub-2.0's GA, FGA and PA on the corrected labels.
 *
 * Throughput: mines generated HDFS-like lines (the HDFS sample with its numbers redrawn, so
 * lines are distinct as in a real stream) on one core and prints lines/s.
 *
 *   npx tsx bench/logs.ts [--dir ../shared/bench-data/loghub] [--lines 2000000] [--detail SYSTEM]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LogMiner } from '../packages/core/src/log-miner.js';
import { groupingAccuracy, parseCsv, parsingAccuracy, readStructured } from './loghub.js';

const { values: args } = parseArgs({
  options: {
    dir: { type: 'string' },
    lines: { type: 'string' },
    detail: { type: 'string' },
  },
});
const dir = resolve(args.dir ?? join(import.meta.dirname, '..', '..', 'shared', 'bench-data', 'loghub'));
if (!existsSync(dir)) {
  console.error(`loghub data not found at ${dir} (pass --dir)`);
  process.exit(2);
}

function drainPublished(): Map<string, number> {
  const rows = parseCsv(readFileSync(join(dir, '_published', 'icse19_loghub2k_grouping_accuracy.csv'), 'utf8'));
  const header = rows[0] as string[];
  const drain = rows.find((r) => r[0] === 'Drain') as string[];
  return new Map(header.slice(1).map((h, i) => [h, Number(drain[i + 1])]));
}

const systems = readdirSync(dir)
  .filter((d) => existsSync(join(dir, d, `${d}_2k.log_structured.csv`)))
  .sort();
const drain = drainPublished();
const rows: Array<{ system: string; ga: number; drainGa: number; ga2: number; fga2: number; pa2: number }> = [];
let mineMs = 0;
let mined = 0;
for (const system of systems) {
  const icse = readStructured(join(dir, system, `${system}_2k.log_structured.csv`));
  const corrected = readStructured(join(dir, system, `${system}_2k.log_structured_corrected.csv`));
  const miner = new LogMiner();
  const t0 = performance.now();
  const ids = icse.content.map((m) => miner.add(m).patternId);
  mineMs += performance.now() - t0;
  mined += ids.length;
  // Final templates (patterns generalise as they see more lines), as a batch parser reports them.
  const finalIds = ids.map((id) => miner.resolveId(id));
  const templateOf = new Map(miner.patterns().map((p) => [p.id, p.template]));
  const templates = finalIds.map((id) => templateOf.get(id) ?? '');
  const { ga } = groupingAccuracy(icse.eventId, finalIds);
  const v2 = groupingAccuracy(corrected.template, finalIds);
  const pa2 = parsingAccuracy(corrected.template, templates);
  rows.push({ system, ga, drainGa: drain.get(system) ?? Number.NaN, ga2: v2.ga, fga2: v2.fga, pa2 });
  if (args.detail === system) {
    // Ground-truth groups that were split or merged, for looking at what went wrong.
    const byTruth = new Map<string, Set<string>>();
    icse.eventId.forEach((t, i) => {
      const s = byTruth.get(t) ?? new Set<string>();
      byTruth.set(t, s);
      s.add(finalIds[i] as string);
    });
    const byParsed = new Map<string, Set<string>>();
    finalIds.forEach((p, i) => {
      const s = byParsed.get(p) ?? new Set<string>();
      byParsed.set(p, s);
      s.add(icse.eventId[i] as string);
    });
    for (const [t, ps] of byTruth) {
      if (ps.size > 1) {
        const truthTemplate = icse.template[icse.eventId.indexOf(t)];
        console.log(`SPLIT ${t} ${truthTemplate}`);
        for (const p of ps) console.log(`    -> ${templateOf.get(p)}`);
      }
    }
    for (const [p, ts] of byParsed) {
      if (ts.size > 1) {
        console.log(`MERGED ${templateOf.get(p)}`);
        for (const t of ts) console.log(`    <- ${t} ${icse.template[icse.eventId.indexOf(t)]}`);
      }
    }
  }
}

const f = (x: number) => x.toFixed(3);
console.log('system       GA     Drain GA   GA(2.0)  FGA(2.0)  PA(2.0)');
for (const r of rows)
  console.log(`${r.system.padEnd(12)} ${f(r.ga)}  ${f(r.drainGa)}     ${f(r.ga2)}    ${f(r.fga2)}     ${f(r.pa2)}`);
const avg = (k: 'ga' | 'drainGa' | 'ga2' | 'fga2' | 'pa2') => rows.reduce((s, r) => s + r[k], 0) / rows.length;
console.log(
  `logs_ga_average=${f(avg('ga'))} drain_ga_average=${f(avg('drainGa'))} ratio=${(avg('ga') / avg('drainGa')).toFixed(3)}`,
);
console.log(`logs_loghub2_ga_average=${f(avg('ga2'))} fga_average=${f(avg('fga2'))} pa_average=${f(avg('pa2'))}`);
console.log(`logs_accuracy_corpus_lines_per_s=${Math.round(mined / (mineMs / 1000))}`);

// Throughput on HDFS-like lines: the HDFS sample with every digit run redrawn.
const hdfs = readStructured(join(dir, 'HDFS', 'HDFS_2k.log_structured.csv')).content;
const totalLines = Number(args.lines ?? 2_000_000);
let seed = 12345;
const rand = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed;
};
const generated: string[] = new Array(totalLines);
for (let i = 0; i < totalLines; i++) {
  generated[i] = (hdfs[i % hdfs.length] as string).replace(/\d+/g, (d) =>
    String(rand() % 10 ** Math.min(d.length, 9)).padStart(Math.min(d.length, 9), '1'),
  );
}
const miner = new LogMiner();
for (let i = 0; i < Math.min(20_000, totalLines); i++) miner.add(generated[i] as string); // warm-up
const t0 = performance.now();
for (let i = 0; i < totalLines; i++) miner.add(generated[i] as string);
const sec = (performance.now() - t0) / 1000;
console.log(
  `logs_miner_hdfs_like_lines_per_s=${Math.round(totalLines / sec)} lines=${totalLines} patterns=${miner.size}`,
);
