import { describe, expect, it } from 'vitest';
import {
  apiParams,
  DEFAULT_RANGE,
  parseRelative,
  pickInterval,
  previousPeriod,
  readFilters,
  readRange,
  resolveRange,
  rollingAverage,
  toCsv,
  writeFilters,
  writeRange,
} from './url-state.js';

describe('time range in the URL', () => {
  it('reads relative ranges and falls back to the default on nonsense', () => {
    expect(readRange(new URLSearchParams('range=7d'))).toEqual({ kind: 'relative', key: '7d', ms: 7 * 86_400_000 });
    expect(readRange(new URLSearchParams('range=90m'))).toEqual({ kind: 'relative', key: '90m', ms: 90 * 60_000 });
    expect(readRange(new URLSearchParams('range=banana'))).toEqual(DEFAULT_RANGE);
    expect(readRange(new URLSearchParams(''))).toEqual(DEFAULT_RANGE);
    expect(parseRelative('0h')).toBeNull();
  });
  it('absolute from/to win over a relative range and round-trip', () => {
    const p = new URLSearchParams('range=1h&from=2026-11-22T00:00:00.000Z&to=1795392000000');
    const r = readRange(p);
    expect(r).toEqual({ kind: 'absolute', fromMs: Date.parse('2026-11-22T00:00:00Z'), toMs: 1795392000000 });
    const out = new URLSearchParams('model=gpt-4o');
    writeRange(out, r);
    expect(readRange(out)).toEqual(r);
    expect(out.get('range')).toBeNull();
    expect(out.get('model')).toBe('gpt-4o');
  });
  it('a from after to is ignored', () => {
    expect(readRange(new URLSearchParams('from=2000&to=1000&range=6h')).kind).toBe('relative');
  });
  it('resolves relative ranges against now', () => {
    expect(resolveRange({ kind: 'relative', key: '1h', ms: 3_600_000 }, 10_000_000)).toEqual({
      fromMs: 6_400_000,
      toMs: 10_000_000,
    });
    expect(previousPeriod({ fromMs: 100, toMs: 160 })).toEqual({ fromMs: 40, toMs: 100 });
  });
});

describe('filters in the URL', () => {
  it('reads lists, repeated parameters and drops empties and duplicates', () => {
    const f = readFilters(new URLSearchParams('model=gpt-4o,claude&model=gpt-4o&user=&status=error&unknown=x'));
    expect(f).toEqual({ model: ['gpt-4o', 'claude'], status: ['error'] });
  });
  it('writes filters back, removing cleared ones, keeping other parameters', () => {
    const p = new URLSearchParams('project=a&range=7d');
    writeFilters(p, { model: ['x', 'y'] });
    expect(p.toString()).toBe('range=7d&model=x%2Cy');
  });
  it('builds API parameters with epoch-ms bounds', () => {
    const p = apiParams(
      { fromMs: 1000.4, toMs: 2000.2 },
      { project: ['p1'] },
      { groupBy: 'model', limit: 5, x: undefined },
    );
    expect(p.toString()).toBe('from=1000&to=2001&project=p1&groupBy=model&limit=5');
  });
});

describe('helpers', () => {
  it('picks an interval within the bucket budget', () => {
    expect(pickInterval(3_600_000)).toEqual({ ms: 60_000, param: '1m' });
    expect(pickInterval(24 * 3_600_000)).toEqual({ ms: 15 * 60_000, param: '15m' });
    expect(pickInterval(7 * 86_400_000)).toEqual({ ms: 3 * 3_600_000, param: '3h' });
    expect(pickInterval(90 * 86_400_000)).toEqual({ ms: 86_400_000, param: '1d' });
  });
  it('computes a trailing rolling average, skipping unknowns', () => {
    expect(rollingAverage([2, 4, null, 6], 2)).toEqual([2, 3, 4, 6]);
    expect(rollingAverage([null], 3)).toEqual([null]);
  });
  it('writes RFC 4180 CSV', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x,y', 1],
          ['q"r', null],
        ],
      ),
    ).toBe('a,b\r\n"x,y",1\r\n"q""r",\r\n');
  });
});
