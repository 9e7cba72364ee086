import { type ContextConfig, ContextDetector, type ContextState } from './context.js';
import { type CusumConfig, CusumDetector, type CusumState } from './cusum.js';
import type { DetectorKind, StreamingDetector } from './detector.js';
import { type EwmaConfig, EwmaDetector, type EwmaState } from './ewma.js';
import { type MadConfig, MadDetector, type MadState } from './mad.js';
import { type SeasonalConfig, SeasonalDetector, type SeasonalState } from './seasonal.js';

/** One member of an ensemble: a detector, its configuration and its weight in the score. */
export type MemberConfig =
  | { kind: 'ewma'; weight: number; config?: Partial<EwmaConfig> }
  | { kind: 'mad'; weight: number; config?: Partial<MadConfig> }
  | { kind: 'seasonal'; weight: number; config?: Partial<SeasonalConfig> }
  | { kind: 'cusum'; weight: number; config?: Partial<CusumConfig> }
  | { kind: 'context'; weight: number; config?: Partial<ContextConfig> };

export type MemberState =
  | { kind: 'ewma'; state: EwmaState }
  | { kind: 'mad'; state: MadState }
  | { kind: 'seasonal'; state: SeasonalState }
  | { kind: 'cusum'; state: CusumState }
  | { kind: 'context'; state: ContextState };

export function createMember(m: MemberConfig): StreamingDetector {
  switch (m.kind) {
    case 'ewma':
      return new EwmaDetector(m.config);
    case 'mad':
      return new MadDetector(m.config);
    case 'seasonal':
      return new SeasonalDetector(m.config);
    case 'cusum':
      return new CusumDetector(m.config);
    case 'context':
      return new ContextDetector(m.config);
  }
}

export function restoreMember(m: MemberState): StreamingDetector {
  switch (m.kind) {
    case 'ewma':
      return new EwmaDetector({}, m.state);
    case 'mad':
      return new MadDetector({}, m.state);
    case 'seasonal':
      return new SeasonalDetector({}, m.state);
    case 'cusum':
      return new CusumDetector({}, m.state);
    case 'context':
      return new ContextDetector({}, m.state);
  }
}

export interface EnsembleConfig {
  members: MemberConfig[];
  /**
   * A statistical member (not `context`) scores by how far its deviation breaks the record of
   * its recent deviations: ratio = d / (d + M) with M the decayed maximum of earlier deviations
   * (so 0.5 ties the record). Its member score reaches 1 at `recordRatio` (default 0.67, about
   * twice the record).
   */
  recordRatio: number;
  /**
   * Whatever the record, a statistical member's score is full when its deviation reaches this
   * many band half-widths (default 0: off). Real series are heavy-tailed: on NAB, 2 (six
   * standard deviations) costs over 30 points of score in false alarms.
   */
  absoluteBands: number;
  /** Per-point decay of the deviation record (default 0.999: a half-life of about 700 points). */
  recordDecay: number;
  /** A context score at or above this counts as a full member score (default 0.85)... */
  contextFullScore: number;
  /**
   * ...but one below 0.99 (a new pattern rather than a new value) only when every statistical
   * member with a baseline sees the point at least this many band half-widths from it (default 1.5;
   * 0 trusts the context member alone).
   */
  contextWitnessBands: number;
  /**
   * An unwitnessed context score at or above `contextFullScore` ranks between 0.9 and 0.9 +
   * this by how far the nearest statistical member sees the point, as a share of
   * `contextWitnessBands` (default 0.089, so it stays below the alert level). A graded score lets
   * a threshold tell the nearly witnessed new patterns from the rest; 0 gives them all 0.9.
   */
  contextGrade: number;
  /** A member "fired" when its member score reaches this (default 0.95). */
  fireLevel: number;
  /** An ensemble score at or above this is an anomaly (default 0.99). */
  alertLevel: number;
  /** After an anomaly, scores of the next points are halved (default 100 points). */
  restPoints: number;
}

export const DEFAULT_MEMBERS: MemberConfig[] = [
  { kind: 'context', weight: 1 },
  { kind: 'ewma', weight: 1 },
  { kind: 'seasonal', weight: 0.94, config: { season: 'hourOfWeek' } },
  { kind: 'seasonal', weight: 0.94, config: { season: 'hourOfDay' } },
  { kind: 'mad', weight: 0 },
  { kind: 'cusum', weight: 0 },
];

export const ENSEMBLE_DEFAULTS: EnsembleConfig = {
  members: DEFAULT_MEMBERS,
  recordRatio: 0.67,
  recordDecay: 0.999,
  absoluteBands: 0,
  contextFullScore: 0.85,
  contextWitnessBands: 1.5,
  contextGrade: 0.089,
  fireLevel: 0.95,
  alertLevel: 0.99,
  restPoints: 100,
};

export interface EnsembleState {
  config: EnsembleConfig;
  members: MemberState[];
  records: number[];
  recordCounts: number[];
  count: number;
  restUntil: number;
  episodeStartMs: number;
  lastFiredIndex: number;
}

/** Why a point scored as it did. */
export interface Explanation {
  timestampMs: number;
  value: number;
  /** Ensemble score in [0, 1]. */
  score: number;
  anomaly: boolean;
  /** Baseline the point was judged against (null while no member has one yet). */
  expected: number | null;
  lower: number | null;
  upper: number | null;
  /** value − expected, and the same in band half-widths (1 = at the band's edge). */
  deviation: number | null;
  deviationBands: number | null;
  /** Members whose score reached the fire level, strongest first. */
  fired: { detector: DetectorKind; score: number }[];
  /** Start of the current run of firing points (null when nothing fires). */
  sinceMs: number | null;
  /** Estimated start of the last level change (CUSUM), when there was one. */
  changeStartMs: number | null;
}

/** Which member's baseline explains a point, in order of preference. */
const BASELINE_PREFERENCE: DetectorKind[] = ['seasonal', 'mad', 'ewma', 'cusum', 'context'];

/**
 * Combines several detectors into one score in [0, 1] with an explanation. Each member's score
 * is brought to a common scale (1 = this member alone would call it an anomaly); the ensemble
 * score is the largest weighted member score, halved for `restPoints` after an anomaly so that
 * one event is reported once.
 */
export class EnsembleDetector {
  readonly config: EnsembleConfig;
  private readonly members: StreamingDetector[];
  private readonly weights: Float64Array;
  private readonly memberScores: Float64Array;
  private readonly records: Float64Array;
  private readonly recordCounts: Float64Array;
  private readonly baselineOrder: number[];
  private count = 0;
  private restUntil = -1;
  private episodeStartMs = Number.NaN;
  private lastFiredIndex = Number.NEGATIVE_INFINITY;
  private lastTimestampMs = Number.NaN;
  private lastValue = Number.NaN;
  private lastScore = 0;

  constructor(config: Partial<EnsembleConfig> = {}, state?: EnsembleState) {
    this.config = { ...ENSEMBLE_DEFAULTS, ...config, ...state?.config };
    const members = this.config.members;
    this.members = state !== undefined ? state.members.map(restoreMember) : members.map(createMember);
    this.weights = Float64Array.from(members.map((m) => m.weight));
    this.memberScores = new Float64Array(members.length);
    this.records = new Float64Array(members.length);
    this.recordCounts = new Float64Array(members.length);
    this.baselineOrder = BASELINE_PREFERENCE.flatMap((kind) => members.flatMap((m, i) => (m.kind === kind ? [i] : [])));
    if (state !== undefined) {
      this.records.set(state.records);
      this.recordCounts.set(state.recordCounts);
      this.count = state.count;
      this.restUntil = state.restUntil;
      this.episodeStartMs = state.episodeStartMs ?? Number.NaN;
      this.lastFiredIndex = state.lastFiredIndex ?? Number.NEGATIVE_INFINITY;
    }
  }

  /** Scores one point (then learns from it). */
  update(timestampMs: number, value: number): number {
    const c = this.config;
    let score = 0;
    // The narrowest deviation, in band half-widths, among the members that have a baseline.
    let narrowest = Number.POSITIVE_INFINITY;
    let contextIndex = -1;
    let contextRaw = 0;
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i]!;
      const raw = m.update(timestampMs, value);
      let s: number;
      if (m.kind === 'context') {
        contextIndex = i;
        contextRaw = raw;
        continue;
      }
      if (m.kind !== 'cusum') {
        const half = m.upper - m.expected;
        if (half > 0) {
          const bands = Math.abs(value - m.expected) / half;
          if (bands < narrowest) narrowest = bands;
        }
      }
      if (m.kind === 'cusum') {
        s = raw;
      } else {
        s = this.recordScore(i, m, value);
      }
      this.memberScores[i] = s;
      const w = s * this.weights[i]!;
      if (w > score) score = w;
    }
    if (contextIndex >= 0) {
      const full =
        contextRaw >= 0.99 ||
        (contextRaw >= c.contextFullScore && narrowest >= c.contextWitnessBands && Number.isFinite(narrowest));
      let s = full ? 1 : (0.9 * Math.min(contextRaw, c.contextFullScore)) / c.contextFullScore;
      if (!full && contextRaw >= c.contextFullScore && c.contextGrade > 0 && Number.isFinite(narrowest)) {
        s = 0.9 + c.contextGrade * Math.min(1, narrowest / c.contextWitnessBands);
      }
      this.memberScores[contextIndex] = s;
      const w = s * this.weights[contextIndex]!;
      if (w > score) score = w;
    }
    if (score > 1) score = 1;
    const index = this.count++;
    if (index < this.restUntil) score *= 0.5;
    else if (score >= c.alertLevel) this.restUntil = index + c.restPoints;

    if (score >= c.fireLevel) {
      if (index - this.lastFiredIndex > c.restPoints || Number.isNaN(this.episodeStartMs))
        this.episodeStartMs = timestampMs;
      this.lastFiredIndex = index;
    } else if (index - this.lastFiredIndex > c.restPoints) {
      this.episodeStartMs = Number.NaN;
    }
    this.lastTimestampMs = timestampMs;
    this.lastValue = value;
    this.lastScore = score;
    return score;
  }

  /** Deviation against the member's band, scored by how far it breaks the recent record. */
  private recordScore(i: number, m: StreamingDetector, value: number): number {
    const half = m.upper - m.expected;
    if (!(half > 0)) return 0;
    const d = Math.abs(value - m.expected) / half;
    const record = this.records[i]!;
    const seen = this.recordCounts[i]!;
    const absoluteBands = this.config.absoluteBands;
    const absolute = absoluteBands > 1 ? (d - 1) / (absoluteBands - 1) : 0;
    let s = absolute <= 0 ? 0 : Math.min(absolute, 1);
    if (seen >= 50 && record > 0) {
      const ratio = d / (d + record);
      const c = this.config;
      const r = ratio <= 0.5 ? 0 : ratio >= c.recordRatio ? 1 : (ratio - 0.5) / (c.recordRatio - 0.5);
      if (r > s) s = r;
    }
    const decayed = record * this.config.recordDecay;
    this.records[i] = Math.max(d, decayed);
    this.recordCounts[i] = seen + 1;
    return s;
  }

  /** The explanation of the last point passed to `update`. */
  explain(): Explanation {
    const c = this.config;
    let base: StreamingDetector | undefined;
    for (const i of this.baselineOrder) {
      const m = this.members[i]!;
      if (!Number.isNaN(m.expected)) {
        base = m;
        break;
      }
    }
    const fired: Explanation['fired'] = [];
    this.members.forEach((m, i) => {
      const s = this.memberScores[i]!;
      if (s >= c.fireLevel && this.weights[i]! > 0) fired.push({ detector: m.kind, score: s });
      else if (m.kind === 'cusum' && s >= c.fireLevel) fired.push({ detector: m.kind, score: s });
    });
    fired.sort((a, b) => b.score - a.score);
    const cusum = this.members.find((m) => m.kind === 'cusum') as { changeStartMs?: number } | undefined;
    const expected = base?.expected ?? Number.NaN;
    const half = base !== undefined ? base.upper - base.expected : Number.NaN;
    const nn = (x: number): number | null => (Number.isFinite(x) ? x : null);
    return {
      timestampMs: this.lastTimestampMs,
      value: this.lastValue,
      score: this.lastScore,
      anomaly: this.lastScore >= c.alertLevel,
      expected: nn(expected),
      lower: nn(base?.lower ?? Number.NaN),
      upper: nn(base?.upper ?? Number.NaN),
      deviation: nn(this.lastValue - expected),
      deviationBands: nn(half > 0 ? (this.lastValue - expected) / half : Number.NaN),
      fired,
      sinceMs: nn(this.episodeStartMs),
      changeStartMs: nn(cusum?.changeStartMs ?? Number.NaN),
    };
  }

  snapshot(): EnsembleState {
    return {
      config: structuredClone(this.config),
      members: this.members.map((m) => ({ kind: m.kind, state: m.snapshot() }) as MemberState),
      records: Array.from(this.records),
      recordCounts: Array.from(this.recordCounts),
      count: this.count,
      restUntil: this.restUntil,
      episodeStartMs: this.episodeStartMs,
      lastFiredIndex: this.lastFiredIndex,
    };
  }
}
