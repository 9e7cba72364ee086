import { describe, expect, it } from 'vitest';
import { type Anomaly, anomalyMarkers, anomalyParams, snapMarkers } from './anomalies.js';

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
