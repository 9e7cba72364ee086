import { describe, expect, it } from 'vitest';
import {
  type Anomaly,
  anomalyListParams,
  anomalyMarkers,
  anomalyParams,
  anomalyTitle,
  deviationText,
  firedText,
  formatMetric,
  keepAnomaly,
  snapMarkers,
} from './anomalies.js';

const H = 3_600_000;
const a = (over: Partial<Anomaly>): Anomaly => ({
  id: `x|${over.bucketStartMs ?? 0}`,
  projectId: 'prj_a',
  model: 'gpt-4o',
  metric: 'costUsd',
  series: 'costUsd|prj_a|gpt-4o',
  bucketStartMs: 5 * H,
  value: 2,
  expected: 0.5,
  score: 0.995,
  ...over,
});

describe('anomaly markers', () => {
  const w = { fromMs: 4 * H, toMs: 8 * H };
  it('keeps the metric inside the window, oldest first, with a readable label', () => {
    const found = anomalyMarkers(
      [
        a({ id: 'late', bucketStartMs: 7 * H }),
        a({ id: 'early', bucketStartMs: 5 * H }),
        a({ id: 'other-metric', metric: 'requests' }),
        a({ id: 'before', bucketStartMs: 3 * H }),
        a({ id: 'at-end', bucketStartMs: 8 * H }),
      ],
      'costUsd',
      w,
      {},
      (v) => `$${v}`,
    );
    expect(found.map((m) => m.id)).toEqual(['early', 'late']);
    expect(found[0]).toEqual({
      atMs: 5 * H,
      id: 'early',
      metric: 'costUsd',
      label: 'prj_a / gpt-4o: $2 against $0.5 expected',
    });
    // By default values are formatted as the metric is elsewhere.
    expect(
      anomalyMarkers([a({ metric: 'latencyP95Ms', value: 2500, expected: 800 })], 'latencyP95Ms', w, {})[0]!.label,
    ).toBe('prj_a / gpt-4o: 2.50 s against 800 ms expected');
  });

  it('follows project and model filters; series not split by them stay', () => {
    const list = [
      a({ id: 'a' }),
      a({ id: 'b', projectId: 'prj_b' }),
      a({ id: 'mini', model: 'gpt-4o-mini' }),
      a({ id: 'all-projects', projectId: '', model: '', series: 'team-spend' }),
    ];
    expect(anomalyMarkers(list, 'costUsd', w, { project: ['prj_b'] }).map((m) => m.id)).toEqual(['all-projects', 'b']);
    expect(anomalyMarkers(list, 'costUsd', w, { model: ['gpt-4o-mini'] }).map((m) => m.id)).toEqual([
      'all-projects',
      'mini',
    ]);
    expect(anomalyMarkers(list, 'costUsd', w, { provider: ['openai'] })).toHaveLength(4);
    expect(anomalyMarkers(list, 'costUsd', w, {}).find((m) => m.id === 'all-projects')?.label).toMatch(/^team-spend:/);
  });

  it('asks the server for the window, and for one project when exactly one is filtered', () => {
    expect(anomalyParams(w, {}).toString()).toBe(`fromMs=${4 * H}&limit=1000`);
    expect(anomalyParams(w, { project: ['p1'] }).get('projectId')).toBe('p1');
    expect(anomalyParams(w, { project: ['p1', 'p2'] }).get('projectId')).toBeNull();
  });

  it('snaps to the chart bucket that holds the anomaly', () => {
    const [m] = snapMarkers(anomalyMarkers([a({ bucketStartMs: 5 * H + 7 * 60_000 })], 'costUsd', w, {}), 5 * 60_000);
    expect(m!.atMs).toBe(5 * H + 5 * 60_000);
  });
});

describe('anomalies page helpers', () => {
  const full = a({
    id: 'k',
    value: 0.1512,
    expected: 0.03,
    lower: 0.02,
    upper: 0.04,
    explanation: {
      deviation: 0.1212,
      deviationBands: 12.12,
      fired: [
        { detector: 'mad', score: 1 },
        { detector: 'ewma', score: 0.97 },
      ],
      sinceMs: 5 * H,
      changeStartMs: null,
    },
  });
  it('says which detectors fired and how far the value is from the expected one', () => {
    expect(firedText(full.explanation)).toBe('median/MAD 1.00, EWMA z-score 0.97');
    expect(firedText(undefined)).toBe('none');
    expect(deviationText(full)).toBe('+$0.12 (+12.1 bands)');
    expect(deviationText(a({ value: 1, expected: 3, metric: 'requests' }))).toBe('−2');
    expect(deviationText(a({ expected: null }))).toBe('—');
  });
  it('titles key series by project and model, series named by API by name and group', () => {
    expect(anomalyTitle(full)).toBe('Cost · prj_a / gpt-4o');
    expect(anomalyTitle(a({ series: 'by-project', metric: 'latencyP99Ms', group: { project: 'prj_a' } }))).toBe(
      'latencyP99Ms · by-project · project=prj_a',
    );
  });
  it('asks the server for one project and model, and filters several on the client', () => {
    const w = { fromMs: 4 * H, toMs: 8 * H };
    expect(Object.fromEntries(anomalyListParams(w, { project: ['p'], model: ['m'] }, 'costUsd', ''))).toEqual({
      fromMs: String(4 * H),
      toMs: String(8 * H),
      limit: '1000',
      projectId: 'p',
      model: 'm',
      metric: 'costUsd',
    });
    const p = anomalyListParams(w, { project: ['p', 'q'] }, '', 'my-series');
    expect(p.has('projectId')).toBe(false);
    expect(p.get('series')).toBe('my-series');
    expect(keepAnomaly(full, { project: ['x', 'prj_a'] })).toBe(true);
    expect(keepAnomaly(full, { model: ['gpt-4o-mini'] })).toBe(false);
    expect(keepAnomaly(full, {})).toBe(true);
  });
  it('formats the metrics of series named by API by their unit', () => {
    expect(formatMetric('latencyP99Ms', 1500)).toBe(formatMetric('latencyP95Ms', 1500));
    expect(formatMetric('inputTokens', 1234)).toBe(formatMetric('totalTokens', 1234));
  });
});
