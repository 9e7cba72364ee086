/**
 * The Numenta Anomaly Benchmark's scoring, ported from its published description and checked
 * against its published per-file results (see scorer.test.ts).
 *
 * - Each labelled window [L, R] (width w rows) is worth tpWeight when detected at its left edge,
 *   falling along a scaled sigmoid to 0 at its right edge; only its best (earliest) detection
 *   counts; a window with no detection costs fnWeight.
 * - A detection outside every window costs fpWeight, scaled down when it falls shortly after
 *   the previous window (within three window widths); a full fpWeight before any window.
 * - The first min(floor(15% of rows), 750) rows of each file are a probationary period and are
 *   not scored at all.
 * - One threshold per detector and profile is chosen to maximise the corpus total; the
 *   normalised score is 100 · (raw − null) / (perfect − null), where perfect = windows · tpWeight
 *   and null is the raw score of a detector that never fires (−windows · fnWeight).
 */

export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export type NabProfileName = 'standard' | 'reward_low_FP_rate' | 'reward_low_FN_rate';

/** NAB's `config/profiles.json`. */
export const NAB_PROFILES: Readonly<Record<NabProfileName, CostMatrix>> = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
};

export const NAB_PROFILE_NAMES: readonly NabProfileName[] = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'];

export const NAB_PROBATION_PERCENT = 0.15;

/** A labelled series: row timestamps (epoch ms) and its anomaly windows as [startMs, endMs]. */
export interface LabelledTimeline {
  name: string;
  timestampsMs: ArrayLike<number>;
  windows: ReadonlyArray<readonly [number, number]>;
}

/** Window id of a row in the probationary period (not scored). */
const PROBATION = -2;
/** Window id of a row outside every window. */
const OUTSIDE = -1;

/** Per-row sweep values of one file (or the concatenation of several). */
export interface SweepRows {
  anomalyScores: Float64Array;
  /** The row's score contribution if it were a detection (weighted). */
  sweepScores: Float64Array;
  /** Corpus-unique window id (>= 0), OUTSIDE (-1) or PROBATION (-2). */
  windowIds: Int32Array;
  /** Window ids are windowIdBase .. windowIdBase + windowCount - 1. */
  windowIdBase: number;
  windowCount: number;
  /** The profile's cost of a missed window (fnWeight). */
  missCost: number;
}

export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  total: number;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** NAB's scaled sigmoid: 0.9866 at the window's left edge (-1), 0 at its right edge (0). */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3.0) return -1.0;
  return 2 * sigmoid(-5 * relativePosition) - 1.0;
}

export function probationaryLength(rows: number, probationPercent = NAB_PROBATION_PERCENT): number {
  return Math.min(Math.floor(probationPercent * rows), probationPercent * 5000);
}

/**
 * Sweep values of one file. `windowIdBase` makes window ids unique across files when several
 * files' rows are concatenated for corpus-wide threshold optimisation.
 */
export function calcSweep(
  timeline: LabelledTimeline,
  anomalyScores: ArrayLike<number>,
  cost: CostMatrix,
  windowIdBase = 0,
  probationPercent = NAB_PROBATION_PERCENT,
): SweepRows {
  const ts = timeline.timestampsMs;
  const n = ts.length;
  if (anomalyScores.length !== n) {
    throw new Error(`${timeline.name}: ${anomalyScores.length} scores for ${n} rows`);
  }
  const indexOf = new Map<number, number>();
  for (let i = 0; i < n; i++) if (!indexOf.has(ts[i]!)) indexOf.set(ts[i]!, i);

  const maxTp = scaledSigmoid(-1.0);
  const probation = probationaryLength(n, probationPercent);
  const out: SweepRows = {
    anomalyScores: Float64Array.from(anomalyScores),
    sweepScores: new Float64Array(n),
    windowIds: new Int32Array(n),
    windowIdBase,
    windowCount: timeline.windows.length,
    missCost: cost.fnWeight,
  };

  let nextWindow = 0;
  let inWindow = false;
  let curEndMs = 0;
  let curId = 0;
  let curWidth = 0;
  let curRight = 0;
  let prevWidth = -1;
  let prevRight = -1;
  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    const next = timeline.windows[nextWindow];
    if (next !== undefined && t === next[0]) {
      const right = indexOf.get(next[1]);
      if (right === undefined) throw new Error(`${timeline.name}: window end ${next[1]} is not a row timestamp`);
      inWindow = true;
      curEndMs = next[1];
      curId = windowIdBase + nextWindow;
      curRight = right;
      curWidth = right - i + 1;
      nextWindow++;
    }
    let weighted: number;
    if (inWindow) {
      const position = -(curRight - i + 1) / curWidth;
      weighted = (scaledSigmoid(position) * cost.tpWeight) / maxTp;
    } else {
      const unweighted = prevRight < 0 ? -1.0 : scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
      weighted = unweighted * cost.fpWeight;
    }
    out.sweepScores[i] = weighted;
    out.windowIds[i] = i >= probation ? (inWindow ? curId : OUTSIDE) : PROBATION;
    if (inWindow && t === curEndMs) {
      prevRight = i;
      prevWidth = curWidth;
      inWindow = false;
    }
  }
  return out;
}

/** Concatenates several files' sweep rows (their window ids must already be distinct). */
export function concatSweeps(parts: readonly SweepRows[]): SweepRows {
  let n = 0;
  let maxId = 0;
  for (const p of parts) {
    n += p.anomalyScores.length;
    maxId = Math.max(maxId, p.windowIdBase + p.windowCount);
  }
  const out: SweepRows = {
    anomalyScores: new Float64Array(n),
    sweepScores: new Float64Array(n),
    windowIds: new Int32Array(n),
    windowIdBase: 0,
    windowCount: maxId,
    missCost: parts[0]?.missCost ?? 0,
  };
  let at = 0;
  for (const p of parts) {
    out.anomalyScores.set(p.anomalyScores, at);
    out.sweepScores.set(p.sweepScores, at);
    out.windowIds.set(p.windowIds, at);
    at += p.anomalyScores.length;
  }
  return out;
}

/**
 * The score at every distinct threshold, highest threshold first (the first row is 1.1: nothing
 * detected). Rows sharing an anomaly score are taken in their original order, as NAB's stable
 * sort does.
 */
export function scoresByThreshold(rows: SweepRows): ThresholdScore[] {
  const order: number[] = [];
  for (let i = 0; i < rows.windowIds.length; i++) if (rows.windowIds[i] !== PROBATION) order.push(i);
  const scores = rows.anomalyScores;
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);

  // Window parts start as misses; only windows with at least one scorable row exist.
  const windowPart = new Map<number, number>();
  let tn = 0;
  let fn = 0;
  for (const i of order) {
    const id = rows.windowIds[i]!;
    if (id === OUTSIDE) tn++;
    else {
      fn++;
      windowPart.set(id, 0);
    }
  }
  let windowsMissed = windowPart.size;
  // Sum of the best detection score of each detected window.
  let windowsDetectedScore = 0;
  const best = new Map<number, number>();
  let fpPart = 0;
  let tp = 0;
  let fp = 0;

  // Like NAB's published score files, `total` counts every row, probation included.
  const total = rows.windowIds.length;
  const result: ThresholdScore[] = [];
  const fnCost = rows.missCost;
  const current = (): number => fpPart + windowsDetectedScore - windowsMissed * fnCost;
  let threshold = 1.1;
  for (const i of order) {
    const s = scores[i]!;
    if (s !== threshold) {
      result.push({ threshold, score: current(), tp, tn, fp, fn, total });
      threshold = s;
    }
    const id = rows.windowIds[i]!;
    const sweep = rows.sweepScores[i]!;
    if (id === OUTSIDE) {
      fp++;
      tn--;
      fpPart += sweep;
    } else {
      tp++;
      fn--;
      const prev = best.get(id);
      if (prev === undefined) {
        // NAB keeps max(-fnWeight, sweep): a window is never worth less than a miss.
        const value = Math.max(-fnCost, sweep);
        best.set(id, value);
        windowsMissed--;
        windowsDetectedScore += value;
      } else if (sweep > prev) {
        best.set(id, sweep);
        windowsDetectedScore += sweep - prev;
      }
    }
  }
  result.push({ threshold, score: current(), tp, tn, fp, fn, total });
  return result;
}

/** NAB's per-file rule: the row at `threshold`, or the last row above it. */
export function scoreAtThreshold(table: readonly ThresholdScore[], threshold: number): ThresholdScore | undefined {
  let prev: ThresholdScore | undefined;
  for (const row of table) {
    if (row.threshold === threshold) return row;
    if (row.threshold < threshold) return prev;
    prev = row;
  }
  return undefined;
}

/** The threshold with the highest corpus score (the highest such threshold on ties). */
export function bestThreshold(table: readonly ThresholdScore[]): ThresholdScore {
  let best = table[0]!;
  for (const row of table) if (row.score > best.score) best = row;
  return best;
}

export function normalisedScore(raw: number, windowCount: number, cost: CostMatrix): number {
  const perfect = windowCount * cost.tpWeight;
  const nullScore = -windowCount * cost.fnWeight;
  return (100 * (raw - nullScore)) / (perfect - nullScore);
}

export interface FileScore {
  name: string;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  total: number;
}

export interface CorpusScore {
  profile: NabProfileName;
  threshold: number;
  rawScore: number;
  normalised: number;
  files: FileScore[];
}

export interface ScoredFile {
  timeline: LabelledTimeline;
  anomalyScores: ArrayLike<number>;
}

/**
 * Scores a detector's output over a corpus for one profile. With `threshold` omitted, the
 * threshold is optimised over the whole corpus first (as NAB's optimiser does).
 */
export function scoreCorpus(files: readonly ScoredFile[], profile: NabProfileName, threshold?: number): CorpusScore {
  const cost = NAB_PROFILES[profile];
  const perFile: SweepRows[] = [];
  let idBase = 0;
  let windowCount = 0;
  for (const f of files) {
    perFile.push(calcSweep(f.timeline, f.anomalyScores, cost, idBase));
    idBase += f.timeline.windows.length;
    windowCount += f.timeline.windows.length;
  }
  const chosen = threshold ?? bestThreshold(scoresByThreshold(concatSweeps(perFile))).threshold;
  const fileScores: FileScore[] = [];
  let raw = 0;
  files.forEach((f, i) => {
    const row = scoreAtThreshold(scoresByThreshold(perFile[i]!), chosen);
    if (row === undefined) throw new Error(`${f.timeline.name}: no score row for threshold ${chosen}`);
    raw += row.score;
    fileScores.push({ name: f.timeline.name, ...row });
  });
  return {
    profile,
    threshold: chosen,
    rawScore: raw,
    normalised: normalisedScore(raw, windowCount, cost),
    files: fileScores,
  };
}
