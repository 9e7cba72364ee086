import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  loadNabCorpus,
  loadPublishedFileScores,
  loadPublishedFinalScores,
  loadPublishedScores,
  nabCorpusPresent,
} from './corpus.js';
import {
  calcSweep,
  NAB_PROFILE_NAMES,
  NAB_PROFILES,
  probationaryLength,
  scaledSigmoid,
  scoreAtThreshold,
  scoreCorpus,
  scoresByThreshold,
} from './scorer.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const nabDir = join(repoRoot, '..', 'shared', 'bench-data', 'nab');
const present = nabCorpusPresent(nabDir);

describe('NAB scoring primitives', () => {
  it('scaled sigmoid matches the values NAB documents', () => {
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.98661, 5);
    expect(scaledSigmoid(3.5)).toBe(-1);
  });

  it('probation is 15% of the rows, at most 750', () => {
    expect(probationaryLength(1000)).toBe(150);
    expect(probationaryLength(4032)).toBe(604);
    expect(probationaryLength(22695)).toBe(750);
  });

  it('credits a window once, by its earliest detection, and charges false positives by distance', () => {
    const timestampsMs = Array.from({ length: 100 }, (_, i) => i * 60_000);
    // Window rows 50..59 (width 10); probation is the first 15 rows.
    const timeline = { name: 't', timestampsMs, windows: [[50 * 60_000, 59 * 60_000]] as const };
    const scores = new Array(100).fill(0);
    scores[52] = 1;
    scores[55] = 1;
    scores[20] = 1; // before any window: a full false positive
    scores[61] = 1; // just after the window: a small false positive
    scores[5] = 1; // probation: ignored
    const cost = NAB_PROFILES.standard;
    const table = scoresByThreshold(calcSweep(timeline, scores, cost));
    const row = scoreAtThreshold(table, 1)!;
    const tp = scaledSigmoid(-(59 - 52 + 1) / 10) / scaledSigmoid(-1);
    const fpNear = scaledSigmoid(2 / 9) * cost.fpWeight;
    expect(row.score).toBeCloseTo(tp - cost.fpWeight + fpNear, 12);
    expect(row).toMatchObject({ tp: 2, fp: 2 });
    // A threshold above every score detects nothing: the window is missed.
    expect(scoreAtThreshold(table, 1.05)!.score).toBe(-1);
  });
});

describe.skipIf(!present)(`NAB scorer against published results (${nabDir})`, () => {
  // Skipped only when the benchmark data folder is absent.
  const corpus = present ? loadNabCorpus(nabDir) : [];
  const gaussian = corpus.map((timeline) => ({
    timeline,
    anomalyScores: loadPublishedScores(nabDir, 'windowedGaussian', timeline.name),
  }));

  it('reads all 58 series and their 116 windows', () => {
    expect(corpus).toHaveLength(58);
    expect(corpus.reduce((n, s) => n + s.windows.length, 0)).toBe(116);
  });

  for (const profile of NAB_PROFILE_NAMES) {
    it(`reproduces windowedGaussian's per-file ${profile} scores and its normalised score`, () => {
      const published = loadPublishedFileScores(nabDir, 'windowedGaussian', profile);
      expect(published).toHaveLength(58);
      const result = scoreCorpus(gaussian, profile, published[0]!.threshold);
      const ours = new Map(result.files.map((f) => [f.name, f]));
      for (const p of published) {
        const f = ours.get(p.file)!;
        expect(f.score, p.file).toBeCloseTo(p.score, 9);
        expect({ tp: f.tp, tn: f.tn, fp: f.fp, fn: f.fn, total: f.total }, p.file).toEqual({
          tp: p.tp,
          tn: p.tn,
          fp: p.fp,
          fn: p.fn,
          total: p.total,
        });
      }
      const final = loadPublishedFinalScores(nabDir)['windowedGaussian']![profile]!;
      expect(result.normalised).toBeCloseTo(final, 8);
    });
  }

  it('gives windowedGaussian 39.65 on the standard profile with the optimised threshold', () => {
    const result = scoreCorpus(gaussian, 'standard');
    expect(result.threshold).toBe(1);
    expect(result.normalised.toFixed(2)).toBe('39.65');
  });

  it('scores the null detector 0 and a perfect detector 100 on every profile', () => {
    const nullRuns = corpus.map((timeline) => ({
      timeline,
      anomalyScores: new Float64Array(timeline.values.length).fill(0.5),
    }));
    const perfectRuns = corpus.map((timeline) => {
      const scores = new Float64Array(timeline.values.length);
      for (const [startMs] of timeline.windows) scores[timeline.timestampsMs.indexOf(startMs)] = 1;
      return { timeline, anomalyScores: scores };
    });
    for (const profile of NAB_PROFILE_NAMES) {
      expect(scoreCorpus(nullRuns, profile).normalised).toBeCloseTo(0, 9);
      expect(scoreCorpus(perfectRuns, profile).normalised).toBeCloseTo(100, 9);
    }
  });
});
