import { type StreamingDetector, spreadFloor, zScore, zToScore } from './detector.js';

/**
 * A seasonal baseline: a level plus one offset per slot of the period (hour of day, day of week
 * or hour of week), updated as additive Holt-Winters without trend, with a residual variance per
 * slot. The score is the z-score of the point against level + offset of its slot. Slots are
 * taken in UTC shifted by `utcOffsetMinutes`.
 */
export type SeasonName = 'hourOfDay' | 'dayOfWeek' | 'hourOfWeek';

export interface SeasonalConfig {
  season: SeasonName;
  utcOffsetMinutes: number;
  /** Weight of a point in the level (default 0.05). */
  levelAlpha: number;
  /** Weight of a point in its slot's offset and residual variance (default 0.25). */
  slotAlpha: number;
  /** Times each slot must have been seen before its points are scored (default 2). */
  minSlotCycles: number;
  /** Band half-width in standard deviations (default 3). */
  bandSigmas: number;
  /** Spread floor relative to the level's magnitude (default 1e-3). */
  minStdRelative: number;
}

export const SEASONAL_DEFAULTS: SeasonalConfig = {
  season: 'hourOfDay',
  utcOffsetMinutes: 0,
  levelAlpha: 0.05,
  slotAlpha: 0.25,
  minSlotCycles: 2,
  bandSigmas: 3,
  minStdRelative: 1e-3,
};

export interface SeasonalState {
  config: SeasonalConfig;
  count: number;
  level: number;
  residualVariance: number;
  slotCounts: number[];
  slotOffsets: number[];
  slotVariances: number[];
  lastSlot: number;
  slotVisits: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** 1970-01-01 was a Thursday: shifting by 3 days makes slot 0 of a week Monday 00:00. */
const WEEK_SHIFT_MS = 3 * DAY_MS;

export function slotCount(season: SeasonName): number {
  return season === 'hourOfDay' ? 24 : season === 'dayOfWeek' ? 7 : 168;
}

export function slotOf(season: SeasonName, timestampMs: number, utcOffsetMinutes: number): number {
  const t = timestampMs + utcOffsetMinutes * 60_000;
  if (season === 'hourOfDay') return Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS);
  const inWeek = ((((t + WEEK_SHIFT_MS) % (7 * DAY_MS)) + 7 * DAY_MS) % (7 * DAY_MS)) | 0;
  return season === 'dayOfWeek' ? Math.floor(inWeek / DAY_MS) : Math.floor(inWeek / HOUR_MS);
}

export class SeasonalDetector implements StreamingDetector<SeasonalState> {
  readonly kind = 'seasonal' as const;
  expected = Number.NaN;
  lower = Number.NaN;
  upper = Number.NaN;
  private readonly config: SeasonalConfig;
  private count = 0;
  private level = 0;
  private residualVariance = 0;
  private readonly slotCounts: Float64Array;
  private readonly slotOffsets: Float64Array;
  private readonly slotVariances: Float64Array;
  private lastSlot = -1;
  private slotVisits = 0;

  constructor(config: Partial<SeasonalConfig> = {}, state?: SeasonalState) {
    this.config = { ...SEASONAL_DEFAULTS, ...config, ...state?.config };
    const n = slotCount(this.config.season);
    this.slotCounts = new Float64Array(n);
    this.slotOffsets = new Float64Array(n);
    this.slotVariances = new Float64Array(n);
    if (state !== undefined) {
      this.count = state.count;
      this.level = state.level;
      this.residualVariance = state.residualVariance;
      this.slotCounts.set(state.slotCounts);
      this.slotOffsets.set(state.slotOffsets);
      this.slotVariances.set(state.slotVariances);
      this.lastSlot = state.lastSlot;
      this.slotVisits = state.slotVisits;
    }
  }

  update(timestampMs: number, value: number): number {
    const c = this.config;
    const slot = slotOf(c.season, timestampMs, c.utcOffsetMinutes);
    const seen = this.slotCounts[slot]!;
    let score = 0;
    if (seen >= c.minSlotCycles) {
      const expected = this.level + this.slotOffsets[slot]!;
      // A quiet slot may not claim less than a quarter of the overall residual variance.
      const variance = Math.max(this.slotVariances[slot]!, 0.25 * this.residualVariance);
      const std = Math.max(Math.sqrt(variance), spreadFloor(expected, c.minStdRelative, 1e-12));
      this.expected = expected;
      this.lower = expected - c.bandSigmas * std;
      this.upper = expected + c.bandSigmas * std;
      score = zToScore(zScore(value, expected, std));
    } else {
      this.expected = this.lower = this.upper = Number.NaN;
    }
    if (!Number.isFinite(value)) return score;
    this.learn(slot, value);
    return score;
  }

  private learn(slot: number, value: number): void {
    const c = this.config;
    this.count++;
    if (this.count === 1) this.level = value;
    // A slot counts one cycle per visit (a run of points in the same slot), not per point.
    if (slot !== this.lastSlot) {
      this.slotCounts[slot]!++;
      this.lastSlot = slot;
      this.slotVisits = 0;
    }
    this.slotVisits++;
    const offset = this.slotOffsets[slot]!;
    const residual = value - this.level - offset;
    const first = this.slotCounts[slot]! <= 1;
    const a = first ? 1 / this.slotVisits : c.slotAlpha;
    if (this.count > 1) {
      this.level += c.levelAlpha * (value - offset - this.level);
    }
    const newOffset = offset + a * (value - this.level - offset);
    this.slotOffsets[slot] = newOffset;
    const r2 = residual * residual;
    this.slotVariances[slot] = first && this.slotVisits === 1 ? r2 : (1 - a) * this.slotVariances[slot]! + a * r2;
    this.residualVariance = this.count === 1 ? r2 : 0.98 * this.residualVariance + 0.02 * r2;
  }

  snapshot(): SeasonalState {
    return {
      config: { ...this.config },
      count: this.count,
      level: this.level,
      residualVariance: this.residualVariance,
      slotCounts: Array.from(this.slotCounts),
      slotOffsets: Array.from(this.slotOffsets),
      slotVariances: Array.from(this.slotVariances),
      lastSlot: this.lastSlot,
      slotVisits: this.slotVisits,
    };
  }
}
