import { describe, expect, it } from 'vitest';
import { ContextDetector } from './context.js';
import { CusumDetector } from './cusum.js';
import type { StreamingDetector } from './detector.js';
import { zToScore } from './detector.js';
import { EnsembleDetector } from './ensemble.js';
import { EwmaDetector } from './ewma.js';
import { MadDetector } from './mad.js';
import { SeasonalDetector } from './seasonal.js';
import { SCENARIOS, type ScenarioName, type Series, scenario } from './synthetic.js';

type AnyDetector = Pick<StreamingDetector, 'update'>;

interface Case {
  make: () => AnyDetector;
  /** A point is a detection when its score reaches this. */
  threshold: number;
  /** Scenarios it must detect, with the largest allowed delay in points after the onset. */
  detects: Partial<Record<ScenarioName, number>>;
  /** Whether the base series has a daily pattern (seasonal detectors need one to learn). */
  daily: boolean;
}

// Scores of the z-based detectors reach 0.6 at about 5.5 standard deviations.
const CASES: Record<string, Case> = {
  // An EWMA follows a trend (its variance grows with it): trends are left to the others.
  ewma: {
    make: () => new EwmaDetector(),
    threshold: 0.6,
    daily: false,
    detects: { spike: 0, levelShift: 0, varianceChange: 10 },
  },
  mad: {
    make: () => new MadDetector(),
    threshold: 0.6,
    daily: false,
    detects: { spike: 0, levelShift: 0, trendChange: 30, varianceChange: 10 },
  },
  seasonal: {
    make: () => new SeasonalDetector({ season: 'hourOfDay' }),
    threshold: 0.6,
    daily: true,
    detects: { spike: 0, levelShift: 0, trendChange: 30, seasonalBreak: 12, varianceChange: 24 },
  },
  cusum: { make: () => new CusumDetector(), threshold: 1, daily: false, detects: { levelShift: 5, trendChange: 15 } },
  context: {
    make: () => new ContextDetector(),
    threshold: 0.99,
    daily: false,
    detects: { spike: 0, levelShift: 0, trendChange: 12, varianceChange: 10 },
  },
  ensemble: {
    make: () => new EnsembleDetector(),
    threshold: 0.99,
    daily: false,
    detects: { spike: 0, levelShift: 0, trendChange: 10, varianceChange: 2 },
  },
  // On a daily pattern the ensemble, tuned for few alarms on real (heavy-tailed) series, needs a
  // deviation of about twice its recent record or a value far outside everything seen: of these
  // scenarios it flags only the spike. Its seasonal members alone catch the rest (above); this is
  // the default's known weak spot (docs/detection.md).
  'ensemble, daily pattern': {
    make: () => new EnsembleDetector(),
    threshold: 0.99,
    daily: true,
    detects: { spike: 0 },
  },
};

function run(make: () => AnyDetector, series: Series): number[] {
  const d = make();
  return series.values.map((v, i) => d.update(series.timestampsMs[i]!, v));
}

/** Warm-up points are not judged: the clean check starts once every detector has learned. */
const JUDGED_FROM = 400;

describe('streaming detectors on constructed series', () => {
  for (const [name, c] of Object.entries(CASES)) {
    describe(name, () => {
      const opts = { dailyAmplitude: c.daily ? 5 : 0 };
      it('raises no alarm on clean noise', () => {
        const scores = run(c.make, scenario('clean', opts));
        const alarms = scores.flatMap((s, i) => (i >= JUDGED_FROM && s >= c.threshold ? [i] : []));
        expect(alarms).toEqual([]);
      });
      for (const sc of SCENARIOS) {
        const delay = c.detects[sc];
        if (sc === 'clean' || delay === undefined) continue;
        it(`detects a ${sc} within ${delay} points, with no alarm before it`, () => {
          const series = scenario(sc, opts);
          const scores = run(c.make, series);
          const first = scores.findIndex((s, i) => i >= JUDGED_FROM && s >= c.threshold);
          expect(first).toBeGreaterThanOrEqual(series.onsetIndex);
          expect(first - series.onsetIndex).toBeLessThanOrEqual(delay);
        });
      }
    });
  }
});

describe('score scale', () => {
  it('maps standard deviations to [0, 1] monotonically', () => {
    expect(zToScore(0)).toBe(0);
    expect(zToScore(3)).toBeCloseTo(0.2, 1);
    expect(zToScore(6)).toBeGreaterThan(zToScore(5));
    expect(zToScore(-6)).toBe(zToScore(6));
    expect(zToScore(50)).toBe(1);
    expect(zToScore(Number.POSITIVE_INFINITY)).toBe(1);
  });
});

describe('save and restore', () => {
  const makers: Record<
    string,
    {
      make: () => StreamingDetector | EnsembleDetector;
      restore: (state: unknown) => StreamingDetector | EnsembleDetector;
    }
  > = {
    ewma: { make: () => new EwmaDetector(), restore: (s) => new EwmaDetector({}, s as never) },
    mad: { make: () => new MadDetector(), restore: (s) => new MadDetector({}, s as never) },
    seasonal: {
      make: () => new SeasonalDetector({ season: 'hourOfWeek' }),
      restore: (s) => new SeasonalDetector({}, s as never),
    },
    cusum: { make: () => new CusumDetector(), restore: (s) => new CusumDetector({}, s as never) },
    context: { make: () => new ContextDetector(), restore: (s) => new ContextDetector({}, s as never) },
    ensemble: { make: () => new EnsembleDetector(), restore: (s) => new EnsembleDetector({}, s as never) },
  };
  for (const [name, m] of Object.entries(makers)) {
    it(`${name}: a detector restored from a JSON snapshot scores exactly as the original`, () => {
      for (const sc of ['varianceChange', 'seasonalBreak'] as const) {
        const series = scenario(sc, { dailyAmplitude: 5 });
        const original = m.make();
        const cut = 1800;
        for (let i = 0; i < cut; i++) original.update(series.timestampsMs[i]!, series.values[i]!);
        const restored = m.restore(JSON.parse(JSON.stringify(original.snapshot())));
        for (let i = cut; i < series.values.length; i++) {
          const a = original.update(series.timestampsMs[i]!, series.values[i]!);
          const b = restored.update(series.timestampsMs[i]!, series.values[i]!);
          expect(b, `${sc} point ${i}`).toBe(a);
        }
        expect(JSON.stringify(restored.snapshot())).toBe(JSON.stringify(original.snapshot()));
      }
    });
  }

  it('keeps state bounded however long the series', () => {
    const d = new EnsembleDetector();
    const sizes: number[] = [];
    const series = scenario('varianceChange', { points: 20_000, onsetIndex: 10_000, dailyAmplitude: 5 });
    series.values.forEach((v, i) => {
      d.update(series.timestampsMs[i]!, v);
      if (i === 9_999 || i === 19_999) sizes.push(JSON.stringify(d.snapshot()).length);
    });
    expect(sizes[1]!).toBeLessThan(sizes[0]! * 1.5);
  });
});

describe('ensemble explanation', () => {
  it('names the expected value, band, deviation, the detectors that fired and since when', () => {
    const series = scenario('spike', {});
    const d = new EnsembleDetector();
    let explanation = d.explain();
    series.values.forEach((v, i) => {
      d.update(series.timestampsMs[i]!, v);
      if (i === series.onsetIndex) explanation = d.explain();
    });
    expect(explanation.anomaly).toBe(true);
    expect(explanation.score).toBeGreaterThanOrEqual(0.99);
    expect(Math.abs(explanation.expected! - 100)).toBeLessThan(2);
    expect(explanation.lower!).toBeLessThan(100);
    expect(explanation.upper!).toBeGreaterThan(100);
    expect(explanation.deviation!).toBeGreaterThan(20);
    expect(explanation.deviationBands!).toBeGreaterThan(1);
    expect(explanation.fired.length).toBeGreaterThan(0);
    expect(explanation.sinceMs).toBe(series.timestampsMs[series.onsetIndex]);
  });
});
