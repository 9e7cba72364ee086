/**
 * Reads the Numenta Anomaly Benchmark corpus (data files, label windows, published results) from
 * a directory laid out as NAB's repository is: `data/<category>/<file>.csv`,
 * `labels/combined_windows.json`, `results/<detector>/...`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabelledTimeline } from './scorer.js';

export interface NabSeries extends LabelledTimeline {
  /** Relative path such as `realKnownCause/nyc_taxi.csv`. */
  name: string;
  timestampsMs: Float64Array;
  values: Float64Array;
}

/** `2014-04-10 07:15:00` or `2014-04-10 07:15:00.000000`, read as UTC. */
export function parseNabTimestamp(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/.exec(text.trim());
  if (m === null) return Number.NaN;
  const ms = m[7] === undefined ? 0 : Math.round(Number(`0.${m[7]}`) * 1000);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) + ms;
}

export function nabCorpusPresent(dir: string): boolean {
  return existsSync(join(dir, 'labels', 'combined_windows.json')) && existsSync(join(dir, 'data'));
}

/** All series of the corpus, sorted by relative path. */
export function loadNabCorpus(dir: string): NabSeries[] {
  const windowsByFile = JSON.parse(readFileSync(join(dir, 'labels', 'combined_windows.json'), 'utf8')) as Record<
    string,
    [string, string][]
  >;
  const out: NabSeries[] = [];
  for (const name of Object.keys(windowsByFile).sort()) {
    const text = readFileSync(join(dir, 'data', name), 'utf8');
    const lines = text.split(/\r?\n/);
    const ts: number[] = [];
    const vs: number[] = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      const comma = line.indexOf(',');
      ts.push(parseNabTimestamp(line.slice(0, comma)));
      vs.push(Number(line.slice(comma + 1)));
    }
    out.push({
      name,
      timestampsMs: Float64Array.from(ts),
      values: Float64Array.from(vs),
      windows: (windowsByFile[name] ?? []).map(([a, b]) => [parseNabTimestamp(a), parseNabTimestamp(b)] as const),
    });
  }
  return out;
}

/** The `anomaly_score` column of a published detector's output for one series. */
export function loadPublishedScores(dir: string, detector: string, seriesName: string): Float64Array {
  const slash = seriesName.indexOf('/');
  const path = join(dir, 'results', detector, seriesName.slice(0, slash), `${detector}_${seriesName.slice(slash + 1)}`);
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const column = lines[0]!.split(',').indexOf('anomaly_score');
  const scores: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    scores.push(Number(lines[i]!.split(',')[column]));
  }
  return Float64Array.from(scores);
}

export interface PublishedFileScore {
  file: string;
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  total: number;
}

/** `results/<detector>/<detector>_<profile>_scores.csv`, without its Totals row. */
export function loadPublishedFileScores(dir: string, detector: string, profile: string): PublishedFileScore[] {
  const lines = readFileSync(join(dir, 'results', detector, `${detector}_${profile}_scores.csv`), 'utf8').split(
    /\r?\n/,
  );
  const out: PublishedFileScore[] = [];
  for (const line of lines.slice(1)) {
    const c = line.split(',');
    if (c.length < 10 || c[0] === 'Totals') continue;
    out.push({
      file: c[2]!,
      threshold: Number(c[3]),
      score: Number(c[4]),
      tp: Number(c[5]),
      tn: Number(c[6]),
      fp: Number(c[7]),
      fn: Number(c[8]),
      total: Number(c[9]),
    });
  }
  return out;
}

/** `results/final_results.json`: detector → profile → normalised score. */
export function loadPublishedFinalScores(dir: string): Record<string, Record<string, number>> {
  return JSON.parse(readFileSync(join(dir, 'results', 'final_results.json'), 'utf8')) as Record<
    string,
    Record<string, number>
  >;
}

/** Lists the detectors that have published results. */
export function publishedDetectors(dir: string): string[] {
  return readdirSync(join(dir, 'results'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}
