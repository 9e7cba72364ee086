/**
 * Scores the default detector ensemble on the Numenta Anomaly Benchmark (58 series, 116
 * windows) with the NAB scoring port, and prints the three profiles beside the published
 * scoreboard.
 *
 *   npm run bench:nab            (reads ../shared/bench-data/nab relative to the repo root)
 *   npx tsx bench/nab.ts --dir /path/to/NAB
 *   npm run bench:nab -- --profile   (also: where the NAB setting's standard score is won and lost,
 *                                     per category and per file, beside ARTime's and numenta's)
 *
 * Six runs, one configuration each for the whole corpus (labels are read only by the scorer):
 * the default ensemble; the same with the context member's novelty filters off
 * (`minExpected: 0, minBinCount: 0, nearBins: 0`: they keep clean synthetic noise quiet in the
 * unit tests, but cost points on NAB); and the NAB setting, which also alerts at 0.93 instead
 * of 0.99 (`alertLevel`, so the 100-point rest after an alarm starts at the level NAB's
 * threshold optimiser settles on; in the server a rest after a near-anomaly would hide the real
 * one that follows). Each
 * - causal: the detector learns each series' range from its own first points (what the server
 *   and `reskpoints detect` do);
 * - NAB protocol: the detector is also given the series' min and max, as NAB's runner gives every
 *   detector (`inputMin`/`inputMax`, taken from the whole file) and as the scoreboard's
 *   detectors used them.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_MEMBERS, EnsembleDetector, type MemberConfig } from '../packages/server/src/detect/ensemble.js';
import {
  loadNabCorpus,
  loadPublishedFileScores,
  loadPublishedFinalScores,
  nabCorpusPresent,
} from '../packages/server/src/nab/corpus.js';
import { type CorpusScore, NAB_PROFILE_NAMES, NAB_PROFILES, scoreCorpus } from '../packages/server/src/nab/scorer.js';

const { values: args } = parseArgs({ options: { dir: { type: 'string' }, profile: { type: 'boolean' } } });
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = args.dir ?? join(repoRoot, '..', 'shared', 'bench-data', 'nab');
if (!nabCorpusPresent(dir)) {
  console.error(`NAB data not found in ${dir} (pass --dir)`);
  process.exit(2);
}

const corpus = loadNabCorpus(dir);
const rows: [string, number, number, number, string][] = [];
let profiled: CorpusScore | null = null;

const FILTERS_OFF = { minExpected: 0, minBinCount: 0, nearBins: 0 };
/** The NAB setting's ensemble options (with the novelty filters off). */
const NAB_SETTING = { alertLevel: 0.93 };
for (const [label, filtersOff, extra] of [
  ['default', false, {}],
  ['novelty filters off', true, {}],
  ['NAB setting', true, NAB_SETTING],
] as const)
  for (const mode of ['causal', 'NAB protocol (min/max given)'] as const) {
    const started = performance.now();
    let points = 0;
    const runs = corpus.map((series) => {
      let members: MemberConfig[] = filtersOff
        ? DEFAULT_MEMBERS.map((m) => (m.kind === 'context' ? { ...m, config: { ...m.config, ...FILTERS_OFF } } : m))
        : DEFAULT_MEMBERS;
      if (mode !== 'causal') {
        let min = Number.POSITIVE_INFINITY;
        let max = Number.NEGATIVE_INFINITY;
        for (const v of series.values) {
          min = Math.min(min, v);
          max = Math.max(max, v);
        }
        members = members.map((m) =>
          m.kind === 'context' ? { ...m, config: { ...m.config, rangeMin: min, rangeMax: max } } : m,
        );
      }
      const detector = new EnsembleDetector({ ...extra, members });
      const scores = new Float64Array(series.values.length);
      for (let i = 0; i < scores.length; i++) scores[i] = detector.update(series.timestampsMs[i]!, series.values[i]!);
      points += scores.length;
      return { timeline: series, anomalyScores: scores };
    });
    const detectMs = performance.now() - started;
    const results = NAB_PROFILE_NAMES.map((p) => scoreCorpus(runs, p));
    if (label === 'NAB setting' && mode === 'causal') profiled = results[0]!;
    const totalMs = performance.now() - started;
    rows.push([
      `ReskPoints ${label}, ${mode}`,
      results[0]!.normalised,
      results[1]!.normalised,
      results[2]!.normalised,
      `${points} points detected in ${(detectMs / 1000).toFixed(1)} s, scored in ${((totalMs - detectMs) / 1000).toFixed(1)} s; thresholds ${results.map((r) => r.threshold.toFixed(3)).join('/')}`,
    ]);
  }

const published = loadPublishedFinalScores(dir);
const board = Object.entries(published)
  .filter(([name]) => name !== 'null')
  .map(([name, s]) => [name, s['standard'] ?? 0, s['reward_low_FP_rate'] ?? 0, s['reward_low_FN_rate'] ?? 0] as const)
  .sort((a, b) => b[1] - a[1]);

const line = (name: string, a: number, b: number, c: number, note = '') =>
  `${name.padEnd(62)} ${a.toFixed(1).padStart(8)} ${b.toFixed(1).padStart(8)} ${c.toFixed(1).padStart(8)}  ${note}`;
console.log(`${'detector'.padEnd(62)} ${'standard'.padStart(8)} ${'low FP'.padStart(8)} ${'low FN'.padStart(8)}`);
for (const r of rows) console.log(line(...r));
for (const [name, a, b, c] of board) console.log(line(`  published: ${name}`, a, b, c));

/**
 * Each file's share of the normalised standard score (its raw score over the corpus' perfect
 * minus null score, in points), ours beside the published detectors' at their own thresholds:
 * per category, then per file where ours is lowest against ARTime's.
 */
if (args.profile && profiled !== null) {
  const windows = corpus.reduce((n, s) => n + s.windows.length, 0);
  const cost = NAB_PROFILES.standard;
  const points = (raw: number) => (100 * raw) / (windows * (cost.tpWeight + cost.fnWeight));
  const theirs = ['ARTime', 'numenta'].map(
    (d) => new Map(loadPublishedFileScores(dir, d, 'standard').map((f) => [f.file, f] as const)),
  );
  const windowsOf = new Map(corpus.map((s) => [s.name, s.windows.length]));
  type Acc = { ours: number; tp: number; fp: number; art: number; num: number; windows: number; files: number };
  const byCategory = new Map<string, Acc>();
  const files = profiled.files.map((f) => {
    const art = theirs[0]!.get(f.name);
    const num = theirs[1]!.get(f.name);
    const category = f.name.split('/')[0]!;
    const acc = byCategory.get(category) ?? { ours: 0, tp: 0, fp: 0, art: 0, num: 0, windows: 0, files: 0 };
    acc.ours += f.score;
    acc.tp += f.tp;
    acc.fp += f.fp;
    acc.art += art?.score ?? 0;
    acc.num += num?.score ?? 0;
    acc.windows += windowsOf.get(f.name) ?? 0;
    acc.files++;
    byCategory.set(category, acc);
    return { f, art, num };
  });
  console.log(
    `\nprofile of ReskPoints NAB setting, causal (standard, threshold ${profiled.threshold.toFixed(3)}): points of normalised score per category (detections in windows / false alarms)`,
  );
  for (const [category, a] of byCategory)
    console.log(
      `  ${category.padEnd(24)} ${a.files} files, ${String(a.windows).padStart(3)} windows: ours ${points(a.ours).toFixed(2).padStart(6)} (${a.tp} / ${a.fp})  ARTime ${points(a.art).toFixed(2).padStart(6)}  numenta ${points(a.num).toFixed(2).padStart(6)}`,
    );
  console.log('files where ours is furthest below ARTime:');
  files
    .map((x) => ({ ...x, gap: (x.art?.score ?? 0) - x.f.score }))
    .sort((a, b) => b.gap - a.gap)
    .slice(0, 12)
    .forEach(({ f, art, num, gap }) => {
      console.log(
        `  ${f.name.padEnd(58)} ours ${points(f.score).toFixed(2).padStart(6)} (${f.tp} / ${f.fp})  ARTime ${points(
          art?.score ?? 0,
        )
          .toFixed(2)
          .padStart(6)} (${art?.tp ?? 0} / ${art?.fp ?? 0})  numenta ${points(num?.score ?? 0)
          .toFixed(2)
          .padStart(6)}  gap ${points(gap).toFixed(2)}`,
      );
    });
}
